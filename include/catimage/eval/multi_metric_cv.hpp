#pragma once
// Cross-validation of routing on several metrics (README, "Several metrics"): tables of the same
// prompts and images under different metrics (CLIPScore, NIMA, ...), folds (k-fold, or whole
// TF-IDF clusters held out), and per fold, for the prompt-only router and the cascade from
// FIRST, each objective's routing (router/metric_routing.hpp, exactly as route runs it) at the
// training rows' best single candidate's cost, measured on every metric: its realised mean
// minus that of the best single candidate for that metric among those the budget affords
// (chosen on the training rows). Paired differences against two references on the same folds:
// the first metric alone (what catimage did before) and CEMS' min-max "mixed" score routed
// prompt-only (the CIKM'24 baseline).
#include <cstdint>
#include <string>
#include <vector>

#include "catimage/io/json_file.hpp"
#include "catimage/io/quality_table.hpp"

namespace catimage {

struct MetricCvArm {
  std::string objective;            // as --objective takes it ("clip", "clip:1,nima:1", "mixed")
  std::vector<std::string> floors;  // as --floor takes them ("nima", "nima=5.6")
  std::string label() const;        // "clip:1,nima:1", "clip, floor nima"
};

struct MetricCvRequest {
  std::vector<std::string> metrics;  // one name per table
  std::vector<QualityTable> tables;  // the first's rows and candidates lead; the others aligned by id
  std::vector<double> costs;         // per candidate
  std::vector<MetricCvArm> arms;     // empty: default_metric_arms(metrics)
  std::string first;                 // cascade FIRST ("" : prompt-only only)
  double alpha = 10;                 // ridge penalty of both predictors
  double score_cost = 0;             // the cascade's scoring, per image
  int folds = 5;
  int clusters = 0;  // > 0: hold out each of this many TF-IDF clusters instead of k folds
  std::uint64_t seed = 0;
};

// The first metric alone, each other metric alone, every metric standardised with weight 1,
// CEMS' mixed, and the first metric with a floor on each other one.
std::vector<MetricCvArm> default_metric_arms(const std::vector<std::string>& metrics);

struct MetricCvResult {
  std::vector<std::string> metrics, routers, arms;  // routers: "prompt-only", "cascade from FIRST"
  std::vector<std::string> folds;                   // labels ("fold 1", "cluster 3")
  std::vector<std::string> best_single;             // per metric, of the first fold's training rows
  // gain[router][arm][fold][metric]; NaN where an arm could not route (e.g. a floor out of reach)
  std::vector<std::vector<std::vector<std::vector<double>>>> gain;
  std::vector<std::vector<std::vector<double>>> cost;   // [router][arm][fold]: mean cost per prompt
  std::size_t reference_first = 0, reference_cems = 0;  // arm indices (router 0 for CEMS)
};

MetricCvResult metric_cross_validate(const MetricCvRequest& req);
std::string metric_cv_markdown(const MetricCvResult& r, const std::string& title);
json metric_cv_json(const MetricCvResult& r);

}  // namespace catimage
