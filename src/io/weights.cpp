#include "catimage/io/weights.hpp"

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "catimage/io/json_file.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

torch::Dtype torch_dtype(DType t, const std::string& file, const std::string& name) {
  switch (t) {
    case DType::F32: return torch::kFloat32;
    case DType::F16: return torch::kFloat16;
    case DType::BF16: return torch::kBFloat16;
    case DType::I64: return torch::kInt64;
    case DType::I32: return torch::kInt32;
    case DType::U8: return torch::kUInt8;
  }
  fail("{}: tensor \"{}\" has an unsupported dtype", file, name);
}

std::string shape_str(const std::vector<std::int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

}  // namespace

std::vector<std::string> WeightFiles::expected_paths(const std::string& dir, const std::string& stem) {
  std::vector<std::string> out;
  for (const char* v : {"", ".fp16"}) {
    out.push_back((fs::path(dir) / (stem + v + ".safetensors")).string());
    out.push_back((fs::path(dir) / (stem + v + ".safetensors.index.json")).string());
  }
  return out;
}

bool WeightFiles::exists(const std::string& dir, const std::string& stem) {
  std::error_code ec;  // a symlink loop or no permission: not there
  for (const auto& p : expected_paths(dir, stem))
    if (fs::is_regular_file(p, ec)) return true;
  return false;
}

std::string WeightFiles::pickled_only(const std::string& dir, const std::string& stem) {
  for (const char* ext : {".bin", ".ckpt", ".pt", ".pth", ".bin.index.json"})
    if (std::error_code ec; fs::is_regular_file(fs::path(dir) / (stem + ext), ec)) return stem + ext;
  return {};
}

WeightFiles WeightFiles::file(const std::string& path) {
  WeightFiles w;
  w.origin_ = path;
  auto f = std::make_shared<SafeTensorsFile>(path);
  for (const auto& [name, _] : f->tensors()) w.where_[name] = f.get();
  w.files_.push_back(std::move(f));
  return w;
}

WeightFiles WeightFiles::in_folder(const std::string& dir, const std::string& stem) {
  for (const auto& p : expected_paths(dir, stem)) {
    if (std::error_code ec; !fs::is_regular_file(p, ec)) continue;
    if (p.size() < 5 || p.substr(p.size() - 5) != ".json") return file(p);
    // sharded: {"weight_map": {tensor: file}}
    json idx = read_json_file(p);
    if (!idx.contains("weight_map") || !idx["weight_map"].is_object())
      fail("{}: no \"weight_map\" object in the shard index", p);
    WeightFiles w;
    w.origin_ = p;
    std::map<std::string, const SafeTensorsFile*> by_file;
    for (const auto& [name, fv] : idx["weight_map"].items()) {
      if (!fv.is_string()) fail("{}: weight_map[\"{}\"] is not a file name", p, name);
      auto shard = fv.get<std::string>();
      if (shard.find('/') != std::string::npos || shard.find("..") != std::string::npos)
        fail("{}: weight_map[\"{}\"] names \"{}\", which is not a file beside the index", p, name, shard);
      if (!by_file.count(shard)) {
        auto f = std::make_shared<SafeTensorsFile>((fs::path(dir) / shard).string());
        by_file[shard] = f.get();
        w.files_.push_back(std::move(f));
      }
      if (!by_file[shard]->has(name)) fail("{}: tensor \"{}\" is mapped to {}, which does not hold it", p, name, shard);
      w.where_[name] = by_file[shard];
    }
    return w;
  }
  std::string hint;
  if (const auto pickled = pickled_only(dir, stem); !pickled.empty())
    hint = fmt::format(
        " (found {}: only safetensors weights are loaded; pickled checkpoints are never opened — "
        "convert it to safetensors, e.g. with diffusers' save_pretrained(safe_serialization=True))",
        pickled);
  fail("no weights in {}: expected one of {}{}", dir, fmt::join(expected_paths(dir, stem), ", "), hint);
}

std::string WeightFiles::describe() const { return origin_; }
bool WeightFiles::has(const std::string& name) const { return where_.count(name) > 0; }

std::vector<std::string> WeightFiles::names() const {
  std::vector<std::string> out;
  for (const auto& [k, _] : where_) out.push_back(k);
  return out;
}

std::vector<std::int64_t> WeightFiles::shape(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) fail("{}: no tensor \"{}\"", origin_, name);
  return it->second->info(name).shape;
}

torch::Tensor WeightFiles::get(const std::string& name, torch::Dtype dtype) const {
  auto it = where_.find(name);
  if (it == where_.end()) fail("{}: no tensor \"{}\"", origin_, name);
  const auto& f = *it->second;
  const auto& i = f.info(name);
  const bool stored_float = i.dtype == DType::F32 || i.dtype == DType::F16 || i.dtype == DType::BF16;
  if (torch::isFloatingType(dtype) && !stored_float)
    fail("{}: tensor \"{}\" has dtype {}, expected a float type", f.path(), name, dtype_name(i.dtype));
  auto t = torch::from_blob(const_cast<void*>(f.data(name)), i.shape, torch_dtype(i.dtype, f.path(), name));
  return t.to(dtype, /*non_blocking=*/false, /*copy=*/true);
}

void load_weights(torch::nn::Module& module, const WeightSource& w, const LoadOptions& opt) {
  torch::NoGradGuard ng;
  // checkpoint key -> module key, with deprecated names mapped
  std::map<std::string, std::string> key_of;
  for (const auto& k : w.names()) {
    if (k.rfind(opt.prefix, 0) != 0) continue;
    std::string local = k.substr(opt.prefix.size());
    for (const auto& [from, to] : opt.renames) {
      auto pos = local.find(from);
      if (pos != std::string::npos && pos + from.size() <= local.size()) {
        local = local.substr(0, pos) + to + local.substr(pos + from.size());
        break;
      }
    }
    key_of[local] = k;
  }
  std::vector<std::string> missing, misshaped;
  std::set<std::string> used;
  auto load_one = [&](const std::string& name, torch::Tensor& target) {
    auto it = key_of.find(name);
    if (it == key_of.end()) {
      missing.push_back(opt.prefix + name);
      return;
    }
    used.insert(name);
    auto shape = w.shape(it->second);
    auto want = target.sizes().vec();
    bool conv1x1_as_linear = opt.conv1x1_as_linear && shape.size() == 4 && want.size() == 2 && shape[0] == want[0] &&
                             shape[1] == want[1] && shape[2] == 1 && shape[3] == 1;
    if (shape != want && !conv1x1_as_linear) {
      misshaped.push_back(
          fmt::format("{} (file {}, model {})", w.stored_name(it->second), shape_str(shape), shape_str(want)));
      return;
    }
    auto t = w.get(it->second, target.scalar_type());
    if (conv1x1_as_linear) t = t.view(want);
    target.copy_(t);
  };
  for (auto& p : module.named_parameters()) load_one(p.key(), p.value());
  for (auto& b : module.named_buffers()) load_one(b.key(), b.value());
  std::vector<std::string> unexpected;
  for (const auto& [local, full] : key_of) {
    if (used.count(local)) continue;
    bool ignored = false;
    for (const auto& pre : opt.ignored_prefixes) ignored |= local.rfind(pre, 0) == 0;
    if (!ignored) unexpected.push_back(w.stored_name(full));
  }
  if (!missing.empty() || !misshaped.empty() || !unexpected.empty()) {
    auto list = [](const std::vector<std::string>& v) {
      if (v.size() <= 12) return fmt::format("{}", fmt::join(v, ", "));
      return fmt::format("{}, ... ({} in all)", fmt::join(v.begin(), v.begin() + 12, ", "), v.size());
    };
    fail("{}: the weights do not fit the model: missing [{}] mis-shaped [{}] unexpected [{}]", w.describe(),
         list(missing), list(misshaped), list(unexpected));
  }
}

TensorBlob tensor_blob(const std::string& name, const torch::Tensor& tensor) {
  const auto st = tensor.scalar_type();
  const bool half = st == torch::kFloat16 || st == torch::kBFloat16;
  auto t = tensor.detach().to(torch::kCPU, half ? st : torch::kFloat32).contiguous();
  TensorBlob b;
  b.name = name;
  b.dtype = st == torch::kFloat16 ? DType::F16 : st == torch::kBFloat16 ? DType::BF16 : DType::F32;
  b.shape = t.sizes().vec();
  b.bytes.resize(t.numel() * t.element_size());
  std::memcpy(b.bytes.data(), t.data_ptr(), b.bytes.size());
  return b;
}

void save_weights(const torch::nn::Module& module, const std::string& path, const std::string& prefix) {
  std::vector<TensorBlob> blobs;
  auto add = [&](const std::string& name, const torch::Tensor& t) { blobs.push_back(tensor_blob(prefix + name, t)); };
  for (const auto& p : module.named_parameters()) add(p.key(), p.value());
  for (const auto& b : module.named_buffers()) add(b.key(), b.value());
  write_safetensors(path, std::move(blobs), {{"format", "pt"}});
}

}  // namespace catimage
