#include "catimage/batch/generation_job.hpp"

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include "batch/image_key.hpp"
#include "batch/image_name.hpp"
#include "batch/job_lock.hpp"
#include "batch/job_plan.hpp"
#include "batch/manifest.hpp"
#include "batch/png_check.hpp"
#include "catimage/diffusion/device.hpp"
#include "catimage/diffusion/image_pipeline.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/io/png_writer.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/hash.hpp"
#include "catimage/util/progress.hpp"
#include "catimage/util/strings.hpp"
#include "catimage/util/version.hpp"

namespace fs = std::filesystem;

namespace catimage {

std::uint64_t image_seed(const PromptItem& p, std::uint64_t base) {
  if (p.seed) return *p.seed;
  const bool numeric = !p.id.empty() && p.id.size() <= 18 && p.id.find_first_not_of("0123456789") == std::string::npos;
  return base + (numeric ? std::stoull(p.id) : fnv1a64(p.id));
}

std::vector<GenerationItem> generation_items(const PromptFile& pf, const std::vector<int>& candidate,
                                             std::uint64_t base_seed) {
  std::vector<GenerationItem> items;
  for (std::size_t i = 0; i < pf.prompts.size(); ++i) {
    const auto& p = pf.prompts[i];
    items.push_back({i, p.id, p.prompt, where(pf.source, p.line), image_seed(p, base_seed), candidate.at(i)});
  }
  return items;
}

void validate_generation_options(const GenerationJobOptions& o) {
  if (o.batch < 1) fail("--batch must be at least 1, got {}", o.batch);
  if (o.out_dir.empty()) fail("--out must not be empty");
  check_overrides(o);
}

GenerationPlan check_generatable(const CandidateSet& cs, const Candidate& c, const GenerationJobOptions& o) {
  GenerationPlan p = plan(c, o, cs.source);
  if (!p.runs()) fail("{}", p.reason);
  return p;
}

namespace {

// The text chunk of a PNG, in the usual "prompt / Negative prompt: / Steps, Sampler, ..." form;
// the sampler as A1111 (1.9 and later) writes it: "Sampler: DPM++ 2M, Schedule type: Karras"
// (no Schedule type where A1111 has none for what ran, e.g. LCM's own timesteps); the LoRAs as
// `Lora: "NAME:SCALE, ..."` (NAME: the file's stem).
std::string png_parameters(const GenerationItem& it, const GenerationJobOptions& o, const GenerationSettings& gs,
                           const ImagePipeline& pipe, const std::string& model,
                           const std::vector<LoraFileOption>& loras) {
  std::string params = it.prompt;
  if (!o.negative_prompt.empty()) params += "\nNegative prompt: " + o.negative_prompt;
  const std::string schedule = pipe.schedule_label();
  params += fmt::format("\nSteps: {}, Sampler: {}{}, CFG scale: {}, Seed: {}, Size: {}x{}, Model: {}", gs.steps,
                        pipe.sampler_label(), schedule.empty() ? "" : ", Schedule type: " + schedule, gs.guidance,
                        it.seed, gs.width, gs.height, model);
  if (!loras.empty()) {
    std::vector<std::string> named;
    for (const auto& l : loras) named.push_back(fmt::format("{}:{}", fs::path(l.file).stem().string(), l.scale));
    params += fmt::format(", Lora: \"{}\"", join(named, ", "));
  }
  return params + fmt::format(", Version: {}", kVersionString);
}

struct Planned {
  const GenerationItem* item;
  std::string file, key;
};

class Job {
 public:
  // `plans`: each candidate's GenerationPlan (check_generatable), by its index in `cs`.
  Job(const CandidateSet& cs, const GenerationJobOptions& o, std::map<int, GenerationPlan> plans,
      const PipelineFactory& pipelines)
      : cs_(cs), o_(o), plans_(std::move(plans)), pipelines_(pipelines), manifest_(o.out_dir, o.shard) {}

  // The image's file and key; whether the manifest and the PNG already hold exactly it.
  Planned place(const GenerationItem& it, bool& done) {
    const Candidate& c = cs_.candidates[it.candidate];
    const GenerationPlan& s = plans_.at(it.candidate);
    ImageIdentity id{it.prompt,
                     o_.negative_prompt,
                     c.name,
                     c.family,
                     weights_identity(s.pipeline),
                     ids_.of(s.pipeline.vae),
                     s.pipeline.scheduler,
                     it.seed,
                     s.width,
                     s.height,
                     s.steps,
                     s.guidance,
                     s.dtype};
    for (const auto& l : s.pipeline.loras) id.loras.emplace_back(ids_.of(l.file), l.scale);
    Planned p{&it, item_file(it, cs_, o_), id.key()};
    const json* r = manifest_.record(p.file);
    done = false;
    if (r && r->value("key", "") == p.key && r->contains("bytes") && (*r)["bytes"].is_number_unsigned()) {
      // The manifest vouches for this image: trust it only if the PNG is still exactly it.
      const std::string path = (fs::path(o_.out_dir) / p.file).string();
      const std::string problem = png_problem(path, p.key, (*r)["bytes"].get<std::uintmax_t>());
      done = problem.empty();
      if (!done) spdlog::warn("{}: {}; made again", path, problem);
    }
    return p;
  }

  // Generates `todo` with candidate k's pipeline, in batches (halved on out-of-memory).
  void generate_with(int k, const std::vector<Planned>& todo, Progress& bar) {
    const Candidate& cand = cs_.candidates[k];
    const GenerationPlan& s = plans_.at(k);
    auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<ImagePipeline> pipe = pipelines_.make(s);
    spdlog::info("{}: {} images with {} ({:.1f} s to load)", cand.name, todo.size(), pipe->describe(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    GenerationSettings gs{s.steps, s.width, s.height, s.guidance};
    if (gs.width <= 0) gs.width = pipe->default_size();
    if (gs.height <= 0) gs.height = pipe->default_size();
    bar.set_postfix(cand.name);
    int batch = o_.batch;
    for (std::size_t at = 0; at < todo.size();) {
      const std::size_t n = std::min<std::size_t>(batch, todo.size() - at);
      std::vector<ImageRequest> req;
      for (std::size_t b = 0; b < n; ++b)
        req.push_back({todo[at + b].item->prompt, o_.negative_prompt, todo[at + b].item->seed});
      torch::Tensor images;
      auto t1 = std::chrono::steady_clock::now();
      try {
        images = pipe->generate(req, gs);
      } catch (const std::exception& e) {
        if (!is_out_of_memory(e)) throw;
        images = torch::Tensor();
        release_cached_memory(pipe->device());  // what the failed batch held, for cuDNN/cuBLAS too
        if (n == 1)
          fail(
              "out of GPU memory generating one {}x{} image with {} ({} {}); try --dtype fp16, a smaller size, or "
              "another device",
              gs.width, gs.height, cand.name, pipe->device().str(), dtype_label(pipe->dtype()));
        // half of what ran out (rounded up), not of --batch: the last images may be fewer than --batch
        batch = static_cast<int>((n + 1) / 2);
        spdlog::warn("out of GPU memory at batch {}; retrying with batch {}", n, batch);
        continue;
      }
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() / n;
      for (std::size_t b = 0; b < n; ++b) write_image(todo[at + b], images[b], gs, *pipe, cand.name, s, secs);
      bar.advance(n);
      at += n;
    }
  }

  Manifest& manifest() { return manifest_; }
  std::size_t written() const { return written_; }

 private:
  void write_image(const Planned& p, const torch::Tensor& image, const GenerationSettings& gs, ImagePipeline& pipe,
                   const std::string& candidate, const GenerationPlan& plan, double secs) {
    const GenerationItem& it = *p.item;
    auto img = image.contiguous();
    const std::string png =
        encode_png(img.data_ptr<std::uint8_t>(), gs.width, gs.height,
                   {{kImageKeyChunk, p.key},
                    {"parameters", png_parameters(it, o_, gs, pipe, candidate, plan.pipeline.loras)},
                    {"Software", kVersionString}});
    write_file_atomic((fs::path(o_.out_dir) / p.file).string(), png);
    json record = {{"file", p.file},
                   {"key", p.key},
                   {"bytes", png.size()},
                   {"id", it.id},
                   {"index", it.index},
                   {"prompt", it.prompt},
                   {"negative_prompt", o_.negative_prompt},
                   {"candidate", candidate},
                   {"seed", it.seed},
                   {"steps", gs.steps},
                   {"sampler", pipe.sampler_label()},
                   {"schedule", pipe.schedule_label()},
                   {"scheduler", pipe.scheduler_class()},
                   {"guidance", gs.guidance},
                   {"width", gs.width},
                   {"height", gs.height},
                   {"device", pipe.device().str()},
                   {"dtype", dtype_label(pipe.dtype())},
                   {"seconds", secs}};
    for (const auto& l : plan.pipeline.loras) record["lora"].push_back({{"weights", l.file}, {"scale", l.scale}});
    manifest_.append(record);
    ++written_;
  }

  const CandidateSet& cs_;
  const GenerationJobOptions& o_;
  const std::map<int, GenerationPlan> plans_;
  const PipelineFactory& pipelines_;
  Manifest manifest_;
  FolderIdentity ids_;
  std::size_t written_ = 0;

  // The model's files; a single file's also its configs (the pipeline they describe is part of the image).
  std::string weights_identity(const PipelineOptions& o) {
    return o.config.empty() ? ids_.of(o.folder) : ids_.of(o.folder) + "+" + ids_.of(o.config);
  }
};

// Fails naming both lines when two prompts' ids are the same or map to the same image file.
void check_distinct_names(const std::vector<GenerationItem>& all, const CandidateSet& cs,
                          const GenerationJobOptions& o) {
  std::map<std::string, const GenerationItem*> names;
  for (const auto& it : all) {
    auto file = item_file(it, cs, o);
    auto [pos, fresh] = names.emplace(file, &it);
    if (!fresh)
      fail("{} and {} both map to the image name {} (ids \"{}\" and \"{}\"); give the prompts distinct ids",
           pos->second->where, it.where, file, pos->second->id, it.id);
  }
}

}  // namespace

std::string item_file(const GenerationItem& it, const CandidateSet& cs, const GenerationJobOptions& o) {
  const std::string name = image_stem(it.id) + ".png";
  return o.per_candidate_folders ? image_stem(cs.candidates.at(it.candidate).name) + "/" + name : name;
}

void create_output_folder(const std::string& dir) {
  std::error_code ec;
  const auto st = fs::status(dir, ec);
  if (!ec && fs::exists(st) && !fs::is_directory(st)) fail("--out {}: exists and is not a folder", dir);
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec))
    fail("--out {}: cannot create the output folder: {}", dir, ec ? ec.message() : "not a folder");
}

namespace {

// check_generation's checks; the plans of the candidates this shard's items use.
std::map<int, GenerationPlan> checked_plans(const CandidateSet& cs, const std::vector<GenerationItem>& all,
                                            const GenerationJobOptions& o) {
  validate_generation_options(o);
  check_distinct_names(all, cs, o);
  std::map<int, GenerationPlan> plans;
  for (const auto& it : all)
    if (o.shard.owns(it.index) && !plans.count(it.candidate))
      plans.emplace(it.candidate, check_generatable(cs, cs.candidates.at(it.candidate), o));
  return plans;
}

}  // namespace

void check_generation(const CandidateSet& cs, const std::vector<GenerationItem>& all, const GenerationJobOptions& o) {
  checked_plans(cs, all, o);
}

std::size_t run_generation(const CandidateSet& cs, const std::vector<GenerationItem>& all,
                           const GenerationJobOptions& o, const PipelineFactory& pipelines) {
  std::map<int, GenerationPlan> plans = checked_plans(cs, all, o);
  std::vector<const GenerationItem*> items;
  for (const auto& it : all)
    if (o.shard.owns(it.index)) items.push_back(&it);

  create_output_folder(o.out_dir);
  const JobLock lock(o.out_dir, o.shard);       // refuses to start while a job of another layout writes the folder
  Job job(cs, o, std::move(plans), pipelines);  // holds this shard's lock from here on
  // The temp files a killed run of this shard left beside its own files (its manifest, job
  // file and images: no other live process writes them while this one holds the shard's lock);
  // other shards' in-flight temp files are not touched.
  std::set<std::string> own = {fs::path(job.manifest().path()).filename().string(), JobPlan::file_name(o.shard)};
  for (const auto* it : items) own.insert(item_file(*it, cs, o));
  remove_stale_temps(o.out_dir, own);
  std::map<int, std::vector<Planned>> todo;
  std::size_t skipped = 0, total = 0;
  JobPlan plan{o.shard, {}};
  for (const auto* it : items) {
    bool done = false;
    Planned p = job.place(*it, done);
    plan.items.push_back({p.file, p.key, it->id, cs.candidates[it->candidate].name});
    if (done) {
      ++skipped;
    } else {
      todo[it->candidate].push_back(std::move(p));
      ++total;
    }
  }
  plan.write(o.out_dir);  // what `catimage merge` will expect of this shard
  if (skipped) spdlog::info("{} of {} images already done (same key, intact PNG): skipped", skipped, items.size());
  Progress bar("images", total, "img");
  for (const auto& [k, list] : todo) job.generate_with(k, list, bar);
  bar.finish();
  job.manifest().compact();
  spdlog::info("wrote {} images to {} ({} already done, skipped); manifest {}", job.written(), o.out_dir, skipped,
               job.manifest().path());
  return job.written();
}

}  // namespace catimage
