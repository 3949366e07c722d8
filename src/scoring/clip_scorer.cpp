#include "catimage/scoring/clip_scorer.hpp"

#include "catimage/scoring/prompt_ids.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

ClipScorer::ClipScorer(ClipModel m, ClipImageProcessor p, ClipTokenizer t, ScoreMetric metric, torch::Device device)
    : model_(std::move(m)), processor_(std::move(p)), tokenizer_(std::move(t)), metric_(metric), device_(device) {
  model_->to(device_);
}

ClipScorer ClipScorer::load(const std::string& dir, ScoreMetric metric, torch::Device device) {
  if (score_metric_info(metric).model != ScorerModel::clip)
    fail("{}: {} is not scored with a CLIP model (its scorer: {})", dir, score_metric_name(metric),
         score_metric_info(metric).folder);
  auto model = load_clip_model(dir);
  auto processor = ClipImageProcessor::from_folder(dir);
  auto tokenizer = ClipTokenizer::from_folder(dir);
  const auto& c = model->cfg;
  if (processor.config().do_center_crop &&
      (processor.config().crop_height != c.vision.image_size || processor.config().crop_width != c.vision.image_size))
    fail("{}/preprocessor_config.json: key \"crop_size\": {}x{} does not match the model's image_size {}", dir,
         processor.config().crop_height, processor.config().crop_width, c.vision.image_size);
  if (static_cast<std::int64_t>(tokenizer.vocab_size()) > c.text.vocab_size)
    fail("{}/vocab.json: {} tokens, more than the model's vocab_size {}", dir, tokenizer.vocab_size(),
         c.text.vocab_size);
  if (tokenizer.max_length() > c.text.max_position_embeddings)
    fail("{}: the tokenizer's model_max_length {} exceeds the text model's max_position_embeddings {}", dir,
         tokenizer.max_length(), c.text.max_position_embeddings);
  return ClipScorer(std::move(model), std::move(processor), std::move(tokenizer), metric, device);
}

PairScores ClipScorer::score(const std::vector<torch::Tensor>& hwc_images, const std::vector<std::string>& prompts) {
  if (hwc_images.size() != prompts.size())
    fail("CLIP scores: {} images but {} prompts (they are scored in pairs)", hwc_images.size(), prompts.size());
  PairScores out;
  if (prompts.empty()) return out;
  torch::NoGradGuard ng;
  auto pixels = processor_.batch(hwc_images).to(device_);
  auto ids = tokenize_prompts(tokenizer_, prompts);
  auto img = model_->image_embeds(pixels);
  auto txt = model_->text_embeds(ids.ids.to(device_));
  auto s =
      catimage::score(metric_, img, txt, model_->logit_scale.detach()).to(torch::kCPU, torch::kFloat64).contiguous();
  out.scores.assign(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
  out.truncated = ids.truncated;
  out.truncated_count = ids.truncated_count();
  return out;
}

}  // namespace catimage
