#include "catimage/scoring/clip_model.hpp"

#include <filesystem>

#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

std::string first_architecture(const ConfigView& c) {
  const auto& j = c.raw();
  if (c.has("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string())
    return j["architectures"][0].get<std::string>();
  return "";
}

std::string config_path(const std::string& dir) {
  auto p = (fs::path(dir) / "config.json").string();
  if (!fs::is_directory(dir))
    fail("{}: not a folder (a CLIPModel folder holds config.json and model.safetensors)", dir);
  if (!fs::is_regular_file(p)) fail("{}: missing (a CLIPModel folder holds config.json and model.safetensors)", p);
  return p;
}

}  // namespace

ClipModelConfig ClipModelConfig::from(const ConfigView& c) {
  ClipModelConfig m;
  const auto arch = first_architecture(c);
  if (!arch.empty() && arch != "CLIPModel") c.bad("architectures", "\"" + arch + "\" is not a CLIPModel");
  c.read("projection_dim", m.projection_dim);
  c.read("logit_scale_init_value", m.logit_scale_init_value);
  if (m.projection_dim <= 0) c.bad("projection_dim", "must be positive");
  m.text = ClipTextConfig::from(c.section("text_config"));
  m.text.with_projection = true;  // CLIPModel's text_projection: hidden -> projection_dim
  m.text.projection_dim = m.projection_dim;
  m.vision = ClipVisionConfig::from(c.section("vision_config"));
  m.vision.projection_dim = m.projection_dim;
  return m;
}

ClipModelImpl::ClipModelImpl(const ClipModelConfig& c) : cfg(c) {
  text = ClipTextModel(c.text);
  vision = ClipVisionModel(c.vision);
  // Register the towers' own top-level modules here so the keys are transformers' CLIPModel keys.
  register_module("text_model", text->named_children()["text_model"]);
  register_module("vision_model", vision->named_children()["vision_model"]);
  text_projection = register_module("text_projection", text->text_projection);
  visual_projection =
      register_module("visual_projection",
                      torch::nn::Linear(torch::nn::LinearOptions(c.vision.hidden_size, c.projection_dim).bias(false)));
  logit_scale = register_parameter("logit_scale", torch::tensor(c.logit_scale_init_value, torch::kFloat32));
}

torch::Tensor ClipModelImpl::image_embeds(const torch::Tensor& pixel_values) {
  return visual_projection(vision->forward(pixel_values).pooled);
}

torch::Tensor ClipModelImpl::text_embeds(const torch::Tensor& ids) { return text->forward(ids).text_embeds; }

torch::Tensor ClipModelImpl::normalise(const torch::Tensor& embeds) {
  return embeds / embeds.norm(2, -1, /*keepdim=*/true);
}

ClipSimilarity ClipModelImpl::forward(const torch::Tensor& pixel_values, const torch::Tensor& ids) {
  ClipSimilarity s;
  s.image_embeds = normalise(image_embeds(pixel_values));
  s.text_embeds = normalise(text_embeds(ids));
  s.logits_per_image = torch::matmul(s.image_embeds, s.text_embeds.t()) * logit_scale.exp();
  return s;
}

bool is_clip_model_folder(const std::string& dir) {
  auto p = fs::path(dir) / "config.json";
  if (!fs::is_regular_file(p)) return false;
  return first_architecture(ConfigView::load(p.string())) == "CLIPModel";
}

ClipModel load_clip_model(const std::string& dir) {
  auto cfg = ClipModelConfig::from(ConfigView::load(config_path(dir)));
  ClipModel m(cfg);
  LoadOptions lo;
  lo.ignored_prefixes = {"text_model.embeddings.position_ids", "vision_model.embeddings.position_ids"};
  load_weights(*m, WeightFiles::in_folder(dir, "model"), lo);
  m->eval();
  return m;
}

std::string write_random_clip_model_weights(const std::string& dir, std::uint64_t seed, bool force) {
  auto cfg = ClipModelConfig::from(ConfigView::load(config_path(dir)));
  if (!force && WeightFiles::exists(dir, "model")) return "";
  torch::manual_seed(seed);
  ClipModel m(cfg);
  auto out = (fs::path(dir) / "model.safetensors").string();
  save_weights(*m, out);
  return out;
}

}  // namespace catimage
