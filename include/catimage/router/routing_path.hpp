#pragma once
// For one prompt, the candidate chosen by argmax_m q_m - lambda * c_m as a function of
// lambda >= 0: a piecewise-constant path along the upper envelope of the lines, from the
// best-predicted candidate at lambda = 0 to ever cheaper ones. Ties go to the cheaper
// candidate (then the lower index), so at a breakpoint the path has already switched.
#include <cstddef>
#include <vector>

namespace catimage {

struct PathStep {
  double lambda;  // chosen from this lambda (inclusive) until the next step's
  int candidate;
};

class RoutingPath {
 public:
  // allowed: empty = all allowed. At least one candidate must be allowed.
  static RoutingPath build(const double* q, const double* cost, std::size_t m, const std::vector<char>& allowed = {});
  int at(double lambda) const;
  const std::vector<PathStep>& steps() const { return steps_; }

 private:
  std::vector<PathStep> steps_;
};

}  // namespace catimage
