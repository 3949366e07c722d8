#include "catimage/batch/score_job.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>

#include "batch/image_key.hpp"
#include "batch/manifest.hpp"
#include "catimage/diffusion/batch_invariance.hpp"
#include "catimage/diffusion/pipeline.hpp"
#include "catimage/io/png_writer.hpp"
#include "catimage/scoring/load_rgb.hpp"
#include "catimage/scoring/metrics.hpp"
#include "catimage/scoring/scorer.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/hash.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/progress.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Whole lines of a JSONL file with their numbers; a partial last line is not a record.
template <class F>
void for_each_line(const std::string& path, F&& f) {
  for_each_record_line(read_file(path), f);
}

const std::string& string_field(const json& j, const char* key, const std::string& loc) {
  if (!j.contains(key)) fail("{}: no \"{}\"", loc, key);
  if (!j[key].is_string()) fail("{}: \"{}\" must be a string, got {}", loc, key, json_type(j[key]));
  return j[key].get_ref<const std::string&>();
}

std::vector<ScoreItem> folder_items(const std::string& dir) {
  std::vector<std::string> manifests;
  std::error_code ec;
  fs::directory_iterator listing(dir, ec);
  if (ec) fail("{}: cannot list the folder: {}", dir, ec.message());
  for (const auto& e : listing) {
    const auto name = e.path().filename().string();
    if (e.is_regular_file(ec) && name.rfind("manifest", 0) == 0 && ends_with(name, ".jsonl"))
      manifests.push_back(e.path().string());
  }
  std::sort(manifests.begin(), manifests.end());
  if (manifests.empty())
    fail("{}: no manifest.jsonl or manifest-KofN.jsonl: not a generate/route --generate output folder", dir);
  std::map<std::string, ScoreItem> by_file;
  for (const auto& m : manifests) {
    std::map<std::string, ScoreItem> last;  // within one manifest the last line for a file wins
    for_each_line(m, [&](const std::string& line, long n) {
      const std::string loc = where(m, n);
      json j = parse_json(line, m, n);
      if (!j.is_object()) fail("{}: a manifest line must be a JSON object", loc);
      ScoreItem it;
      it.file = string_field(j, "file", loc);
      it.prompt = string_field(j, "prompt", loc);
      it.image = (fs::path(dir) / it.file).string();
      it.where = loc;
      it.origin = j;
      const std::string file = it.file;
      last[file] = std::move(it);
    });
    for (auto& [file, it] : last) {
      auto [at, fresh] = by_file.emplace(file, it);
      if (!fresh && at->second.origin.value("key", "") != it.origin.value("key", ""))
        fail("{} and {}: two manifests record different images as {}; run `catimage merge {}` first", at->second.where,
             it.where, file, dir);
    }
  }
  std::vector<ScoreItem> out;
  for (auto& [file, it] : by_file) out.push_back(std::move(it));
  return out;
}

std::vector<ScoreItem> list_items(const std::string& path) {
  std::vector<ScoreItem> out;
  std::map<std::string, std::string> seen;
  const fs::path base = fs::path(path).parent_path();
  for_each_line(path, [&](const std::string& line, long n) {
    const std::string loc = where(path, n);
    json j = parse_json(line, path, n);
    if (!j.is_object()) fail("{}: each line must be a JSON object {{\"image\": ..., \"prompt\": ...}}", loc);
    ScoreItem it;
    it.file = string_field(j, "image", loc);
    it.prompt = string_field(j, "prompt", loc);
    if (it.file.empty()) fail("{}: \"image\" is empty", loc);
    it.image = fs::path(it.file).is_absolute() ? it.file : (base / it.file).string();
    it.where = loc;
    it.origin = j;
    auto [at, fresh] = seen.emplace(it.file, loc);
    if (!fresh) fail("{}: image {} is listed twice (first at {})", loc, it.file, at->second);
    out.push_back(std::move(it));
  });
  return out;
}

}  // namespace

std::vector<ScoreItem> read_score_items(const std::string& input) {
  std::error_code ec;
  const auto st = fs::status(input, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) fail("{}: cannot be read: {}", input, ec.message());
  if (fs::is_directory(st)) return folder_items(input);
  if (!fs::is_regular_file(st)) fail("{}: no such file or folder", input);
  if (!ends_with(input, ".jsonl"))
    fail("{}: score reads an output folder or a .jsonl list of {{image, prompt}}", input);
  return list_items(input);
}

std::string folder_score_file(const std::string& dir, const std::string& metric) {
  return (fs::path(dir) / ("scores-" + metric + ".jsonl")).string();
}

std::string default_score_file(const std::string& input, const std::string& metric) {
  std::error_code ec;
  if (fs::is_directory(input, ec)) return folder_score_file(input, metric);
  return input.substr(0, input.size() - 6) + ".scores-" + metric + ".jsonl";
}

std::vector<ScoreTarget> pair_metric_scorers(const std::vector<std::string>& metrics,
                                             const std::vector<std::string>& scorers) {
  if (metrics.empty()) fail("--metric: no metric (valid: {})", fmt::join(score_metric_names(), ", "));
  std::vector<ScoreTarget> out;
  for (const auto& m : metrics) {
    parse_score_metric(m);
    for (const auto& t : out)
      if (t.metric == m) fail("--metric: {} is listed twice", m);
    out.push_back({m, "", ""});
  }
  // METRIC=DIR: the part before '=' names a metric of the registry (a folder may hold '=' otherwise).
  auto named = [](const std::string& s) -> std::pair<std::string, std::string> {
    const auto eq = s.find('=');
    if (eq == std::string::npos) return {"", s};
    for (const auto& n : score_metric_names())
      if (s.compare(0, eq, n) == 0 && eq == n.size()) return {n, s.substr(eq + 1)};
    return {"", s};
  };
  std::size_t n_named = 0;
  for (const auto& s : scorers) n_named += !named(s).first.empty();
  if (n_named == 0) {
    if (scorers.size() != metrics.size())
      fail(
          "--scorer: {} scorer folders for {} metrics ({}); give one --scorer per metric in their order, or each as "
          "METRIC=DIR",
          scorers.size(), metrics.size(), fmt::join(metrics, ", "));
    for (std::size_t i = 0; i < out.size(); ++i) out[i].scorer = scorers[i];
    return out;
  }
  if (n_named != scorers.size())
    fail("--scorer: give every scorer as METRIC=DIR, or none (then one per metric, in the order of --metric)");
  for (const auto& s : scorers) {
    const auto [metric, dir] = named(s);
    auto it = std::find_if(out.begin(), out.end(), [&, m = metric](const ScoreTarget& t) { return t.metric == m; });
    if (it == out.end()) fail("--scorer {}: {} is not one of --metric ({})", s, metric, fmt::join(metrics, ", "));
    if (!it->scorer.empty()) fail("--scorer: two folders for {}", metric);
    if (dir.empty()) fail("--scorer {}: no folder after '='", s);
    it->scorer = dir;
  }
  for (const auto& t : out)
    if (t.scorer.empty()) fail("--scorer: no folder for {} (give {}=DIR)", t.metric, t.metric);
  return out;
}

ScoreJobReport run_score_job(const std::vector<ScoreItem>& items, const ScoreJobOptions& o) {
  if (o.batch < 1) fail("--batch must be at least 1");
  if (o.targets.empty()) fail("score: no metric to score");
  const std::size_t T = o.targets.size();
  std::vector<ScoreMetric> metric(T);
  for (std::size_t t = 0; t < T; ++t) {
    metric[t] = parse_score_metric(o.targets[t].metric);
    for (std::size_t u = 0; u < t; ++u) {
      if (o.targets[u].metric == o.targets[t].metric) fail("score: metric {} is listed twice", o.targets[t].metric);
      if (o.targets[u].output == o.targets[t].output)
        fail("score: {} and {} would both write {}", o.targets[u].metric, o.targets[t].metric, o.targets[t].output);
    }
  }
  ScoreJobReport rep;
  rep.total = items.size();
  FolderIdentity identity;
  std::vector<std::string> scorer_id(T);
  for (std::size_t t = 0; t < T; ++t) scorer_id[t] = fnv1a64_hex(identity.of(o.targets[t].scorer));
  // Every image is read before any work: a damaged PNG (a chunk's CRC, a torn end) is never scored.
  std::vector<std::string> image_hash;
  std::vector<std::string> damaged;
  for (const auto& it : items) {
    std::error_code ec;
    if (!fs::is_regular_file(it.image, ec))
      fail("{}: image {} {}", it.where, it.image, ec ? "cannot be read: " + ec.message() : "does not exist");
    const std::string bytes = read_file(it.image);
    if (bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0)
      if (const PngInfo png = inspect_png(bytes); !png.complete)
        damaged.push_back(fmt::format("{}: image {} is a damaged PNG: {}", it.where, it.image, png.problem));
    image_hash.push_back(fnv1a64_hex(bytes));
  }
  if (!damaged.empty())
    fail(
        "{}{}\nnothing was scored; make the damaged images again (a generate run with the same options remakes "
        "them) or leave them out",
        fmt::join(damaged.begin(), damaged.begin() + std::min<std::size_t>(damaged.size(), 10), "\n"),
        damaged.size() > 10 ? fmt::format("\n... and {} more damaged images", damaged.size() - 10) : "");

  // Per metric, what is already scored with the same image bytes, prompt, metric and scorer is kept.
  std::vector<std::unique_ptr<Manifest>> logs;
  std::vector<std::vector<char>> needs(T, std::vector<char>(items.size(), 0));
  std::vector<char> any(items.size(), 0);
  for (std::size_t t = 0; t < T; ++t) {
    const ScoreTarget& target = o.targets[t];
    logs.push_back(std::make_unique<Manifest>(target.output));
    ScoreTargetReport tr;
    tr.metric = target.metric;
    tr.output = target.output;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const json* r = logs[t]->record(items[i].file);
      if (r && r->value("image_hash", "") == image_hash[i] && r->value("prompt", "") == items[i].prompt &&
          r->value("metric", "") == target.metric && r->value("scorer_id", "") == scorer_id[t]) {
        ++tr.reused;
        continue;
      }
      needs[t][i] = any[i] = 1;
    }
    spdlog::info("{} images: {} already scored in {}, {} to score with {} ({})", items.size(), tr.reused, target.output,
                 items.size() - tr.reused, target.scorer, target.metric);
    rep.targets.push_back(std::move(tr));
  }
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < items.size(); ++i)
    if (any[i]) todo.push_back(i);
  if (todo.empty()) return rep;

  torch::NoGradGuard ng;
  const torch::Device device = resolve_device(o.device);
  std::vector<std::unique_ptr<Scorer>> scorers(T);
  for (std::size_t t = 0; t < T; ++t)
    if (rep.targets[t].reused < items.size()) scorers[t] = load_scorer(o.targets[t].scorer, metric[t], device);
  // On the CPU each image is scored alone, as the pipelines generate (diffusion/batch_invariance):
  // a batched forward pass sums in another order, and a score would depend on which images
  // shared its batch (a resumed or sharded run scores other batches).
  const bool alone = runs_requests_alone(device);
  auto score = [&](Scorer& scorer, const std::vector<torch::Tensor>& images, const std::vector<std::string>& prompts) {
    if (!alone || images.size() < 2) return scorer.score(images, prompts);
    PairScores all;
    for (std::size_t i = 0; i < images.size(); ++i) {
      const PairScores one = scorer.score({images[i]}, {prompts[i]});
      all.scores.push_back(one.scores[0]);
      all.truncated.push_back(one.truncated[0]);
      all.truncated_count += one.truncated_count;
    }
    return all;
  };
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); };
  Progress progress("score", todo.size(), "img");
  const auto start = Clock::now();
  for (std::size_t at = 0; at < todo.size(); at += o.batch) {
    const std::size_t end = std::min(todo.size(), at + static_cast<std::size_t>(o.batch));
    const auto read_start = Clock::now();
    std::vector<torch::Tensor> images;  // each image read once for every metric
    for (std::size_t k = at; k < end; ++k) {
      try {
        images.push_back(load_rgb(items[todo[k]].image));
      } catch (const Error& e) {
        fail("{}: {}", items[todo[k]].where, e.what());
      }
    }
    const double read_seconds = since(read_start);
    for (std::size_t t = 0; t < T; ++t) {
      std::vector<std::size_t> mine;
      std::vector<torch::Tensor> im;
      std::vector<std::string> prompts;
      for (std::size_t k = at; k < end; ++k)
        if (needs[t][todo[k]]) {
          mine.push_back(todo[k]);
          im.push_back(images[k - at]);
          prompts.push_back(items[todo[k]].prompt);
        }
      if (mine.empty()) continue;
      const auto score_start = Clock::now();
      const PairScores s = score(*scorers[t], im, prompts);
      ScoreTargetReport& tr = rep.targets[t];
      tr.seconds += read_seconds + since(score_start);
      const bool reads_prompt = score_metric_info(metric[t]).uses_prompt;
      for (std::size_t j = 0; j < mine.size(); ++j) {
        const ScoreItem& it = items[mine[j]];
        json r = {{"file", it.file},
                  {"prompt", it.prompt},
                  {"metric", o.targets[t].metric},
                  {"score", s.scores[j]},
                  {"image_hash", image_hash[mine[j]]},
                  {"scorer", o.targets[t].scorer},
                  {"scorer_id", scorer_id[t]}};
        if (reads_prompt) r["truncated"] = static_cast<bool>(s.truncated[j]);
        for (const char* k : {"id", "candidate", "seed", "seconds", "key"})
          if (it.origin.contains(k)) r[k] = it.origin[k];
        logs[t]->append(r);
      }
      tr.scored += mine.size();
      tr.truncated += s.truncated_count;
    }
    progress.advance(end - at);
  }
  progress.finish();
  for (auto& log : logs) log->compact();
  rep.seconds = since(start);
  return rep;
}

}  // namespace catimage
