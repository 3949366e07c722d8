#include "catimage/eval/transfer_gain.hpp"

#include <limits>

#include "catimage/eval/validation_scorer.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/predictor/feature_space.hpp"
#include "catimage/predictor/trainer.hpp"
#include "catimage/router/cascade.hpp"
#include "catimage/router/router.hpp"
#include "catimage/router/routing_policy.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

double TransferGains::mean() const {
  double s = 0;
  for (double g : gain) s += g;
  return gain.empty() ? 0.0 : s / gain.size();
}

namespace {

int training_best_single(const QualityTable& train, const std::vector<double>& costs) {
  if (costs.size() != train.candidates.size())
    fail("{} costs for the {} candidates of {}", costs.size(), train.candidates.size(), train.source);
  return best_single(train.mean_quality(), costs);
}

std::vector<std::string> prompts_of(const QualityTable& t) {
  std::vector<std::string> p;
  for (const auto& r : t.rows) p.push_back(r.prompt);
  return p;
}

}  // namespace

TransferGains prompt_only_gains(const QualityTable& train, const QualityTable& test, double alpha,
                                const std::vector<double>& costs, double margin, std::uint64_t seed,
                                const FeatureSpace* space) {
  if (test.candidates != train.candidates)
    fail("{} and {} order their candidates differently", train.source, test.source);
  const int b = training_best_single(train, costs);
  TrainRequest tr;
  tr.kind = "tfidf-ridge";
  tr.hyper = {{"alpha", alpha}};
  tr.seed = seed;
  tr.costs = costs;
  tr.validation = router_aiq_scorer();
  QualityTable none;
  none.candidates = train.candidates;
  const auto p = space ? space->train_prompt_only(train, tr) : train_predictor(tr, train, none);
  RoutingRequest rq;
  rq.margin = margin;
  rq.reference_quality = p->meta().stats.prior;  // the training (weighted) means: b
  const RoutingOutcome out = RoutingPolicy(train.candidates, costs).route(p->predict(prompts_of(test)), rq);
  TransferGains g;
  g.best_single = train.candidates[b];
  g.choice = out.routing.choice;
  for (std::size_t i = 0; i < test.rows.size(); ++i)
    g.gain.push_back(test.rows[i].quality[g.choice[i]] - test.rows[i].quality[b]);
  return g;
}

TransferGains cascade_gains(const QualityTable& train, const QualityTable& test, const std::string& first, double alpha,
                            const std::vector<double>& costs, double score_cost, const FeatureSpace* space) {
  if (test.candidates != train.candidates)
    fail("{} and {} order their candidates differently", train.source, test.source);
  const int b = training_best_single(train, costs);
  const int f = train.index(first);
  if (f < 0) fail("{}: --cascade {}: not a candidate of the table", train.source, first);
  CascadeTrainRequest cr;
  cr.first = first;
  cr.alpha = alpha;
  cr.error_folds = 0;
  const auto cp = space ? space->train_cascade(train, cr) : train_cascade_predictor(train, cr);
  const Matrix truth = test.quality_matrix();
  std::vector<double> observed(test.rows.size());
  for (std::size_t i = 0; i < test.rows.size(); ++i) observed[i] = truth(i, f);
  const CascadeOptions co{f, score_cost, false};
  const auto option_costs = cascade_costs(costs, co);
  if (option_costs[f] > costs[b])
    fail("the cascade's first image and its scoring ({}) cost more than the best single {} ({})", option_costs[f],
         train.candidates[b], costs[b]);
  Router router(option_costs);
  router.set_predictions(cascade_predicted(observed, cp->predict_differences(prompts_of(test), observed), {}, co));
  const Routing rt = router.route_budget(costs[b]);
  const Matrix realised = cascade_realised(truth, co);
  TransferGains g;
  g.best_single = train.candidates[b];
  g.choice = rt.choice;
  for (std::size_t i = 0; i < test.rows.size(); ++i) g.gain.push_back(realised(i, rt.choice[i]) - truth(i, b));
  return g;
}

}  // namespace catimage
