#include "catimage/predictor/predictor.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "catimage/io/atomic_file.hpp"
#include "catimage/predictor/registry.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/paths.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

json meta_to_json(const PredictorMeta& m) {
  json j = {{"format", "catimage-predictor/1"},
            {"kind", m.kind},
            {"candidates", m.candidates},
            {"metric", m.metric},
            {"tokenizer_checksum", m.tokenizer_checksum},
            {"target_stats",
             {{"prior", m.stats.prior},
              {"level_mean", m.stats.level_mean},
              {"level_std", m.stats.level_std},
              {"dev_std", m.stats.dev_std}}},
            {"confidence", {{"enabled", m.confidence.enabled}, {"lo", m.confidence.lo}, {"hi", m.confidence.hi}}},
            {"length_range",
             {{"enabled", m.length_range.enabled},
              {"lo_zero", m.length_range.lo_zero},
              {"lo_one", m.length_range.lo_one},
              {"hi_one", m.length_range.hi_one},
              {"hi_zero", m.length_range.hi_zero}}},
            {"model", m.model},
            {"guard", {{"margin", m.margin}}},
            {"training", m.training}};
  if (m.scale) j["metric_scale"] = metric_scale_json(*m.scale);
  return j;
}

PredictorMeta meta_from_json(const json& j, const std::string& origin) {
  PredictorMeta m;
  try {
    if (j.value("format", "") != "catimage-predictor/1") fail("{}: \"format\" is not catimage-predictor/1", origin);
    m.kind = j.at("kind").get<std::string>();
    predictor_kind(m.kind, origin);  // fails listing the kinds
    m.candidates = j.at("candidates").get<std::vector<std::string>>();
    m.metric = j.at("metric").get<std::string>();
    m.tokenizer_checksum = j.at("tokenizer_checksum").get<std::string>();
    const auto& s = j.at("target_stats");
    m.stats.prior = s.at("prior").get<std::vector<double>>();
    m.stats.level_mean = s.at("level_mean").get<double>();
    m.stats.level_std = s.at("level_std").get<double>();
    m.stats.dev_std = s.at("dev_std").get<double>();
    if (m.stats.prior.size() != m.candidates.size())
      fail("{}: target_stats.prior has {} values for {} candidates", origin, m.stats.prior.size(), m.candidates.size());
    const auto& c = j.at("confidence");
    m.confidence.enabled = c.at("enabled").get<bool>();
    m.confidence.lo = c.at("lo").get<double>();
    m.confidence.hi = c.at("hi").get<double>();
    if (j.contains("length_range")) {
      const auto& l = j.at("length_range");
      m.length_range.enabled = l.at("enabled").get<bool>();
      m.length_range.lo_zero = l.at("lo_zero").get<double>();
      m.length_range.lo_one = l.at("lo_one").get<double>();
      m.length_range.hi_one = l.at("hi_one").get<double>();
      m.length_range.hi_zero = l.at("hi_zero").get<double>();
    }
    m.model = j.value("model", json::object());
    if (j.contains("guard")) {
      m.margin = j.at("guard").at("margin").get<double>();
      if (!(m.margin >= 0) || !std::isfinite(m.margin))
        fail("{}: guard.margin must be a finite number >= 0, got {}", origin, m.margin);
    }
    m.training = j.value("training", json::object());
    if (j.contains("metric_scale")) m.scale = metric_scale_from_json(j.at("metric_scale"), origin);
  } catch (const json::exception& e) {
    fail("{}: malformed predictor metadata: {}", origin, e.what());
  }
  return m;
}

Matrix qualities_from_raw(const Matrix& raw, const TargetStats& st, const Confidence& conf,
                          const std::vector<double>& sim, const std::vector<double>& extra_shrink) {
  const std::size_t m = st.prior.size();
  double prior_mean = 0;
  for (double p : st.prior) prior_mean += p / m;
  Matrix q(raw.rows, m);
  for (std::size_t i = 0; i < raw.rows; ++i) {
    double level = st.level_mean + st.level_std * raw(i, m);
    double s = conf.shrink(sim.empty() ? NAN : sim[i]);
    if (!extra_shrink.empty()) s = std::min(s, extra_shrink[i]);
    for (std::size_t k = 0; k < m; ++k) {
      double prior_dev = st.prior[k] - prior_mean;
      double dev = st.dev_std * raw(i, k);
      q(i, k) = level + prior_dev + s * (dev - prior_dev);
    }
  }
  return q;
}

Matrix Predictor::predict(const std::vector<std::string>& prompts) const {
  Matrix raw;
  std::vector<double> sim;
  predict_raw(prompts, raw, sim);
  std::vector<double> len_shrink;
  if (meta_.length_range.enabled)
    for (const auto& p : prompts) len_shrink.push_back(meta_.length_range.shrink(static_cast<int>(count_words(p))));
  return qualities_from_raw(raw, meta_.stats, meta_.confidence, sim, len_shrink);
}

void Predictor::save_meta(const std::string& dir) const {
  std::filesystem::create_directories(dir);
  write_file_atomic((std::filesystem::path(dir) / "predictor.json").string(), meta_to_json(meta_).dump(2) + "\n");
}

std::vector<std::string> shipped_predictor_metrics() { return {"clip", "nima"}; }

std::string shipped_predictor_dir(const std::string& metric) {
  const auto known = shipped_predictor_metrics();
  if (std::find(known.begin(), known.end(), metric) == known.end())
    fail("no shipped predictor of metric \"{}\" (shipped: {}): give its --predictor", metric, join(known, ", "));
  auto p = find_resource("models/predictor-" + metric + "/predictor.json");
  if (p.empty())
    fail("the shipped predictor models/predictor-{} was not found (set CATIMAGE_HOME to the catimage folder)", metric);
  return std::filesystem::path(p).parent_path().string();
}

std::string default_predictor_dir() {
  auto p = find_resource("models/predictor-clip/predictor.json");
  if (p.empty())
    fail("the shipped predictor models/predictor-clip was not found (set CATIMAGE_HOME to the catimage folder)");
  return std::filesystem::path(p).parent_path().string();
}

}  // namespace catimage
