#include "catimage/batch/model_report.hpp"

#include <filesystem>
#include <memory>
#include <set>

#include "catimage/diffusion/loaders/model_source.hpp"
#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

std::uintmax_t file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

std::int64_t count_parameters(const WeightSource& w) {
  std::int64_t n = 0;
  for (const auto& name : w.names()) {
    std::int64_t k = 1;
    for (auto d : w.shape(name)) k *= d;
    n += k;
  }
  return n;
}

// The bytes of the files `w` reads: a folder's safetensors file, or the shards its index names
// (WeightFiles::describe() is the file or the index); 0 for a view of a single file, whose size is
// counted once.
std::uintmax_t source_bytes(const WeightSource& w) {
  if (!dynamic_cast<const WeightFiles*>(&w)) return 0;
  const fs::path origin = w.describe();
  if (origin.extension() != ".json") return file_bytes(origin.string());
  std::set<std::string> shards;
  for (const auto& [name, file] : read_json_file(origin.string())["weight_map"].items())
    shards.insert(file.get<std::string>());  // checked when the files were opened
  std::uintmax_t n = 0;
  for (const auto& s : shards) n += file_bytes((origin.parent_path() / s).string());
  return n;
}

// Counts what the planned pipeline loads: every component of model_index.json with a config.json
// and weights (a single file's views, or the folder's files), the decoder override in place of vae/.
void count(const GenerationPlan& p, ModelReport& r) {
  const PipelineOptions& o = p.pipeline;
  const ModelSource src = ModelSource::open(o);
  if (src.single_file()) r.bytes += file_bytes(o.folder);
  for (const auto& [k, v] : src.index().index.items()) {
    if (k.empty() || k[0] == '_' || !v.is_array() || v.size() != 2 || !v[0].is_string()) continue;
    if (k == "vae" && !o.vae.empty()) continue;
    std::error_code ec;
    if (!fs::is_regular_file(src.config(k), ec)) continue;  // tokenizers, scheduler: no weights
    const std::string stem = WeightFiles::exists(src.path(k), "model") ? "model" : "diffusion_pytorch_model";
    if (!src.single_file() && !WeightFiles::exists(src.path(k), stem)) continue;
    const auto w = src.weights(k, stem);
    r.parameters += count_parameters(*w);
    r.bytes += source_bytes(*w);
  }
  if (!o.vae.empty()) {
    const auto w = src.vae(o.vae).second;
    r.parameters += count_parameters(*w);
    std::error_code ec;
    r.bytes += fs::is_directory(o.vae, ec) ? source_bytes(*w) : file_bytes(o.vae);
  }
  for (const auto& l : o.loras) r.bytes += file_bytes(l.file);
  const json& refs = src.index().index.value("_tokenizer_files", json::object());
  if (refs.is_object())
    for (const auto& [t, ref] : refs.items())
      if (ref.is_string()) r.refs.push_back({t, ref.get<std::string>(), src.tokenizer_files(t)});
}

}  // namespace

json ModelReport::to_json() const {
  json j = {{"candidate", candidate}, {"family", family}, {"runs", runs}};
  if (!runs) {
    j["why"] = why;
    return j;
  }
  j["references"] = json::array();
  for (const auto& r : refs)
    j["references"].push_back({{"role", r.role}, {"written", r.written}, {"path", r.resolved}});
  j["dtype"] = dtype;
  j["parameters"] = parameters;
  j["bytes"] = bytes;
  j["lora"] = json::array();
  for (const auto& [file, scale] : loras) j["lora"].push_back({{"weights", file}, {"scale", scale}});
  return j;
}

std::vector<ModelReport> model_reports(const CandidateSet& cs, const GenerationOverrides& o) {
  std::vector<ModelReport> out;
  for (const auto& c : cs.candidates) {
    ModelReport r;
    r.candidate = c.name;
    r.family = c.family;
    const GenerationPlan p = plan(c, o, cs.source);
    if (!p.runs()) {
      r.why = p.reason;
      out.push_back(std::move(r));
      continue;
    }
    r.refs.push_back({"weights", *c.weights, p.pipeline.folder});
    if (!p.pipeline.config.empty()) r.refs.push_back({"config", c.config.value_or(""), p.pipeline.config});
    if (c.vae) r.refs.push_back({"vae", *c.vae, p.pipeline.vae});
    for (std::size_t i = 0; i < p.pipeline.loras.size(); ++i) {
      r.refs.push_back({fmt::format("lora[{}]", i), c.lora[i].weights, p.pipeline.loras[i].file});
      r.loras.emplace_back(p.pipeline.loras[i].file, p.pipeline.loras[i].scale);
    }
    r.dtype = p.dtype;
    try {  // the headers: a file the plan found but cannot be read is why it cannot run
      count(p, r);
      r.runs = true;
    } catch (const Error& e) {
      r.why = fmt::format("{}: candidate \"{}\": {}", cs.source, c.name, e.what());
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace catimage
