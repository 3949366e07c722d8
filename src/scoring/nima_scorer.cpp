#include "catimage/scoring/nima_scorer.hpp"

#include "catimage/scoring/keras_image.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

NimaScorer::NimaScorer(NimaModel m, torch::Device device) : model_(std::move(m)), device_(device) {
  model_->to(device_);
}

NimaScorer NimaScorer::load(const std::string& dir, torch::Device device) {
  return NimaScorer(load_nima_model(dir), device);
}

torch::Tensor NimaScorer::pixel_values(const std::vector<torch::Tensor>& hwc_images) const {
  if (hwc_images.empty()) fail("NIMA scorer: no images");
  std::vector<torch::Tensor> parts;
  for (const auto& im : hwc_images) parts.push_back(keras_load_img_pixels(im, model_->cfg.image_size));
  return torch::cat(parts, 0);
}

NimaOutput NimaScorer::run(const std::vector<torch::Tensor>& hwc_images) {
  torch::NoGradGuard ng;
  return model_->forward(pixel_values(hwc_images).to(device_));
}

PairScores NimaScorer::score(const std::vector<torch::Tensor>& hwc_images, const std::vector<std::string>& prompts) {
  if (hwc_images.size() != prompts.size())
    fail("NIMA scores: {} images but {} prompts", hwc_images.size(), prompts.size());
  PairScores out;
  if (hwc_images.empty()) return out;
  auto s = run(hwc_images).score.to(torch::kCPU, torch::kFloat64).contiguous();
  out.scores.assign(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
  out.truncated.assign(out.scores.size(), false);
  return out;
}

}  // namespace catimage
