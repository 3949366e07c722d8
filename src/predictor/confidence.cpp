// How sure a predictor is of a prompt: Confidence (similarity to the training prompts) and
// LengthRange (the training prompts' lengths), and calibrating the former.
#include "predictor/confidence.hpp"

#include <algorithm>
#include <cmath>

#include "catimage/predictor/trainer.hpp"
#include "catimage/util/strings.hpp"
#include "predictor/training_data.hpp"

namespace catimage {

double Confidence::shrink(double sim) const {
  if (!enabled || std::isnan(sim)) return 1.0;
  if (hi <= lo) return sim >= hi ? 1.0 : 0.0;
  return std::clamp((sim - lo) / (hi - lo), 0.0, 1.0);
}

double LengthRange::shrink(int words) const {
  if (!enabled) return 1.0;
  double w = words;
  if (w < lo_one)
    return lo_one > lo_zero ? std::clamp((w - lo_zero) / (lo_one - lo_zero), 0.0, 1.0) : (w >= lo_one ? 1.0 : 0.0);
  if (w > hi_one) return hi_zero > hi_one ? std::clamp((hi_zero - w) / (hi_zero - hi_one), 0.0, 1.0) : 0.0;
  return 1.0;
}

LengthRange LengthRange::fit(const std::vector<std::string>& prompts) {
  LengthRange r;
  if (prompts.empty()) return r;
  std::vector<int> w;
  for (const auto& p : prompts) w.push_back(static_cast<int>(count_words(p)));
  std::sort(w.begin(), w.end());
  auto pct = [&](double q) { return static_cast<double>(w[static_cast<std::size_t>(q * (w.size() - 1))]); };
  // Below the 0.5th percentile nothing like the prompt was seen: full fallback.
  r.enabled = true;
  r.lo_zero = pct(0.005) - 0.5;
  r.lo_one = pct(0.02);
  r.hi_one = pct(0.98);
  r.hi_zero = pct(0.995) + 0.5;
  return r;
}

Confidence calibrate_confidence(const Predictor& p, const TrainingSet& val, double lo_pct, double hi_pct) {
  Matrix raw;
  std::vector<double> sim;
  p.predict_raw(val.prompts, raw, sim);
  std::vector<double> s;
  for (double x : sim)
    if (!std::isnan(x)) s.push_back(x);
  if (s.empty()) return {};
  std::sort(s.begin(), s.end());
  auto pct = [&](double q) { return s[static_cast<std::size_t>(q * (s.size() - 1))]; };
  return {true, pct(lo_pct), pct(hi_pct)};
}

Confidence calibrate_confidence(const Predictor& p, const TrainingSet& val, const TrainRequest& req) {
  auto pct = req.hyper.value("confidence_pct", std::vector<double>{0.01, 0.10});
  return calibrate_confidence(p, val, pct.at(0), pct.at(1));
}

}  // namespace catimage
