#include "catimage/scoring/nima_model.hpp"

#include <filesystem>

#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

const char* const kFolder = "a NIMA folder holds config.json and model.safetensors (scripts/nima_h5_to_safetensors.py)";

std::string config_path(const std::string& dir) {
  auto p = (fs::path(dir) / "config.json").string();
  if (!fs::is_directory(dir)) fail("{}: not a folder ({})", dir, kFolder);
  if (!fs::is_regular_file(p)) fail("{}: missing ({})", p, kFolder);
  return p;
}

}  // namespace

NimaConfig NimaConfig::from(const ConfigView& c) {
  NimaConfig n;
  if (c.get_string("model_type", "") != "nima")
    c.bad("model_type", "must be \"nima\" (a NIMA scorer folder; " + std::string(kFolder) + ")");
  c.read("base_model_name", n.base_model_name);
  if (n.base_model_name != "MobileNet")
    c.bad("base_model_name", "\"" + n.base_model_name + "\" is not supported (MobileNet, idealo's published NIMA)");
  n.mobilenet = MobileNetConfig::from(c);
  c.read("image_size", n.image_size);
  c.read("n_classes", n.n_classes);
  if (n.image_size < 32 || n.image_size > 4096)
    c.bad("image_size", "must be in 32..4096 (Keras' MobileNet minimum is 32)");
  if (n.n_classes < 2 || n.n_classes > 1000) c.bad("n_classes", "must be in 2..1000 (NIMA: 10 ratings)");
  return n;
}

NimaModelImpl::NimaModelImpl(const NimaConfig& c) : cfg(c) {
  base = MobileNet(c.mobilenet);
  // The MobileNet's layers are registered here under their own names, so the keys are Keras' layer names.
  for (const auto& child : base->named_children()) register_module(child.key(), child.value());
  dense = register_module("dense", torch::nn::Linear(base->features(), c.n_classes));
}

NimaOutput NimaModelImpl::forward(const torch::Tensor& pixel_values) {
  const auto S = cfg.image_size;
  if (pixel_values.dim() != 4 || pixel_values.size(1) != 3 || pixel_values.size(2) != S || pixel_values.size(3) != S)
    fail("NIMA model: expected pixel values of shape (B, 3, {}, {}), got {}", S, S, c10::str(pixel_values.sizes()));
  NimaOutput o;
  o.features = base->forward(pixel_values);
  o.logits = dense(o.features);
  o.probs = torch::softmax(o.logits, -1);
  o.score = nima_mean_score(o.probs);
  return o;
}

torch::Tensor nima_mean_score(const torch::Tensor& probs) {
  if (probs.dim() != 2) fail("NIMA score: expected (B, n) probabilities, got {}", c10::str(probs.sizes()));
  auto p = probs.to(torch::kFloat64);
  p = p / p.sum(-1, /*keepdim=*/true);
  auto ratings = torch::arange(1, probs.size(1) + 1, torch::TensorOptions().dtype(torch::kFloat64).device(p.device()));
  return (p * ratings).sum(-1);
}

bool is_nima_folder(const std::string& dir) {
  auto p = fs::path(dir) / "config.json";
  if (!fs::is_regular_file(p)) return false;
  const auto c = ConfigView::load(p.string());
  return c.has("model_type") && c.raw()["model_type"] == "nima";
}

NimaModel load_nima_model(const std::string& dir) {
  NimaModel m(NimaConfig::from(ConfigView::load(config_path(dir))));
  load_weights(*m, WeightFiles::in_folder(dir, "model"));
  m->eval();
  return m;
}

std::string write_random_nima_weights(const std::string& dir, std::uint64_t seed, bool force) {
  auto cfg = NimaConfig::from(ConfigView::load(config_path(dir)));
  if (!force && WeightFiles::exists(dir, "model")) return "";
  torch::manual_seed(seed);
  NimaModel m(cfg);
  torch::NoGradGuard ng;
  for (auto& p : m->named_parameters()) {  // in registration order: the same weights for the same seed
    auto& t = p.value();
    const auto& k = p.key();
    if (t.dim() >= 2)
      torch::nn::init::kaiming_uniform_(t, 0.0, torch::kFanIn, torch::kReLU);  // He: bound sqrt(6 / fan_in)
    else if (k.size() > 5 && k.compare(k.size() - 5, 5, ".bias") == 0)
      t.normal_(0.0, 0.1);  // BatchNormalization's beta, the Dense bias
    else
      t.uniform_(0.5, 1.5);  // gamma
  }
  for (auto& b : m->named_buffers()) {
    auto& t = b.value();
    if (b.key().find("running_mean") != std::string::npos)
      t.normal_(0.0, 0.1);
    else
      t.uniform_(0.5, 1.5);  // running_var
  }
  auto out = (fs::path(dir) / "model.safetensors").string();
  save_weights(*m, out);
  return out;
}

}  // namespace catimage
