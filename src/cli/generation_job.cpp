#include "catimage/cli/generation_job.hpp"

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "catimage/diffusion/pipeline.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/png_writer.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/progress.hpp"
#include "catimage/util/strings.hpp"

namespace fs = std::filesystem;

namespace catimage::cli {

void parse_shard(const std::string& text, int& shard, int& shards) {
  auto slash = text.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument("");
    std::size_t a = 0, b = 0;
    shard = std::stoi(text.substr(0, slash), &a);
    shards = std::stoi(text.substr(slash + 1), &b);
    if (a != slash || b != text.size() - slash - 1) throw std::invalid_argument("");
  } catch (const std::exception&) {
    fail("--shard \"{}\": expected K/N, e.g. 0/4 (Slurm: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)", text);
  }
  if (shards < 1 || shard < 0 || shard >= shards) fail("--shard {}: need 0 <= K < N", text);
}

std::vector<GenerationItem> generation_items(const PromptFile& pf, const std::vector<int>& candidate) {
  std::vector<GenerationItem> items;
  for (std::size_t i = 0; i < pf.prompts.size(); ++i)
    items.push_back({i, pf.prompts[i].id, pf.prompts[i].prompt, where(pf.source, pf.prompts[i].line), candidate.at(i)});
  return items;
}

namespace {

struct Settings {
  int steps, width, height;  // width/height 0: the model's default
  double guidance;
  std::string scheduler;
};

Settings settings_for(const Candidate& c, const GenerationJobOptions& o) {
  Settings s;
  s.steps = o.steps.value_or(c.steps.value_or(50));
  s.width = o.width.value_or(c.width.value_or(0));
  s.height = o.height.value_or(c.height.value_or(0));
  s.guidance = o.guidance.value_or(c.guidance.value_or(7.5));
  s.scheduler = c.scheduler.value_or("");
  return s;
}

std::string file_stem(const std::string& id) {
  std::string s;
  for (char ch : id) s += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.') ? ch : '_';
  if (s.empty() || s[0] == '.') s = "p" + s;
  return s.substr(0, 80);
}

// Fails before any work if a candidate cannot be generated with.
void check_candidate(const CandidateSet& cs, const Candidate& c) {
  if (c.family == "amused" || c.family == "other")
    fail("{}: candidate \"{}\" has family \"{}\", which this runtime cannot run (it runs sd15, sd21 and sdxl "
         "diffusers pipelines)", cs.source, c.name, c.family);
  if (!c.weights)
    fail("{}: candidate \"{}\" has no \"weights\": add the path of its diffusers pipeline folder (model_index.json, "
         "text_encoder/, tokenizer/, unet/, vae/, scheduler/{}) to the config", cs.source, c.name,
         c.family == "sdxl" ? ", text_encoder_2/, tokenizer_2/" : "");
  auto f = inspect_pipeline_folder(*c.weights, c.vae.value_or(""));
  if ((c.family == "sdxl") != f.sdxl)
    fail("{}: candidate \"{}\" has family \"{}\" but {} holds a {}", cs.source, c.name, c.family, *c.weights,
         f.pipeline_class);
  if (c.scheduler && scheduler_class_of(*c.scheduler).empty())
    fail("{}: candidate \"{}\": scheduler \"{}\" is not implemented by this runtime", cs.source, c.name, *c.scheduler);
}

bool is_oom(const std::exception& e) {
  std::string m = e.what();
  return m.find("out of memory") != std::string::npos || m.find("CUDA error: out of memory") != std::string::npos;
}

}  // namespace

std::size_t run_generation(const CandidateSet& cs, const std::vector<GenerationItem>& all, const GenerationJobOptions& o) {
  if (o.batch < 1) fail("--batch must be at least 1");
  int shard = 0, shards = 1;
  if (!o.shard.empty()) parse_shard(o.shard, shard, shards);
  std::vector<GenerationItem> items;
  for (const auto& it : all)
    if (static_cast<int>(it.index % shards) == shard) items.push_back(it);
  // file names must be distinct
  std::map<std::string, const GenerationItem*> names;
  for (const auto& it : all) {
    auto stem = file_stem(it.id);
    auto [pos, fresh] = names.emplace(stem, &it);
    if (!fresh)
      fail("{} and {} both map to the image name {}.png; give the prompts distinct ids", pos->second->where, it.where, stem);
  }
  std::set<int> used;
  for (const auto& it : items) used.insert(it.candidate);
  for (int k : used) check_candidate(cs, cs.candidates[k]);

  fs::create_directories(o.out_dir);
  const std::string manifest = (fs::path(o.out_dir) / (shards == 1 ? std::string("manifest.jsonl")
                                                                   : fmt::format("manifest-{}of{}.jsonl", shard, shards)))
                                   .string();
  // resume: an image counts as done when its manifest line and its PNG both exist
  std::set<std::string> done;
  if (fs::is_regular_file(manifest)) {
    std::ifstream in(manifest);
    std::string line;
    long n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty()) continue;
      json j;
      try {
        j = json::parse(line);
      } catch (const std::exception&) {
        spdlog::warn("{}: unreadable manifest line (an interrupted write?); that image is made again", where(manifest, n));
        continue;
      }
      if (j.contains("file") && j["file"].is_string() && fs::is_regular_file(fs::path(o.out_dir) / j["file"].get<std::string>()))
        done.insert(j["file"].get<std::string>());
    }
  }
  std::ofstream log(manifest, std::ios::app);
  if (!log) fail("cannot append to {}", manifest);

  std::size_t written = 0, skipped = 0;
  for (int k : used) {
    const auto& cand = cs.candidates[k];
    const Settings s = settings_for(cand, o);
    std::vector<const GenerationItem*> todo;
    for (const auto& it : items)
      if (it.candidate == k) {
        if (done.count(file_stem(it.id) + ".png")) {
          ++skipped;
        } else {
          todo.push_back(&it);
        }
      }
    if (todo.empty()) continue;
    PipelineOptions po;
    po.folder = *cand.weights;
    po.vae = cand.vae.value_or("");
    po.scheduler = s.scheduler;
    po.device = o.device;
    po.dtype = o.dtype;
    po.channels_last = o.channels_last;
    auto t0 = std::chrono::steady_clock::now();
    DiffusionPipeline pipe(po);
    spdlog::info("{}: {} images with {} ({:.1f} s to load)", cand.name, todo.size(), pipe.describe(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    GenerationSettings gs{s.steps, s.width, s.height, s.guidance};
    if (gs.width <= 0) gs.width = pipe.default_size();
    if (gs.height <= 0) gs.height = pipe.default_size();
    Progress bar(cand.name, todo.size(), "img");
    int batch = o.batch;
    for (std::size_t at = 0; at < todo.size();) {
      const std::size_t n = std::min<std::size_t>(batch, todo.size() - at);
      std::vector<ImageRequest> req;
      for (std::size_t b = 0; b < n; ++b)
        req.push_back({todo[at + b]->prompt, o.negative_prompt, o.seed + todo[at + b]->index});
      torch::Tensor images;
      auto t1 = std::chrono::steady_clock::now();
      try {
        images = pipe.generate(req, gs);
      } catch (const std::exception& e) {
        if (!is_oom(e)) throw;
        if (batch == 1)
          fail("out of GPU memory generating one {}x{} image with {} ({} {}); try --dtype fp16, a smaller size, or "
               "another device", gs.width, gs.height, cand.name, pipe.device().str(), dtype_label(pipe.dtype()));
        batch = std::max(1, batch / 2);
        spdlog::warn("out of GPU memory at batch {}; retrying with batch {}", n, batch);
        continue;
      }
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() / n;
      for (std::size_t b = 0; b < n; ++b) {
        const auto& it = *todo[at + b];
        const std::string file = file_stem(it.id) + ".png";
        std::string params = it.prompt;
        if (!o.negative_prompt.empty()) params += "\nNegative prompt: " + o.negative_prompt;
        params += fmt::format("\nSteps: {}, Sampler: {}, CFG scale: {}, Seed: {}, Size: {}x{}, Model: {}, Version: catimage 0.1.0",
                              gs.steps, pipe.sampler_label(), gs.guidance, req[b].seed, gs.width, gs.height, cand.name);
        auto img = images[b].contiguous();
        write_png((fs::path(o.out_dir) / file).string(), img.data_ptr<std::uint8_t>(), gs.width, gs.height,
                  {{"parameters", params}, {"Software", "catimage 0.1.0"}});
        json j = {{"file", file},          {"id", it.id},           {"index", it.index},
                  {"prompt", it.prompt},   {"negative_prompt", o.negative_prompt},
                  {"candidate", cand.name}, {"seed", req[b].seed},   {"steps", gs.steps},
                  {"sampler", pipe.sampler_label()}, {"scheduler", pipe.scheduler().class_name()},
                  {"guidance", gs.guidance}, {"width", gs.width},     {"height", gs.height},
                  {"device", pipe.device().str()}, {"dtype", dtype_label(pipe.dtype())},
                  {"seconds", secs}};
        log << j.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
        log.flush();
        ++written;
      }
      bar.advance(n);
      at += n;
    }
    bar.finish();
  }
  spdlog::info("wrote {} images to {} ({} already done, skipped); manifest {}", written, o.out_dir, skipped, manifest);
  return written;
}

}  // namespace catimage::cli
