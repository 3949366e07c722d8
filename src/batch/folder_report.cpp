#include "catimage/batch/folder_report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <system_error>

#include <spdlog/fmt/fmt.h>

#include "batch/manifest.hpp"
#include "catimage/batch/score_job.hpp"
#include "catimage/batch/sweep.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"

namespace fs = std::filesystem;

namespace catimage {

const char* folder_kind_name(FolderKind kind) {
  switch (kind) {
    case FolderKind::generation: return "generation";
    case FolderKind::sweep: return "sweep";
    case FolderKind::cascade: return "cascade";
  }
  return "?";
}

namespace {

constexpr const char* kCascadeRecords = "cascade.jsonl";
constexpr const char* kCascadePlan = "cascade-plan.jsonl";
constexpr const char* kRoutes = "routes.jsonl";
constexpr const char* kMeasured = "candidates-measured.json";

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool is_shard_suffix(const std::string& s) {  // "KofN"
  const auto of = s.find("of");
  auto digits = [](const std::string& t) {
    return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return of != std::string::npos && digits(s.substr(0, of)) && digits(s.substr(of + 2));
}

// The metric of a score file name: scores-METRIC.jsonl or scores-METRIC-KofN.jsonl; "" for other names.
std::string score_file_metric(const std::string& name) {
  if (name.rfind("scores-", 0) != 0 || !ends_with(name, ".jsonl")) return "";
  std::string m = name.substr(7, name.size() - 7 - 6);
  const auto dash = m.rfind('-');
  if (dash != std::string::npos && is_shard_suffix(m.substr(dash + 1))) m.erase(dash);
  return m;
}

// Typed fields of a record; errors name the record's place and the key.
std::string req_string(const json& j, const char* key, const std::string& loc) {
  if (!j.contains(key)) fail("{}: no \"{}\"", loc, key);
  if (!j[key].is_string()) fail("{}: \"{}\" must be a string, got {}", loc, key, json_type(j[key]));
  return j[key].get<std::string>();
}
std::optional<std::string> opt_string(const json& j, const char* key, const std::string& loc) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return req_string(j, key, loc);
}
std::optional<double> opt_number(const json& j, const char* key, const std::string& loc) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_number()) fail("{}: \"{}\" must be a number, got {}", loc, key, json_type(j[key]));
  return j[key].get<double>();
}
std::optional<bool> opt_bool(const json& j, const char* key, const std::string& loc) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_boolean()) fail("{}: \"{}\" must be true or false, got {}", loc, key, json_type(j[key]));
  return j[key].get<bool>();
}
// {candidate: number}, or null when absent.
json opt_qualities(const json& j, const char* key, const std::string& loc) {
  if (!j.contains(key) || j[key].is_null()) return nullptr;
  if (!j[key].is_object())
    fail("{}: \"{}\" must be an object {{candidate: quality}}, got {}", loc, key, json_type(j[key]));
  for (const auto& [cand, q] : j[key].items())
    if (!q.is_number()) fail("{}: \"{}.{}\" must be a number, got {}", loc, key, cand, json_type(q));
  return j[key];
}

// Each line of a JSONL file as an object, with its "file:line".
template <class F>
void for_each_object(const std::string& path, F&& f) {
  for_each_record_line(read_file(path), [&](const std::string& line, long n) {
    json j = parse_json(line, path, n);
    if (!j.is_object()) fail("{}: a line must be a JSON object, got {}", where(path, n), json_type(j));
    f(j, where(path, n));
  });
}

struct Reader {
  const std::string dir;
  FolderReport& r;
  std::map<std::string, ScoreItem> manifest;                    // file -> its manifest record
  std::map<std::string, std::map<std::string, double>> scores;  // file -> metric -> score

  void note(std::string text) {
    spdlog::warn("{}", text);
    r.notes.push_back(std::move(text));
  }

  void read_manifests() {
    for (auto& it : read_score_items(dir)) manifest.emplace(it.file, std::move(it));
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("manifest", 0) == 0 && ends_with(name, ".jsonl")) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    r.read.insert(r.read.end(), names.begin(), names.end());
  }

  // Every score file of the folder; a score counts when its image is the one the manifest
  // records now (same key). Shard files after the whole one, in name order: the last record wins.
  void read_scores() {
    std::vector<std::pair<std::string, std::string>> files;  // name, metric
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) {
        const std::string name = e.path().filename().string(), m = score_file_metric(name);
        if (!m.empty()) files.emplace_back(name, m);
      }
    std::sort(files.begin(), files.end());
    std::set<std::string> metrics;
    for (const auto& [name, file_metric] : files) {
      std::size_t stale = 0, unknown = 0;
      for (const auto& [file, rec] : read_record_log((fs::path(dir) / name).string())) {
        if (!rec.contains("score") || !rec["score"].is_number()) continue;
        const std::string metric =
            rec.contains("metric") && rec["metric"].is_string() ? rec["metric"].get<std::string>() : file_metric;
        auto m = manifest.find(file);
        if (m == manifest.end()) {
          ++unknown;
          continue;
        }
        const std::string key = m->second.origin.value("key", "");
        if (rec.contains("key") && rec["key"].is_string() && !key.empty() && rec["key"] != key) {
          ++stale;
          continue;
        }
        scores[file][metric] = rec["score"].get<double>();
        metrics.insert(metric);
      }
      r.read.push_back(name);
      if (stale)
        note(fmt::format("{}: {} score(s) of images generated again since left out (score the folder again)", name,
                         stale));
      if (unknown) note(fmt::format("{}: {} score(s) of images no manifest records left out", name, unknown));
    }
    r.metrics.assign(metrics.begin(), metrics.end());
  }

  // The image `file` as its manifest records it.
  ReportImage image(const std::string& file, const std::string& candidate, const std::string& role = "") {
    ReportImage im;
    im.file = file;
    im.candidate = candidate;
    im.role = role;
    std::error_code ec;
    im.on_disk = !file.empty() && fs::is_regular_file(fs::path(dir) / file, ec);
    if (auto m = manifest.find(file); m != manifest.end()) {
      const json& o = m->second.origin;
      if (o.contains("seconds") && o["seconds"].is_number()) im.seconds = o["seconds"].get<double>();
      if (o.contains("seed")) im.seed = o["seed"];
    }
    if (auto s = scores.find(file); s != scores.end()) im.scores = s->second;
    return im;
  }

  std::string id_of(const ScoreItem& it) const { return req_string(it.origin, "id", it.where); }
  std::string candidate_of(const ScoreItem& it) const { return it.origin.value("candidate", ""); }
  std::size_t index_of(const ScoreItem& it) const {
    const json& o = it.origin;
    return o.contains("index") && o["index"].is_number_unsigned() ? o["index"].get<std::size_t>() : SIZE_MAX;
  }

  // The manifest's images grouped by prompt id, in prompt order (index, then id).
  std::vector<std::pair<std::string, std::vector<const ScoreItem*>>> by_id() const {
    std::map<std::string, std::vector<const ScoreItem*>> groups;
    std::map<std::string, std::size_t> index;
    for (const auto& [file, it] : manifest) {
      const std::string id = id_of(it);
      groups[id].push_back(&it);
      auto [at, fresh] = index.emplace(id, index_of(it));
      if (!fresh) at->second = std::min(at->second, index_of(it));
    }
    std::vector<std::pair<std::string, std::vector<const ScoreItem*>>> out(groups.begin(), groups.end());
    std::stable_sort(out.begin(), out.end(),
                     [&](const auto& a, const auto& b) { return index.at(a.first) < index.at(b.first); });
    return out;
  }

  void add_candidate(const std::string& name) {
    if (name.empty()) return;
    for (const auto& c : r.candidates)
      if (c.name == name) return;
    r.candidates.push_back({name, std::nullopt, false, false});
  }

  void set_option_cost(const std::string& name, std::optional<double> cost) {
    if (!cost) return;
    for (auto& c : r.candidates)
      if (c.name == name && !c.cost) c.cost = cost;
  }

  // ---- generation: the images of each prompt id, with the routes when known
  void generation(const std::string& routes_option) {
    std::string routes = routes_option;
    if (routes.empty() && fs::is_regular_file(fs::path(dir) / kRoutes)) routes = (fs::path(dir) / kRoutes).string();
    if (!routes.empty() && !fs::is_regular_file(routes)) fail("--routes {}: no such file", routes);
    struct Route {
      std::string candidate, prompt;
      std::optional<double> cost, margin;
      std::optional<bool> fallback;
      json predicted;
      std::size_t order = 0;
    };
    std::map<std::string, Route> route;
    std::vector<std::string> route_order;
    if (!routes.empty()) {
      for_each_object(routes, [&](const json& j, const std::string& loc) {
        const std::string id = req_string(j, "id", loc);
        Route x{req_string(j, "candidate", loc),
                opt_string(j, "prompt", loc).value_or(""),
                opt_number(j, "cost", loc),
                opt_number(j, "margin", loc),
                opt_bool(j, "fallback", loc),
                opt_qualities(j, "predicted", loc),
                route_order.size()};
        if (route.count(id)) fail("{}: prompt id \"{}\" is routed twice", loc, id);
        route.emplace(id, std::move(x));
        route_order.push_back(id);
        if (route.at(id).predicted.is_object())
          for (const auto& [cand, q] : route.at(id).predicted.items()) add_candidate(cand);
      });
      r.read.push_back(routes_option.empty() ? kRoutes : routes);
    }
    std::map<std::string, std::vector<const ScoreItem*>> images;
    std::vector<std::string> ids;
    for (auto& [id, group] : by_id()) {
      ids.push_back(id);
      images[id] = group;
    }
    // Rows: the routed prompts in the routes' order, then any other id of the manifests.
    std::vector<std::string> order = route_order;
    for (const auto& id : ids)
      if (!route.count(id)) order.push_back(id);
    std::size_t mismatched = 0, unmade = 0;
    for (const auto& id : order) {
      ReportRow row;
      row.id = id;
      row.order = r.rows.size();
      const auto g = images.find(id);
      if (g != images.end()) {
        std::vector<const ScoreItem*> items = g->second;
        std::sort(items.begin(), items.end(), [&](const ScoreItem* a, const ScoreItem* b) {
          return std::make_pair(candidate_of(*a), a->file) < std::make_pair(candidate_of(*b), b->file);
        });
        row.prompt = items.front()->prompt;
        for (const ScoreItem* it : items) {
          add_candidate(candidate_of(*it));
          row.images.push_back(image(it->file, candidate_of(*it)));
        }
      }
      std::set<std::string> cands;
      for (const auto& im : row.images) cands.insert(im.candidate);
      if (auto rt = route.find(id); rt != route.end()) {
        const Route& x = rt->second;
        row.chosen = x.candidate;
        row.cost = x.cost;
        row.predicted = x.predicted;
        if (x.margin) row.details["margin"] = *x.margin;
        if (x.fallback) row.details["fallback"] = *x.fallback;
        add_candidate(x.candidate);
        set_option_cost(x.candidate, x.cost);
        if (row.prompt.empty()) row.prompt = x.prompt;  // a routed prompt without an image yet
        if (row.images.empty())
          ++unmade;
        else if (!cands.count(x.candidate))
          ++mismatched;
      } else if (cands.size() == 1) {
        row.chosen = *cands.begin();
      }
      std::size_t chosen_images = 0;
      for (const auto& im : row.images) chosen_images += im.candidate == row.chosen;
      for (auto& im : row.images) im.kept = chosen_images == 1 && im.candidate == row.chosen;
      r.rows.push_back(std::move(row));
    }
    if (unmade) note(fmt::format("{}: {} routed prompt(s) have no image in the folder yet", routes, unmade));
    if (mismatched)
      note(fmt::format("{}: {} prompt(s) routed to another candidate than their image's (routes of another run?)",
                       routes, mismatched));
    if (fs::is_regular_file(fs::path(dir) / kCascadePlan))
      note(fmt::format("{}: no {} yet: the cascade has not finished (its {} is there); shown as a generation folder",
                       dir, kCascadeRecords, kCascadePlan));
  }

  // ---- sweep: every prompt's row across the sweep's candidates
  void sweep() {
    const std::string cfg = sweep_config_path(dir);
    const CandidateSet cs = load_candidates(cfg);
    r.read.insert(r.read.begin(), "candidates.json");
    r.cost_unit = cs.cost_unit;
    for (const auto& c : cs.candidates) r.candidates.push_back({c.name, c.cost, false, c.cost_estimate});
    if (const fs::path measured = fs::path(dir) / kMeasured; fs::is_regular_file(measured)) {
      const CandidateSet ms = load_candidates(measured.string());
      for (const auto& c : ms.candidates)
        for (auto& rc : r.candidates)
          if (rc.name == c.name) rc = {c.name, c.cost, true, false};
      r.cost_unit = ms.cost_unit;
      r.read.push_back(kMeasured);
    }
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("table-", 0) == 0 && ends_with(name, ".jsonl")) r.read.push_back(name);
    }
    for (const auto& [id, group] : by_id()) {
      ReportRow row;
      row.id = id;
      row.order = r.rows.size();
      row.prompt = group.front()->prompt;
      std::map<std::string, const ScoreItem*> of;
      for (const ScoreItem* it : group) {
        const std::string cand = candidate_of(*it);
        if (cs.index(cand) < 0) fail("{}: candidate \"{}\" is not one of the sweep's ({})", it->where, cand, cfg);
        of[cand] = it;
      }
      for (const auto& c : cs.candidates) {
        auto it = of.find(c.name);
        row.images.push_back(it == of.end() ? image("", c.name) : image(it->second->file, c.name));
      }
      r.rows.push_back(std::move(row));
    }
  }

  // ---- cascade: cascade.jsonl, one record per prompt
  void cascade() {
    const std::string path = (fs::path(dir) / kCascadeRecords).string();
    r.read.insert(r.read.begin(), kCascadeRecords);
    std::vector<std::pair<std::string, double>> observed;  // first file, observed score
    for_each_object(path, [&](const json& j, const std::string& loc) {
      ReportRow row;
      row.id = req_string(j, "id", loc);
      row.prompt = req_string(j, "prompt", loc);
      row.order = r.rows.size();
      const std::string first = opt_string(j, "first", loc).value_or("");
      const std::string first_file = req_string(j, "first_file", loc), kept = req_string(j, "kept_file", loc);
      row.chosen = opt_string(j, "candidate", loc).value_or(first);
      row.cost = opt_number(j, "cost", loc);
      row.escalated = opt_bool(j, "escalated", loc);
      row.predicted = opt_qualities(j, "predicted", loc);
      if (r.first.empty()) r.first = first;
      add_candidate(first);
      if (row.predicted.is_object())
        for (const auto& [cand, q] : row.predicted.items()) add_candidate(cand);
      set_option_cost(row.chosen, row.cost);
      row.images.push_back(image(first_file, first, "first"));
      if (const auto second = opt_string(j, "second_file", loc))
        row.images.push_back(image(*second, row.chosen, "second"));
      std::size_t kept_found = 0;
      for (auto& im : row.images) {
        im.kept = im.file == kept;
        kept_found += im.kept;
      }
      if (!kept_found) fail("{}: \"kept_file\" {} is neither its first_file nor its second_file", loc, kept);
      if (const auto o = opt_number(j, "observed", loc)) {
        row.details["observed"] = *o;
        observed.emplace_back(first_file, *o);
      }
      if (const auto s = opt_number(j, "second_score", loc)) row.details["second_score"] = *s;
      if (j.contains("metrics") && !j["metrics"].is_null()) {
        if (!j["metrics"].is_object())
          fail("{}: \"metrics\" must be an object {{metric: {{observed, predicted, second_score}}}}, got {}", loc,
               json_type(j["metrics"]));
        for (const auto& [m, v] : j["metrics"].items()) {
          if (!v.is_object()) fail("{}: \"metrics.{}\" must be an object, got {}", loc, m, json_type(v));
          const std::string at = fmt::format("{} (metrics.{})", loc, m);
          opt_number(v, "observed", at);
          opt_number(v, "second_score", at);
          opt_qualities(v, "predicted", at);
        }
        row.details["metrics"] = j["metrics"];
      }
      if (const auto b = opt_number(j, "block", loc)) row.details["block"] = *b;
      if (const auto e = opt_bool(j, "explored", loc)) row.details["explored"] = *e;
      if (const auto p = opt_number(j, "propensity", loc)) row.details["propensity"] = *p;
      r.rows.push_back(std::move(row));
    });
    // The cascade's metric: the one whose score files hold exactly its observed scores.
    for (const auto& m : r.metrics) {
      std::size_t same = 0, other = 0;
      for (const auto& [file, o] : observed) {
        auto s = scores.find(file);
        if (s == scores.end() || !s->second.count(m)) continue;
        (s->second.at(m) == o ? same : other) += 1;
      }
      if (same > 0 && other == 0) r.cascade_metric = m;
    }
    if (!observed.empty() && r.cascade_metric.empty())
      note(fmt::format("{}: no score file of the folder holds the observed scores of its first images", path));
  }
};

}  // namespace

FolderReport read_folder_report(const std::string& dir, const FolderReportOptions& o) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail("{}: no such folder", dir);
  if (!fs::is_directory(dir, ec)) fail("{}: not a folder (report reads a generation, sweep or cascade folder)", dir);
  FolderReport r;
  r.dir = dir;
  bool has_manifest = false;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    has_manifest |= name.rfind("manifest", 0) == 0 && ends_with(name, ".jsonl");
  }
  if (fs::is_regular_file(fs::path(dir) / kCascadeRecords))
    r.kind = FolderKind::cascade;
  else if (fs::is_regular_file(sweep_config_path(dir)))
    r.kind = FolderKind::sweep;
  else if (has_manifest)
    r.kind = FolderKind::generation;
  else
    fail(
        "{}: not a generation, sweep or cascade folder: it has no cascade.jsonl (route --generate --cascade), "
        "candidates.json (sweep) or manifest.jsonl / manifest-KofN.jsonl (generate, route --generate)",
        dir);
  if (!o.routes.empty() && r.kind != FolderKind::generation)
    fail("--routes {}: {} is a {} folder; routes belong to a generation folder (route --generate -o FILE)", o.routes,
         dir, folder_kind_name(r.kind));
  Reader rd{dir, r, {}, {}};
  if (has_manifest) rd.read_manifests();
  rd.read_scores();
  switch (r.kind) {
    case FolderKind::generation: rd.generation(o.routes); break;
    case FolderKind::sweep: rd.sweep(); break;
    case FolderKind::cascade: rd.cascade(); break;
  }
  return r;
}

}  // namespace catimage
