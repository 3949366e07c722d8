// A neural predictor on disk: weights.safetensors ("bag.*" / "transformer.*" parameters and
// the memory), tokenizer.model (a copy of the tokenizer it was trained with) and predictor.json.
#include <filesystem>

#include "catimage/io/safetensors.hpp"
#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"
#include "predictor/neural_predictor.hpp"

namespace catimage {

namespace {

// Large tables (embeddings, kNN memory) are stored as F16: half the size, and their
// rounding (~1e-3 relative) is far below the predictors' error.
TensorBlob blob_of(const std::string& name, const torch::Tensor& t, bool half = false) {
  return tensor_blob(name, t.detach().to(half ? torch::kFloat16 : torch::kFloat32));
}

bool stored_as_half(const std::string& parameter) { return parameter.find("embedding.weight") != std::string::npos; }

void add_parameters(std::vector<TensorBlob>& blobs, const std::string& prefix, const torch::nn::Module& net) {
  for (auto& p : net.named_parameters())
    blobs.push_back(blob_of(prefix + p.key(), p.value(), stored_as_half(p.key())));
}

torch::Tensor half_rounded(const torch::Tensor& t) { return t.to(torch::kFloat16).to(t.scalar_type()); }

void round_half_parameters(torch::nn::Module& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net.named_parameters())
    if (stored_as_half(p.key())) p.value().copy_(half_rounded(p.value()));
}

}  // namespace

void NeuralPredictor::round_to_stored_precision() {
  if (bag) round_half_parameters(*bag);
  if (transformer) round_half_parameters(*transformer);
  if (memory_.defined()) memory_ = NeuralMemory(half_rounded(memory_.embeddings()), memory_.targets());
}

void NeuralPredictor::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  std::vector<TensorBlob> blobs;
  if (bag) add_parameters(blobs, "bag.", *bag);
  if (transformer) add_parameters(blobs, "transformer.", *transformer);
  if (memory_.defined()) {
    blobs.push_back(blob_of("memory.embeddings", memory_.embeddings(), true));
    blobs.push_back(blob_of("memory.targets", memory_.targets()));
  }
  write_safetensors((fs::path(dir) / "weights.safetensors").string(), std::move(blobs), {{"kind", meta().kind}});
  fs::copy_file(tok_->model_path(), fs::path(dir) / "tokenizer.model", fs::copy_options::overwrite_existing);
  save_meta(dir);
}

std::unique_ptr<NeuralPredictor> NeuralPredictor::load(const std::string& dir, PredictorMeta meta, NeuralArch arch) {
  namespace fs = std::filesystem;
  auto tok_path = (fs::path(dir) / "tokenizer.model").string();
  auto tok = SentencePieceTokenizer::shared(tok_path);
  if (tok->checksum() != meta.tokenizer_checksum)
    fail("{}: tokenizer checksum {} differs from the {} the predictor was trained with", tok_path, tok->checksum(),
         meta.tokenizer_checksum);
  NetConfig cfg;
  try {
    cfg = NetConfig::from_json(meta.model.at("net"));
  } catch (const json::exception& e) {
    fail("{}/predictor.json: model.net: {}", dir, e.what());
  }
  int k = meta.model.value("k", 32);
  auto p = std::make_unique<NeuralPredictor>(std::move(meta), arch, cfg, tok);
  p->k = k;
  auto f = WeightFiles::file((fs::path(dir) / "weights.safetensors").string());
  LoadOptions lo;
  lo.prefix = "bag.";
  if (p->bag) load_weights(*p->bag, f, lo);
  lo.prefix = "transformer.";
  if (p->transformer) load_weights(*p->transformer, f, lo);
  if (f.has("memory.embeddings")) {
    NeuralMemory m(f.get("memory.embeddings"), f.get("memory.targets"));
    if (m.embeddings().size(1) != cfg.hidden || m.targets().size(1) != cfg.outputs ||
        m.embeddings().size(0) != m.targets().size(0))
      fail("{}: memory tensors do not fit the model", f.describe());
    p->set_memory(std::move(m));
  } else if (arch.knn) {
    fail("{}: no tensor \"memory.embeddings\" (needed by kind {})", f.describe(), p->meta().kind);
  }
  return p;
}

}  // namespace catimage
