#pragma once
// The guard: routing departs from `keep` (the candidate a prompt-blind user would choose, the
// best single one) only where the predicted advantage of another candidate, at the routing's
// lambda, exceeds a margin tau. It is routing on q' = q - tau for every candidate but `keep`,
// so lambda and budgets stay exact. tau comes from leave-cluster-out cross-validation
// (eval/cluster_cv.hpp), so that on unseen kinds of prompts the router is at or above the
// best single candidate.
#include <vector>

#include "catimage/util/matrix.hpp"

namespace catimage {

// q with tau subtracted from every column but `keep`.
Matrix guarded_predictions(const Matrix& q, int keep, double tau);

struct GuardMarks {
  // Per prompt: best over allowed m != keep of (q_m - lambda c_m) minus (q_keep - lambda c_keep),
  // with the unguarded predictions; negative when keep is already the best.
  std::vector<double> margin;
  // Per prompt: kept on `keep` by the guard alone (0 < margin <= tau and the choice is keep).
  std::vector<char> fallback;
};

GuardMarks guard_marks(const Matrix& q, const std::vector<double>& costs, const std::vector<char>& allowed,
                       double lambda, int keep, double tau, const std::vector<int>& choice);

}  // namespace catimage
