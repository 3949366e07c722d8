#pragma once
// `cv --adapt K1,K2,...`: what labelling a few of a user's own prompts buys, measured where it
// matters — on kinds of prompts the base table has not seen. The table's prompts are clustered
// (spherical k-means on TF-IDF, as `cv --clusters`); each cluster in turn plays the user:
//   - the other clusters are the base table;
//   - a seeded permutation of the cluster gives nested labelled sets (its first k prompts, for
//     every k asked) and the evaluation rows (the cluster minus the first max(k) prompts: the
//     same rows for every k, so the k's are compared paired);
//   - for each k, as `catimage adapt` does: the user rows' weight is chosen by cross-validation
//     on the k labelled rows alone (eval/user_weight.hpp), separately for the prompt-only router
//     and the cascade; each is trained on base + labelled rows at its weight and routed on the
//     evaluation rows at the cost of the training rows' best single candidate; the gain over that
//     candidate is reported (mean over all evaluation rows, and the worst cluster);
//   - with a cascade, the cascade that learns as it runs (router/cascade_learning.hpp) is
//     simulated on the evaluation rows from the base alone (k = 0): it reveals only what a run
//     would generate, refits every K prompts and explores with eps; its gain over the run is
//     compared with the static cascade's (k = 0) on the same prompts, overall and per fifth of
//     the run (its curve against prompts seen).
#include <cstdint>
#include <string>
#include <vector>

#include "catimage/eval/user_weight.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/quality_table.hpp"
#include "catimage/router/cascade_learning.hpp"

namespace catimage {

struct AdaptCvRequest {
  std::vector<int> ks = {0, 50, 200};  // labelled prompts of the held-out cluster
  int clusters = 10;
  int repeats = 1;  // clusterings (seeds seed, seed + 1000003, ...), pooled
  std::uint64_t seed = 0;
  double alpha = 10;  // the prompt-only tfidf-ridge
  double margin = 0;  // its guard
  std::string first;  // the cascade's first candidate ("": no cascade arms)
  double cascade_alpha = 10;
  double score_cost = 0;
  std::vector<double> weight_grid = default_weight_grid();
  double default_weight = default_user_weight();  // kept unless the CV moves from it (user_weight.hpp)
  int weight_folds = 5;
  bool learning = true;  // with a cascade: simulate the learning cascade too
  LearningOptions learn;
  int segments = 5;  // of the learning run, for its curve
  std::vector<double> costs;
};

struct AdaptCvCell {
  int repeat = 0, cluster = 0, k = 0;
  std::size_t eval_rows = 0;
  double prompt_gain = 0, cascade_gain = 0;      // mean over the evaluation rows
  double prompt_weight = 1, cascade_weight = 1;  // the user rows' weight chosen
};

struct AdaptCvLearning {
  int repeat = 0, cluster = 0;
  std::size_t rows = 0;
  double static_gain = 0, learning_gain = 0;             // mean over the run
  std::vector<double> static_segment, learning_segment;  // per segment of the run
  std::vector<std::size_t> segment_rows;
  double explored = 0;               // share of prompts explored
  double escalated = 0;              // share escalated
  double mean_cost = 0, budget = 0;  // realised mean cost, the budget per prompt
};

struct AdaptCvResult {
  std::string table, first;
  std::vector<int> ks;
  std::vector<AdaptCvCell> cells;  // every (repeat, cluster, k)
  std::vector<AdaptCvLearning> learning;
  std::vector<std::string> exemplars;  // per (repeat, cluster), in order
  std::vector<std::size_t> cluster_rows;
  int repeats = 1, clusters = 0, skipped = 0;  // skipped: clusters too small for max(k) + 20 rows
  int weight_folds = 5;
  double default_weight = default_user_weight();
  LearningOptions learn;
};

AdaptCvResult adapt_cross_validate(const QualityTable& table, const AdaptCvRequest& req);

std::string adapt_cv_markdown(const AdaptCvResult& r, const std::string& title);
json adapt_cv_json(const AdaptCvResult& r);

}  // namespace catimage
