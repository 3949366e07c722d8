#include "catimage/diffusion/loaders/lora.hpp"

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "catimage/util/error.hpp"

namespace catimage {

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

std::string list(const std::vector<std::string>& v) {
  if (v.size() <= 12) return fmt::format("{}", fmt::join(v, "; "));
  return fmt::format("{}; ... ({} in all)", fmt::join(v.begin(), v.begin() + 12, "; "), v.size());
}

// kohya's component prefixes, the longer first (lora_te_ is SD1/SD2's one text encoder).
const std::vector<std::pair<std::string, std::string>> kKohyaPrefixes = {{"lora_unet_", "unet"},
                                                                         {"lora_te1_", "text_encoder"},
                                                                         {"lora_te2_", "text_encoder_2"},
                                                                         {"lora_te_", "text_encoder"}};

// diffusers' component prefixes.
const std::vector<std::string> kComponents = {"unet", "text_encoder", "text_encoder_2"};

// Why a key of a LyCORIS or DoRA file is refused, or "".
std::string unsupported_kind(const std::string& key) {
  if (key.find(".hada_") != std::string::npos) return "LyCORIS LoHa (hada_*) is not supported";
  if (key.find(".lokr_") != std::string::npos) return "LyCORIS LoKr (lokr_*) is not supported";
  if (key.find(".lora_mid") != std::string::npos)
    return "LyCORIS Tucker-decomposed conv layers (lora_mid) are not supported";
  if (key.find("dora_scale") != std::string::npos) return "DoRA (dora_scale) is not supported";
  return "";
}

// The kind of tensor a diffusers/PEFT key is and the module it updates (component prefix removed):
// "down" / "up" / "alpha", or "" when no diffusers form matches.
struct DiffusersKey {
  std::string kind, module;
};

DiffusersKey parse_diffusers_key(const std::string& component, const std::string& rest) {
  static const std::vector<std::pair<std::string, std::string>> suffixes = {{".lora_A.weight", "down"},
                                                                            {".lora_B.weight", "up"},
                                                                            {".lora.down.weight", "down"},
                                                                            {".lora.up.weight", "up"},
                                                                            {".lora_linear_layer.down.weight", "down"},
                                                                            {".lora_linear_layer.up.weight", "up"},
                                                                            {".alpha", "alpha"}};
  for (const auto& [suffix, kind] : suffixes)
    if (ends_with(rest, suffix) && rest.size() > suffix.size()) {
      std::string module = rest.substr(0, rest.size() - suffix.size());
      if (module.find(".processor.") != std::string::npos) return {};  // processor names come with *_lora below
      return {kind, module};
    }
  // diffusers' attention-processor names: <attn>.processor.to_q_lora.down.weight (UNet),
  // <self_attn>.to_q_lora.down.weight (text encoders), as its convert_state_dict_legacy_attn_format
  // and DIFFUSERS_OLD_TO_PEFT rename them.
  static const std::vector<std::string> projections = {"to_q", "to_k", "to_v", "to_out"};
  for (const std::string kind : {"down", "up"})
    for (const auto& proj : projections) {
      const std::string suffix = "." + proj + "_lora." + kind + ".weight";
      if (!ends_with(rest, suffix)) continue;
      std::string base = rest.substr(0, rest.size() - suffix.size());
      if (component == "unet") {
        if (!ends_with(base, ".processor")) return {};
        base = base.substr(0, base.size() - std::string(".processor").size());
        return {kind, base + "." + (proj == "to_out" ? std::string("to_out.0") : proj)};
      }
      if (ends_with(base, ".processor")) return {};
      static const std::map<std::string, std::string> clip = {
          {"to_q", "q_proj"}, {"to_k", "k_proj"}, {"to_v", "v_proj"}, {"to_out", "out_proj"}};
      return {kind, base + "." + clip.at(proj)};
    }
  return {};
}

}  // namespace

LoraFile::LoraFile(const std::string& path) : path_(path), tensors_(WeightFiles::file(path)) {
  const auto names = tensors_.names();
  if (names.empty()) fail("{}: the LoRA file holds no tensors", path);
  for (const auto& k : names)
    for (const auto& [prefix, _] : kKohyaPrefixes)
      if (starts_with(k, prefix)) format_ = LoraFormat::kohya;
  bool any_prefixed = false;
  if (format_ == LoraFormat::diffusers)
    for (const auto& k : names)
      for (const auto& c : kComponents) any_prefixed |= starts_with(k, c + ".");

  std::map<std::pair<std::string, std::string>, LoraLayer> groups;  // (component, layer name) -> layer
  std::vector<std::string> problems;
  auto bad = [&](const std::string& key, const std::string& why) {
    problems.push_back(fmt::format("\"{}\": {}", key, why));
  };
  auto put = [&](const std::string& key, const std::string& component, const std::string& name,
                 const std::string& module, const std::string& kind) {
    LoraLayer& l = groups[{component, name}];
    l.component = component;
    l.name = name;
    if (!l.module.empty() && l.module != module) return bad(key, fmt::format("a second module for layer {}", name));
    l.module = module;
    std::string& slot = kind == "down" ? l.down : kind == "up" ? l.up : l.alpha;
    if (!slot.empty()) return bad(key, fmt::format("layer {} already has its {} in \"{}\"", name, kind, slot));
    slot = key;
  };

  for (const auto& k : names) {
    if (format_ == LoraFormat::kohya) {
      std::string component, prefix;
      for (const auto& [p, c] : kKohyaPrefixes)
        if (component.empty() && starts_with(k, p)) prefix = p, component = c;
      const auto dot = k.find('.');
      if (component.empty() || dot == std::string::npos || dot == prefix.size()) {
        bad(k,
            "not a kohya LoRA key (lora_unet_|lora_te_|lora_te1_|lora_te2_<module>.lora_down.weight | "
            ".lora_up.weight | .alpha), and the file's other keys are kohya ones");
        continue;
      }
      const std::string layer = k.substr(0, dot), suffix = k.substr(dot + 1);
      const std::string module = k.substr(prefix.size(), dot - prefix.size());
      if (suffix == "lora_down.weight") {
        put(k, component, layer, module, "down");
      } else if (suffix == "lora_up.weight") {
        put(k, component, layer, module, "up");
      } else if (suffix == "alpha") {
        put(k, component, layer, module, "alpha");
      } else if (const auto why = unsupported_kind(k); !why.empty()) {
        bad(k, why + " (only LoRA / LoCon: lora_down, lora_up, alpha)");
      } else {
        bad(k, "unknown kohya suffix \"" + suffix + "\" (expected lora_down.weight, lora_up.weight or alpha)");
      }
      continue;
    }
    std::string component = "unet", rest = k;
    for (const auto& c : kComponents)
      if (starts_with(k, c + ".")) component = c, rest = k.substr(c.size() + 1);
    if (any_prefixed && rest == k) {
      bad(k, "no component prefix (unet., text_encoder., text_encoder_2.) while the file's other keys have one");
      continue;
    }
    const DiffusersKey d = parse_diffusers_key(component, rest);
    if (d.kind.empty()) {
      const auto why = unsupported_kind(k);
      bad(k, !why.empty() ? why
                          : "not a LoRA key of a known format (kohya lora_unet_/lora_te*_ names, or diffusers/PEFT "
                            "[unet.|text_encoder.|text_encoder_2.]<module>.lora_A.weight | .lora_B.weight | "
                            ".lora.down.weight | .lora.up.weight | .alpha)");
      continue;
    }
    put(k, component, (rest == k ? std::string() : component + ".") + d.module, d.module, d.kind);
  }
  for (auto& [_, l] : groups) {
    if (l.down.empty() || l.up.empty()) {
      const std::string has = !l.down.empty() ? l.down : !l.up.empty() ? l.up : l.alpha;
      bad(has, fmt::format("layer {} has no {}", l.name,
                           l.down.empty() && l.up.empty() ? "down and up weights"
                           : l.down.empty()               ? "down weight"
                                                          : "up weight"));
      continue;
    }
    layers_.push_back(std::move(l));
  }
  if (!problems.empty()) fail("{}: not a LoRA file catimage can merge: {}", path, list(problems));
}

std::vector<std::string> LoraFile::components() const {
  std::set<std::string> s;
  for (const auto& l : layers_) s.insert(l.component);
  return {s.begin(), s.end()};
}

void LoraFile::merge_into(torch::nn::Module& module, const std::string& component, double scale,
                          const LdmUNetNames* ldm) const {
  torch::NoGradGuard ng;
  std::map<std::string, torch::Tensor> weights;  // module path -> its weight
  // kohya's names ('_' for '.') of the module paths, diffusers' and (with `ldm`) the original ones
  std::map<std::string, std::vector<std::string>> by_underscores, by_ldm_underscores;
  auto underscored = [](std::string s) {
    std::replace(s.begin(), s.end(), '.', '_');
    return s;
  };
  for (const auto& p : module.named_parameters()) {
    if (!ends_with(p.key(), ".weight")) continue;
    const std::string path = p.key().substr(0, p.key().size() - 7);
    weights[path] = p.value();
    by_underscores[underscored(path)].push_back(path);
    if (!ldm) continue;
    if (const auto old = ldm->to_ldm(p.key()); old && ends_with(*old, ".weight"))
      by_ldm_underscores[underscored(old->substr(0, old->size() - 7))].push_back(path);
  }
  std::vector<std::string> problems;
  std::map<std::string, std::string> updated;  // module path -> the layer that updated it
  for (const auto& l : layers_) {
    if (l.component != component) continue;
    auto bad = [&](const std::string& why) { problems.push_back(fmt::format("{}: {}", l.name, why)); };
    std::string target = l.module;
    if (format_ == LoraFormat::kohya) {
      const std::vector<std::string>* paths = nullptr;
      if (auto it = by_underscores.find(l.module); it != by_underscores.end())
        paths = &it->second;
      else if (auto old = by_ldm_underscores.find(l.module); old != by_ldm_underscores.end())
        paths = &old->second;
      if (!paths) {
        bad(fmt::format("the {} has no module {} (its diffusers{} names with '_' for '.')", component, l.module,
                        ldm ? " or original (ldm)" : ""));
        continue;
      }
      if (paths->size() > 1) {
        bad(fmt::format("ambiguous: the {} has modules {}", component, fmt::join(*paths, " and ")));
        continue;
      }
      target = paths->front();
    }
    auto w = weights.find(target);
    if (w == weights.end()) {
      bad(fmt::format("the {} has no weight {}.weight", component, target));
      continue;
    }
    if (auto [at, fresh] = updated.emplace(target, l.name); !fresh) {
      bad(fmt::format("{}.weight is updated by {} already", target, at->second));
      continue;
    }
    torch::Tensor& W = w->second;
    const auto down = tensors_.get(l.down), up = tensors_.get(l.up);
    const auto shape = [](const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); };
    const bool w_conv = W.dim() == 4;
    const bool one_by_one = !w_conv || (W.size(2) == 1 && W.size(3) == 1);
    const bool down_ok = (down.dim() == 2 && one_by_one) ||
                         (down.dim() == 4 && (w_conv ? down.sizes().slice(1).equals(W.sizes().slice(1))
                                                     : down.size(2) == 1 && down.size(3) == 1));
    const bool up_ok = (up.dim() == 2 || (up.dim() == 4 && up.size(2) == 1 && up.size(3) == 1)) &&
                       up.size(0) == W.size(0) && up.size(1) == down.size(0);
    if ((W.dim() != 2 && !w_conv) || !down_ok || !up_ok || down.numel() / down.size(0) != W.numel() / W.size(0)) {
      bad(fmt::format("down {} and up {} do not fit {}.weight {}", shape(down), shape(up), target, shape(W)));
      continue;
    }
    auto u = up.flatten(1);
    if (!l.alpha.empty()) {
      const auto a = tensors_.get(l.alpha);
      if (a.numel() != 1) {
        bad(fmt::format("alpha {} is not one number", shape(a)));
        continue;
      }
      u = u * a.item<double>() / static_cast<double>(down.size(0));  // diffusers: w_up * network_alpha / rank
    }
    const auto fused = W.to(torch::kFloat32) + scale * torch::mm(u, down.flatten(1)).reshape(W.sizes());
    W.copy_(fused);
  }
  if (!problems.empty()) fail("{}: cannot merge into the {}: {}", path_, component, list(problems));
}

void check_loras(const std::vector<LoraFileOption>& loras, const std::vector<std::string>& components,
                 const std::string& pipeline) {
  for (const auto& o : loras) {
    const LoraFile f(o.file);
    for (const auto& c : f.components())
      if (std::find(components.begin(), components.end(), c) == components.end())
        fail("{}: the LoRA updates the {}, which {} does not have (it has {})", o.file, c, pipeline,
             fmt::join(components, ", "));
  }
}

void merge_loras(const std::vector<LoraFileOption>& loras, const std::map<std::string, torch::nn::Module*>& components,
                 const std::string& pipeline, const LdmUNetNames* unet_ldm) {
  std::vector<std::string> names;
  for (const auto& [c, _] : components) names.push_back(c);
  for (const auto& o : loras) {
    check_loras({o}, names, pipeline);
    const LoraFile f(o.file);
    for (const auto& c : f.components()) f.merge_into(*components.at(c), c, o.scale, c == "unet" ? unet_ldm : nullptr);
    spdlog::debug("merged LoRA {} ({} layers, {} format) at scale {}", o.file, f.layers().size(),
                  f.format() == LoraFormat::kohya ? "kohya" : "diffusers", o.scale);
  }
}

}  // namespace catimage
