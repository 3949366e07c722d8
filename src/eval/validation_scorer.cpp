#include "catimage/eval/validation_scorer.hpp"

#include <optional>

#include <fmt/format.h>

#include "catimage/eval/metrics.hpp"

namespace catimage {

namespace {

nlohmann::json eval_summary(const EvalResult& r) {
  const auto& bs = r.singles[r.best_single];
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"prompts", r.prompts},
          {"best_single", r.names[r.best_single]},
          {"best_single_quality", bs.quality},
          {"aiq", r.router.aiq},
          {"quality_at_best_single_cost", r.router.quality_at_best_single_cost},
          {"gain_at_best_single_cost", r.router.quality_at_best_single_cost - bs.quality},
          {"cost_to_match_best_single", opt(r.router.cost_to_match_best_single)},
          {"oracle_gap_captured", opt(r.router.oracle_gap_captured)},
          {"apgr", opt(r.router.apgr)}};
}

}  // namespace

ValidationScorer router_aiq_scorer() {
  return [](const Matrix& truth, const Matrix& predicted, const std::vector<double>& costs,
            const std::vector<std::string>& names) {
    const EvalResult r = evaluate(truth, predicted, costs, names);
    ValidationScore v;
    v.score = r.router.aiq;
    v.summary = eval_summary(r);
    v.description = fmt::format(
        "validation AIQ {:.4f}, quality at best-single cost {:+.4f} vs {}, oracle gain captured {}", r.router.aiq,
        r.router.quality_at_best_single_cost - r.singles[r.best_single].quality, r.names[r.best_single],
        r.router.oracle_gap_captured ? fmt::format("{:.1f}%", 100 * *r.router.oracle_gap_captured) : "n/a");
    return v;
  };
}

}  // namespace catimage
