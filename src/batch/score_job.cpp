#include "catimage/batch/score_job.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "batch/image_key.hpp"
#include "batch/manifest.hpp"
#include "catimage/diffusion/batch_invariance.hpp"
#include "catimage/diffusion/pipeline.hpp"
#include "catimage/io/png_writer.hpp"
#include "catimage/scoring/clip_scorer.hpp"
#include "catimage/scoring/load_rgb.hpp"
#include "catimage/scoring/metrics.hpp"
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

ScoreJobReport run_score_job(const std::vector<ScoreItem>& items, const ScoreJobOptions& o) {
  if (o.batch < 1) fail("--batch must be at least 1");
  const ScoreMetric metric = parse_score_metric(o.metric);
  ScoreJobReport rep;
  rep.total = items.size();
  FolderIdentity identity;
  const std::string scorer_id = fnv1a64_hex(identity.of(o.scorer));
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
  Manifest log(o.output);

  // What is already scored, with the same image bytes, prompt, metric and scorer, is kept.
  std::vector<const ScoreItem*> todo;
  std::vector<std::string> hashes;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const ScoreItem& it = items[i];
    const std::string& hash = image_hash[i];
    const json* r = log.record(it.file);
    if (r && r->value("image_hash", "") == hash && r->value("prompt", "") == it.prompt &&
        r->value("metric", "") == o.metric && r->value("scorer_id", "") == scorer_id) {
      ++rep.reused;
      continue;
    }
    todo.push_back(&it);
    hashes.push_back(hash);
  }
  spdlog::info("{} images: {} already scored in {}, {} to score with {} ({})", items.size(), rep.reused, o.output,
               todo.size(), o.scorer, o.metric);
  if (todo.empty()) return rep;

  torch::NoGradGuard ng;
  const torch::Device device = resolve_device(o.device);
  auto scorer = ClipScorer::load(o.scorer, metric, device);
  // On the CPU each image is scored alone, as the pipelines generate (diffusion/batch_invariance):
  // a batched forward pass sums in another order, and a score would depend on which images
  // shared its batch (a resumed or sharded run scores other batches).
  const bool alone = runs_requests_alone(device);
  auto score = [&](const std::vector<torch::Tensor>& images, const std::vector<std::string>& prompts) {
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
  Progress progress("score", todo.size(), "img");
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t at = 0; at < todo.size(); at += o.batch) {
    const std::size_t end = std::min(todo.size(), at + static_cast<std::size_t>(o.batch));
    std::vector<torch::Tensor> images;
    std::vector<std::string> prompts;
    for (std::size_t i = at; i < end; ++i) {
      try {
        images.push_back(load_rgb(todo[i]->image));
      } catch (const Error& e) {
        fail("{}: {}", todo[i]->where, e.what());
      }
      prompts.push_back(todo[i]->prompt);
    }
    const PairScores s = score(images, prompts);
    for (std::size_t i = at; i < end; ++i) {
      const ScoreItem& it = *todo[i];
      json r = {{"file", it.file},
                {"prompt", it.prompt},
                {"metric", o.metric},
                {"score", s.scores[i - at]},
                {"truncated", static_cast<bool>(s.truncated[i - at])},
                {"image_hash", hashes[i]},
                {"scorer", o.scorer},
                {"scorer_id", scorer_id}};
      for (const char* k : {"id", "candidate", "seed", "seconds", "key"})
        if (it.origin.contains(k)) r[k] = it.origin[k];
      log.append(r);
    }
    rep.scored += end - at;
    rep.truncated += s.truncated_count;
    progress.advance(end - at);
  }
  progress.finish();
  log.compact();
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return rep;
}

}  // namespace catimage
