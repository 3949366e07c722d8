#include "catimage/eval/learning_simulation.hpp"

#include <algorithm>
#include <cmath>

#include "catimage/util/error.hpp"

namespace catimage {

namespace {

// Column j of `names` -> column of `from` (by name).
std::vector<int> columns_of(const std::vector<std::string>& from, const std::vector<std::string>& names,
                            const std::string& what) {
  std::vector<int> c;
  for (const auto& n : names) {
    auto it = std::find(from.begin(), from.end(), n);
    if (it == from.end()) fail("{} has no candidate {}", what, n);
    c.push_back(static_cast<int>(it - from.begin()));
  }
  return c;
}

Matrix reorder(const Matrix& d, const std::vector<int>& cols) {
  Matrix out(d.rows, cols.size());
  for (std::size_t i = 0; i < d.rows; ++i)
    for (std::size_t j = 0; j < cols.size(); ++j) out(i, j) = d(i, cols[j]);
  return out;
}

}  // namespace

DifferenceRefit cascade_ridge_refit(std::shared_ptr<const CascadePredictor> initial,
                                    std::shared_ptr<const CascadeRefitter> refitter, std::vector<std::string> prompts,
                                    std::vector<double> observed, std::vector<std::string> names) {
  const auto from_initial = columns_of(initial->meta().candidates, names, "the cascade predictor");
  // config column -> the refitter's column (none: the initial predictor only, until labels come)
  const auto from_refit = refitter ? columns_of(refitter->candidates(), names, "the base table") : std::vector<int>{};
  return [=](const std::vector<RunLabel>& labels, const std::vector<std::size_t>& which) {
    std::vector<std::string> ps;
    std::vector<double> obs;
    for (std::size_t i : which) {
      ps.push_back(prompts.at(i));
      obs.push_back(observed.at(i));
    }
    if (labels.empty()) return reorder(initial->predict_differences(ps, obs), from_initial);
    if (!refitter) fail("cascade learning: labels to learn from but no refitter");
    const std::size_t m = refitter->candidates().size();
    CascadeRows extra{{}, {}, Matrix(labels.size(), m, std::nan("")), Matrix(labels.size(), m, 0.0)};
    for (std::size_t r = 0; r < labels.size(); ++r) {
      const auto& l = labels[r];
      extra.prompts.push_back(prompts.at(l.prompt));
      extra.observed.push_back(observed.at(l.prompt));
      extra.diff(r, from_refit[l.candidate]) = l.difference;
      extra.weight(r, from_refit[l.candidate]) = l.weight;
    }
    return reorder(refitter->fit(extra)->predict_differences(ps, obs), from_refit);
  };
}

LearningSimulation simulate_learning(const CascadeLearner& learner, const QualityTable& batch, int first,
                                     bool keep_best) {
  const std::size_t n = batch.rows.size();
  LearningSimulation s;
  s.total_budget = learner.total_budget();
  std::vector<std::optional<double>> second(n);
  for (std::size_t b = 0; b < learner.blocks(); ++b) {
    const auto block = learner.plan_block(b, s.decisions, second);
    for (std::size_t j = 0; j < block.size(); ++j) {
      const std::size_t i = learner.block_begin(b) + j;
      const auto& q = batch.rows[i].quality;
      const int c = block[j].candidate;
      if (c != first) second[i] = q[c];  // revealed: the escalation was generated and scored
      s.realised.push_back(c == first ? q[first] : keep_best ? std::max(q[first], q[c]) : q[c]);
      s.cost.push_back(learner.option_costs()[c]);
      s.decisions.push_back(block[j]);
    }
  }
  return s;
}

}  // namespace catimage
