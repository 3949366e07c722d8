#include "catimage/predictor/quality_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "catimage/io/candidates_config.hpp"
#include "catimage/io/predictions_file.hpp"
#include "catimage/predictor/predictor.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

Matrix predict_qualities(const PredictorSource& src, const std::vector<PromptRef>& prompts,
                         const std::vector<std::string>& names, const std::string& names_origin) {
  if (!src.predictor.empty() && !src.predictions.empty()) fail("give either --predictor or --predictions, not both");
  Matrix q(prompts.size(), names.size());
  CandidateSet cs;  // the wanted candidates, for match_candidates' checks and messages
  cs.source = names_origin;
  for (const auto& n : names) cs.candidates.push_back({n});
  if (!src.predictions.empty()) {
    PredictionsFile pf(src.predictions);
    auto idx = match_candidates(cs, pf.table().candidates, src.predictions, true);
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      const QualityRecord* r = pf.by_id(prompts[i].id);
      if (r && !prompts[i].prompt.empty() && r->prompt != prompts[i].prompt) r = nullptr;
      if (!r) r = pf.by_prompt(prompts[i].prompt);
      if (!r)
        fail("{}: no prediction for id \"{}\" / this prompt in {}", prompts[i].where, prompts[i].id, src.predictions);
      for (std::size_t k = 0; k < names.size(); ++k) q(i, k) = r->quality[idx[k]];
    }
    return q;
  }
  auto dir = src.predictor.empty() ? default_predictor_dir() : src.predictor;
  auto t0 = std::chrono::steady_clock::now();
  auto predictor = load_predictor(dir);
  auto t1 = std::chrono::steady_clock::now();
  // A config may route among a subset of the predictor's candidates: each one's prediction
  // stands on its own.
  auto idx = match_candidates(cs, predictor->meta().candidates, "predictor " + dir, true);
  std::vector<std::string> texts;
  texts.reserve(prompts.size());
  for (const auto& p : prompts) texts.push_back(p.prompt);
  Matrix raw = predictor->predict(texts);
  auto t2 = std::chrono::steady_clock::now();
  spdlog::debug("predictor {} ({}): loaded in {:.3f} s, {} prompts predicted in {:.3f} s", dir, predictor->meta().kind,
                std::chrono::duration<double>(t1 - t0).count(), texts.size(),
                std::chrono::duration<double>(t2 - t1).count());
  for (std::size_t i = 0; i < prompts.size(); ++i)
    for (std::size_t k = 0; k < names.size(); ++k) q(i, k) = raw(i, idx[k]);
  return q;
}

std::optional<PredictorMeta> source_meta(const PredictorSource& src) {
  if (!src.predictions.empty()) return std::nullopt;
  const auto dir = src.predictor.empty() ? default_predictor_dir() : src.predictor;
  const auto path = dir + "/predictor.json";
  const json j = read_json_file(path);
  if (j.is_object() && j.value("kind", "") == "cascade-ridge") return std::nullopt;
  return meta_from_json(j, path);
}

double source_margin(const PredictorSource& src) {
  const auto m = source_meta(src);
  return m ? m->margin : 0.0;
}

std::vector<double> source_reference_quality(const PredictorSource& src, const std::vector<std::string>& names) {
  const auto m = source_meta(src);
  if (!m) return {};
  std::vector<double> out;
  for (const auto& n : names) {
    auto it = std::find(m->candidates.begin(), m->candidates.end(), n);
    if (it == m->candidates.end()) return {};  // predict_qualities names the unknown candidate
    out.push_back(m->stats.prior.at(it - m->candidates.begin()));
  }
  return out;
}

}  // namespace catimage
