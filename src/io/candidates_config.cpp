#include "catimage/io/candidates_config.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "catimage/io/model_ref.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/paths.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

const std::vector<std::string> kCostUnits = {"seconds", "tflops"};

namespace {

bool one_of(const std::string& v, const std::vector<std::string>& allowed) {
  return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

struct Ctx {
  const std::string& origin;
  std::string path;  // e.g. candidates[2] ("SD-Turbo")
  [[noreturn]] void bad(const std::string& key, const std::string& msg) const {
    fail("{}: {}.{}: {}", origin, path, key, msg);
  }
};

std::string get_string(const json& o, const char* key, const Ctx& c, bool required) {
  if (!o.contains(key)) {
    if (required) c.bad(key, "missing (required)");
    return {};
  }
  const auto& v = o.at(key);
  if (!v.is_string()) c.bad(key, fmt::format("expected a string, got {}", json_type(v)));
  return v.get<std::string>();
}

std::optional<int> get_int(const json& o, const char* key, const Ctx& c, int lo, int hi) {
  if (!o.contains(key)) return std::nullopt;
  const auto& v = o.at(key);
  if (!v.is_number_integer()) c.bad(key, fmt::format("expected an integer, got {}", v.dump()));
  auto x = v.get<long long>();
  if (x < lo || x > hi) c.bad(key, fmt::format("{} is out of range [{}, {}]", x, lo, hi));
  return static_cast<int>(x);
}

}  // namespace

int CandidateSet::index(const std::string& name) const {
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (candidates[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<std::string> CandidateSet::names() const {
  std::vector<std::string> r;
  for (const auto& c : candidates) r.push_back(c.name);
  return r;
}

std::vector<double> CandidateSet::costs() const {
  std::vector<double> r;
  for (const auto& c : candidates) r.push_back(c.cost);
  return r;
}

CandidateSet parse_candidates(const json& j, const std::string& origin, const std::string& base_dir,
                              const CandidateRules& rules) {
  CandidateSet set;
  set.source = origin;
  if (!j.is_object()) fail("{}: expected a JSON object at top level, got {}", origin, json_type(j));
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "candidates" && it.key() != "description")
      fail("{}: unknown top-level key \"{}\" (allowed: candidates, description)", origin, it.key());
  if (j.contains("description")) {
    if (!j["description"].is_string()) fail("{}: description: expected a string", origin);
    set.description = j["description"].get<std::string>();
  }
  if (!j.contains("candidates")) fail("{}: missing key \"candidates\"", origin);
  const auto& arr = j["candidates"];
  if (!arr.is_array()) fail("{}: candidates: expected an array, got {}", origin, json_type(arr));
  if (arr.empty()) fail("{}: candidates: the list is empty", origin);

  static const std::set<std::string> allowed = {"name",  "family",    "weights",    "config", "vae",
                                                "steps", "scheduler", "guidance",   "width",  "height",
                                                "lora",  "cost",      "description"};
  std::set<std::string> seen;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const auto& o = arr[i];
    Ctx c{origin, fmt::format("candidates[{}]", i)};
    if (!o.is_object()) fail("{}: {}: expected an object, got {}", origin, c.path, json_type(o));
    Candidate cand;
    cand.name = get_string(o, "name", c, true);
    if (trim(cand.name).empty() || trim(cand.name) != cand.name)
      c.bad("name", "must be non-empty without leading/trailing spaces");
    c.path += fmt::format(" (\"{}\")", cand.name);
    for (auto it = o.begin(); it != o.end(); ++it)
      if (!allowed.count(it.key()))
        c.bad(it.key(), fmt::format("unknown key (allowed: {})",
                                    join(std::vector<std::string>(allowed.begin(), allowed.end()), ", ")));
    if (!seen.insert(cand.name).second) c.bad("name", "duplicate candidate name");
    cand.family = get_string(o, "family", c, true);
    if (!rules.families.empty() && !one_of(cand.family, rules.families))
      c.bad("family", fmt::format("\"{}\" is not one of: {}", cand.family, join(rules.families, ", ")));
    // A path against the config's folder; a Hugging Face reference (org/name[@revision][/path]), or
    // with `names` any name that is not a path (a shipped config's), stays as written when no such
    // path exists: resolved from the hub cache only when a model is loaded.
    auto place = [&](const std::string& s, bool names) {
      std::filesystem::path p(s);
      if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
      std::error_code ec;
      if ((names || parse_repo_id(s)) && !std::filesystem::exists(p, ec)) return s;
      return p.lexically_normal().string();
    };
    auto resolve = [&](const char* key, bool names = false) -> std::optional<std::string> {
      if (!o.contains(key)) return std::nullopt;
      auto s = get_string(o, key, c, true);
      if (s.empty()) c.bad(key, "empty path");
      return place(s, names);
    };
    cand.weights = resolve("weights");
    cand.config = resolve("config", true);
    cand.vae = resolve("vae");
    if (o.contains("lora")) {
      const auto& arr = o["lora"];
      if (!arr.is_array())
        c.bad("lora", fmt::format("expected an array of {{\"weights\", \"scale\"}} objects, got {}", json_type(arr)));
      for (std::size_t k = 0; k < arr.size(); ++k) {
        const auto& l = arr[k];
        const std::string at = fmt::format("lora[{}]", k);
        if (!l.is_object()) c.bad(at, fmt::format("expected an object {{\"weights\", \"scale\"}}, got {}", l.dump()));
        for (auto it = l.begin(); it != l.end(); ++it)
          if (it.key() != "weights" && it.key() != "scale")
            c.bad(at + "." + it.key(), "unknown key (allowed: weights, scale)");
        if (!l.contains("weights") || !l["weights"].is_string() || l["weights"].get<std::string>().empty())
          c.bad(at + ".weights",
                "missing or not a non-empty string (a .safetensors file or org/name[@revision][/file])");
        LoraRef r;
        r.weights = place(l["weights"].get<std::string>(), false);
        if (l.contains("scale")) {
          if (!l["scale"].is_number() || !std::isfinite(l["scale"].get<double>()))
            c.bad(at + ".scale", fmt::format("expected a finite number, got {}", l["scale"].dump()));
          r.scale = l["scale"].get<double>();
        }
        cand.lora.push_back(std::move(r));
      }
    }
    cand.steps = get_int(o, "steps", c, 1, 10000);
    if (o.contains("scheduler")) {
      cand.scheduler = get_string(o, "scheduler", c, true);
      if (rules.scheduler_problem)
        if (const auto why = rules.scheduler_problem(*cand.scheduler); !why.empty()) c.bad("scheduler", why);
    }
    if (o.contains("guidance")) {
      const auto& g = o["guidance"];
      if (!g.is_number()) c.bad("guidance", fmt::format("expected a number, got {}", g.dump()));
      double v = g.get<double>();
      if (!std::isfinite(v) || v < 0) c.bad("guidance", fmt::format("{} must be >= 0", v));
      cand.guidance = v;
    }
    cand.width = get_int(o, "width", c, 8, 16384);
    cand.height = get_int(o, "height", c, 8, 16384);
    for (const char* k : {"width", "height"}) {
      auto v = std::string(k) == "width" ? cand.width : cand.height;
      if (v && *v % 8 != 0) c.bad(k, fmt::format("{} is not a multiple of 8", *v));
    }
    cand.description = get_string(o, "description", c, false);

    if (!o.contains("cost")) c.bad("cost", "missing (required): {\"value\": number, \"unit\": \"seconds\"|\"tflops\"}");
    const auto& cost = o["cost"];
    if (!cost.is_object())
      c.bad("cost", fmt::format("expected an object {{\"value\", \"unit\"}}, got {}", cost.dump()));
    for (auto it = cost.begin(); it != cost.end(); ++it)
      if (it.key() != "value" && it.key() != "unit" && it.key() != "estimate")
        c.bad("cost." + it.key(), "unknown key (allowed: value, unit, estimate)");
    if (cost.contains("estimate")) {
      if (!cost["estimate"].is_boolean())
        c.bad("cost.estimate", fmt::format("expected true or false, got {}", cost["estimate"].dump()));
      cand.cost_estimate = cost["estimate"].get<bool>();
    }
    if (!cost.contains("value") || !cost["value"].is_number()) c.bad("cost.value", "missing or not a number");
    cand.cost = cost["value"].get<double>();
    if (!std::isfinite(cand.cost) || cand.cost < 0)
      c.bad("cost.value", fmt::format("{} must be a finite number >= 0", cand.cost));
    if (!cost.contains("unit") || !cost["unit"].is_string())
      c.bad("cost.unit", fmt::format("missing or not a string (one of: {})", join(kCostUnits, ", ")));
    auto unit = cost["unit"].get<std::string>();
    if (!one_of(unit, kCostUnits))
      c.bad("cost.unit", fmt::format("\"{}\" is not one of: {}", unit, join(kCostUnits, ", ")));
    if (set.cost_unit.empty())
      set.cost_unit = unit;
    else if (unit != set.cost_unit)
      c.bad("cost.unit", fmt::format("\"{}\" differs from the first candidate's \"{}\"; all costs "
                                     "must share one unit",
                                     unit, set.cost_unit));
    set.candidates.push_back(std::move(cand));
  }
  return set;
}

CandidateSet load_candidates(const std::string& path, const CandidateRules& rules) {
  auto base = std::filesystem::path(path).parent_path().string();
  return parse_candidates(read_json_file(path), path, base, rules);
}

json candidates_to_json(const CandidateSet& set) {
  json arr = json::array();
  for (const auto& c : set.candidates) {
    json o = {{"name", c.name}, {"family", c.family}};
    if (c.weights) o["weights"] = *c.weights;
    if (c.config) o["config"] = *c.config;
    if (c.vae) o["vae"] = *c.vae;
    if (c.steps) o["steps"] = *c.steps;
    if (c.scheduler) o["scheduler"] = *c.scheduler;
    if (c.guidance) o["guidance"] = *c.guidance;
    if (c.width) o["width"] = *c.width;
    if (c.height) o["height"] = *c.height;
    for (const auto& l : c.lora) o["lora"].push_back({{"weights", l.weights}, {"scale", l.scale}});
    o["cost"] = {{"value", c.cost}, {"unit", set.cost_unit}};
    if (c.cost_estimate) o["cost"]["estimate"] = true;
    if (!c.description.empty()) o["description"] = c.description;
    arr.push_back(std::move(o));
  }
  json j;
  if (!set.description.empty()) j["description"] = set.description;
  j["candidates"] = std::move(arr);
  return j;
}

std::vector<int> match_candidates(const CandidateSet& set, const std::vector<std::string>& names,
                                  const std::string& other_origin, bool allow_extra) {
  std::vector<int> idx;
  for (const auto& c : set.candidates) {
    auto it = std::find(names.begin(), names.end(), c.name);
    if (it == names.end())
      fail("{} has no candidate \"{}\" of config {} (it has: {})", other_origin, c.name, set.source, join(names, ", "));
    idx.push_back(static_cast<int>(it - names.begin()));
  }
  for (const auto& n : names)
    if (!allow_extra && set.index(n) < 0)
      fail("{} has candidate \"{}\" that config {} lacks (config has: {})", other_origin, n, set.source,
           join(set.names(), ", "));
  return idx;
}

CandidateSet load_candidates_or_default(const std::string& path, const CandidateRules& rules) {
  if (!path.empty()) return load_candidates(path, rules);
  auto p = find_resource("configs/default.json");
  if (p.empty()) fail("no --config given and the shipped configs/default.json was not found (set CATIMAGE_HOME)");
  return load_candidates(p, rules);
}

}  // namespace catimage
