#pragma once
// Leave-cluster-out cross-validation of the guard (router/guard.hpp). The prompts are
// clustered (predictor/prompt_clusters.hpp); each cluster is held out whole, a predictor is
// trained on the others, and on the held-out cluster each margin tau is routed at the cost of
// the best single candidate of the training rows (the one a prompt-blind user would pick) and
// compared with always using it. Unseen kinds of prompts are what a router meets in use.
#include <cstdint>
#include <string>
#include <vector>

#include "catimage/eval/cross_validation.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/quality_table.hpp"

namespace catimage {

struct GuardCvRequest {
  CvArm arm;
  int clusters = 10;
  int repeats = 1;              // clusterings (seeds seed, seed + 1000003, ...); their clusters pooled
  std::vector<double> margins;  // taus to try, ascending, starting at 0
  CvCascade cascade;            // first non-empty: also the cascades, on the same held-out clusters
  std::uint64_t seed = 0;
  double val_fraction = 0.1;
  std::vector<double> costs;
  double min_share = 0.9;  // of clusters at or above the best single
  // A cluster counts as "at or above" when its gain >= -strict_tolerance * its standard error:
  // 0 (default) = strictly >= 0; 1 = not below by more than one standard error, i.e. no
  // loss beyond what its own sampling noise explains.
  double se_tolerance = 0.0;
};

struct GuardCvCluster {
  int repeat = 0;
  std::size_t rows = 0;
  std::string exemplar;            // the prompt nearest the cluster's centre
  std::string best_single;         // on the training rows
  double best_single_quality = 0;  // on the cluster
  std::vector<double> gain;        // per margin: routed quality - best single's, on the cluster
  std::vector<double> departed;    // per margin: share of prompts not on the best single
  std::vector<double> gain_se;     // per margin: standard error of `gain` (per-prompt differences)
  // per margin, route --objective savings: quality - the best single's, and the share of its cost saved
  std::vector<double> savings_gain, savings_saved;
  std::vector<double> cascade_gain;  // cascade, cascade + keep-best (empty without them; NaN: budget too small)
};

struct GuardCvResult {
  std::string table, arm;
  std::vector<double> margins;
  std::vector<GuardCvCluster> clusters;  // every repeat's, in order
  std::vector<std::string> cascades;     // names of the cascade arms (empty without them)
  int repeats = 1;
  std::size_t chosen = 0;  // index into margins: the smallest meeting the rule
  bool met = false;        // whether any margin met it
  double min_share = 0.9;
  double se_tolerance = 0.0;
};

// Per margin over clusters (all repeats): mean gain (weighted by rows: the whole table's average), and the
// share of clusters whose gain is >= 0.
double guard_mean_gain(const GuardCvResult& r, std::size_t margin);
// `tolerance`: in standard errors of each cluster's gain (0: strictly >= 0).
double guard_share_at_or_above(const GuardCvResult& r, std::size_t margin, double tolerance);

// Per margin, route --objective savings over the held-out clusters: mean gain in quality over
// the best single (all held-out prompts), mean share of its cost saved, share of clusters with
// a gain >= 0, the worst cluster's gain.
struct GuardSavings {
  double gain = 0, saved = 0, share_at_or_above = 0, worst = 0;
};
GuardSavings guard_savings(const GuardCvResult& r, std::size_t margin);

GuardCvResult guard_cross_validate(const QualityTable& table, const GuardCvRequest& req);

std::string guard_cv_markdown(const GuardCvResult& r, const std::string& title);
json guard_cv_json(const GuardCvResult& r);

}  // namespace catimage
