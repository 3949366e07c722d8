// catimage bench: the speed of one denoising step (UNet, PixArt, aMUSEd UVit2D) or one T5
// text encoding of an architecture with random weights; with --pipeline, of whole generate calls
// of a model folder (text encoding, every denoising step, decode, the copy back as uint8).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>

#include "catimage/diffusion/arch_bench.hpp"
#include "catimage/diffusion/device.hpp"
#include "catimage/diffusion/families.hpp"
#include "catimage/diffusion/image_pipeline.hpp"
#include "catimage/diffusion/pipeline_options.hpp"
#include "catimage/diffusion/schedulers/sampler_names.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/prompt_reader.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/torch_trace.hpp"
#ifdef CATIMAGE_WITH_CUDA  // set by CMake when libtorch has CUDA
#include <c10/cuda/CUDACachingAllocator.h>
// ATen's CUDA context pulls in cuBLAS/cuSPARSE/cuSOLVER headers, which a toolkit without the
// math libraries' headers lacks: the device name is then left out.
#if __has_include(<cublas_v2.h>) && __has_include(<cusparse.h>) && __has_include(<cusolverDn.h>)
#include <ATen/cuda/CUDAContext.h>
#define CATIMAGE_CUDA_DEVICE_NAME 1
#endif
#endif
#include "catimage/util/logging.hpp"
#include "catimage/util/paths.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"

namespace fs = std::filesystem;

namespace catimage::cli {

namespace {

struct BenchOptions {
  std::string arch = "sd15", device = "auto", dtype = "auto", json_out;
  int batch = 1, size = 0, steps = 5, warmup = 1, text_tokens = 0;
  bool channels_last = false, cfg = false;
  std::uint64_t seed = 0;
  // --pipeline: whole generate calls of a model folder
  std::string pipeline, scheduler, prompts;
  int inference_steps = 0, runs = 5;                           // 0: the family's default steps
  double guidance = std::numeric_limits<double>::quiet_NaN();  // NaN: the family's default
  // --profile: a Chrome trace of profile_calls more calls after the timed ones
  std::string profile;
  int profile_calls = 2;
};

constexpr int kArchBenchSize = 512;  // --size without --pipeline when not given

// The prompts of --pipeline, cycled over the batch: o.prompts, or the shipped example prompts
// (configs/example_prompts.txt, which scripts/bench_diffusers_pipeline.py reads too).
std::vector<std::string> bench_prompts(const std::string& path) {
  const std::string file = path.empty() ? find_resource("configs/example_prompts.txt") : path;
  if (file.empty()) fail("--prompts: the shipped configs/example_prompts.txt is missing; name a prompt file");
  PromptReadOptions ro;
  ro.strict = true;
  std::vector<std::string> prompts;
  for (auto& item : read_prompts(file, ro).prompts) prompts.push_back(std::move(item.prompt));
  if (prompts.empty()) fail("{}: no prompts", file);
  return prompts;
}

// Timed steps or calls: all of them in order, and their median (the mean of the middle two for
// an even count, as Python's statistics.median, which the reference scripts use), min and max.
struct Timings {
  std::vector<double> all;
  double median = 0, min = 0, max = 0;
  explicit Timings(std::vector<double> in_order) : all(std::move(in_order)) {
    auto v = all;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    min = v.front();
    max = v.back();
  }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

// Peak bytes the CUDA caching allocator handed out on `d` since the last reset, in MiB; -1
// without CUDA support in this build.
double peak_gpu_mib(const torch::Device& d) {
#ifdef CATIMAGE_WITH_CUDA
  if (d.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(d.index() < 0 ? 0 : d.index());
    return stats.allocated_bytes[0].peak / (1024.0 * 1024.0);  // [0]: the aggregate over pool types
  }
#endif
  (void)d;
  return -1;
}

void reset_peak_gpu(const torch::Device& d) {
#ifdef CATIMAGE_WITH_CUDA
  if (d.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(d.index() < 0 ? 0 : d.index());
#endif
  (void)d;
}

std::string device_name(const torch::Device& d) {
#ifdef CATIMAGE_CUDA_DEVICE_NAME
  if (d.is_cuda()) return at::cuda::getDeviceProperties(d.index() < 0 ? 0 : d.index())->name;
#endif
  return d.str();
}

void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize(d.index());
}

// --profile: o.profile_calls more calls, untimed, recorded into a Chrome trace; adds the trace's
// path and the number of calls in it to `j`.
void write_profile(const BenchOptions& o, const torch::Device& d, const std::function<void()>& call, json& j) {
  if (o.profile.empty()) return;
  TorchTrace trace(d.is_cuda());
  for (int i = 0; i < o.profile_calls; ++i) call();
  sync(d);
  trace.save(o.profile);
  j["profile"] = o.profile;
  j["profile_calls"] = o.profile_calls;
  spdlog::info("trace of {} call(s): {}", o.profile_calls, o.profile);
}

int run(const BenchOptions& o) {
  torch::NoGradGuard ng;
  if (!o.profile.empty()) TorchTrace::check_available();
  const auto cfg_path = arch_config_path(o.arch);
  auto device = resolve_device(o.device);
  auto dtype = resolve_dtype(o.dtype, device);
  torch::manual_seed(o.seed);
  auto t0 = std::chrono::steady_clock::now();
  ArchBenchShape shape;
  shape.batch = o.batch;
  shape.cfg = o.cfg;
  shape.size = o.size > 0 ? o.size : kArchBenchSize;
  shape.text_tokens = o.text_tokens;
  shape.channels_last = o.channels_last;
  auto bench = make_arch_bench(cfg_path, shape, device, dtype);
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool text_only = bench.family == "t5";
  spdlog::info("{} {} ({:.1f} M parameters) on {} {}, batch {}{}{}: {}; built in {:.1f} s", bench.class_name, cfg_path,
               bench.parameters / 1e6, device.str(), dtype_label(dtype), o.batch, o.cfg ? " x2 (CFG)" : "",
               text_only ? "" : fmt::format(", {}x{}", shape.size, shape.size), bench.input, build_s);
  std::vector<double> times;
  reset_peak_gpu(device);  // the weights stay counted; the peak adds the steps' activations
  for (int i = 0; i < o.warmup + o.steps; ++i) {
    sync(device);
    auto a = std::chrono::steady_clock::now();
    bench.step();
    sync(device);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
    if (i >= o.warmup) times.push_back(s);
    spdlog::debug("step {}: {:.4f} s", i, s);
  }
  const Timings t(times);
  const double peak_gpu = peak_gpu_mib(device);
  json j = {{"tool", "catimage"},
            {"arch", cfg_path},
            {"family", bench.family},
            {"class_name", bench.class_name},
            {"parameters", bench.parameters},
            {"input", bench.input},
            {"device", device.str()},
            {"device_name", device_name(device)},
            {"dtype", dtype_label(dtype)},
            {"batch", o.batch},
            {"cfg", o.cfg},
            {"size", text_only ? json(nullptr) : json(shape.size)},
            {"channels_last", o.channels_last && device.is_cuda()},
            {"steps_timed", o.steps},
            {"step_seconds_median", t.median},
            {"step_seconds_min", t.min},
            {"step_seconds_max", t.max},
            {"step_seconds_all", t.all},
            {"build_seconds", build_s},
            {"threads", device.is_cuda() ? 0 : at::get_num_threads()},
            {"images_per_second_per_step", o.batch / t.median},
            {"peak_rss_mib", peak_rss_mib()},
            {"torch_version", TORCH_VERSION}};
  if (peak_gpu >= 0) j["peak_gpu_mib"] = peak_gpu;
  write_profile(o, device, bench.step, j);
  std::cout << fmt::format(
      "per-step latency {:.4f} s (median of {}, min {:.4f}, max {:.4f}); {:.3f} image-steps/s; "
      "peak RSS {:.0f} MiB{}\n",
      t.median, t.all.size(), t.min, t.max, o.batch / t.median, peak_rss_mib(),
      peak_gpu >= 0 ? fmt::format(", peak GPU {:.0f} MiB", peak_gpu) : std::string());
  if (!o.json_out.empty()) write_file_atomic(o.json_out, j.dump(2) + "\n");
  return 0;
}

// Whole generate calls: what a user gets per batch of images. Each call is timed from the prompts
// to uint8 images on the CPU (generate returns them there, so the GPU's work is finished when
// it returns); the first `warmup` calls (cuDNN's algorithm search, the allocator's first
// blocks) are untimed. Every call gets new seeds, as a batch job's images do.
int run_pipeline(const BenchOptions& o) {
  torch::NoGradGuard ng;
  if (!o.profile.empty()) TorchTrace::check_available();
  PipelineOptions po;
  po.folder = o.pipeline;
  po.device = o.device;
  po.dtype = o.dtype;
  po.scheduler = o.scheduler;
  po.channels_last = o.channels_last;
  const auto& family = inspect_model_folder(po);
  auto t0 = std::chrono::steady_clock::now();
  auto pipe = family.make(po);
  const double load_s = seconds_since(t0);
  const auto device = pipe->device();
  GenerationSettings s;
  s.steps = o.inference_steps > 0 ? o.inference_steps : family.default_steps;
  s.guidance = std::isnan(o.guidance) ? family.default_guidance : o.guidance;
  s.width = s.height = o.size > 0 ? o.size : pipe->default_size();
  spdlog::info("{}; {} {}x{}, {} step(s), guidance {}, batch {}; loaded in {:.1f} s", pipe->describe(), family.name,
               s.width, s.height, s.steps, s.guidance, o.batch, load_s);
  const auto prompts = bench_prompts(o.prompts);
  std::vector<double> times;
  double first_call_s = 0;
  reset_peak_gpu(device);  // the weights stay counted; the peak adds the calls' activations
  int calls = 0;           // each call gets the next seeds
  const auto call = [&] {
    std::vector<ImageRequest> batch(static_cast<std::size_t>(o.batch));
    for (std::size_t b = 0; b < batch.size(); ++b) {
      batch[b].prompt = prompts[b % prompts.size()];
      batch[b].seed = o.seed + static_cast<std::uint64_t>(calls) * batch.size() + b;
    }
    ++calls;
    return pipe->generate(batch, s);
  };
  for (int i = 0; i < o.warmup + o.runs; ++i) {
    sync(device);
    auto a = std::chrono::steady_clock::now();
    auto images = call();
    sync(device);
    const double secs = seconds_since(a);
    if (i == 0) first_call_s = secs;
    if (i >= o.warmup) times.push_back(secs);
    spdlog::debug("call {}: {:.4f} s, {} images", i, secs, images.size(0));
  }
  const Timings t(times);
  const double peak_gpu = peak_gpu_mib(device);
  json j = {{"tool", "catimage"},
            {"mode", "pipeline"},
            {"pipeline", o.pipeline},
            {"family", family.name},
            {"scheduler", pipe->scheduler_class()},
            {"device", device.str()},
            {"device_name", device_name(device)},
            {"dtype", dtype_label(pipe->dtype())},
            {"batch", o.batch},
            {"width", s.width},
            {"height", s.height},
            {"inference_steps", s.steps},
            {"guidance", s.guidance},
            {"channels_last", o.channels_last && device.is_cuda()},
            {"runs", o.runs},
            {"warmup", o.warmup},
            {"run_seconds_median", t.median},
            {"run_seconds_min", t.min},
            {"run_seconds_max", t.max},
            {"run_seconds_all", t.all},
            {"images_per_second", o.batch / t.median},
            {"first_call_seconds", first_call_s},
            {"load_seconds", load_s},
            {"threads", device.is_cuda() ? 0 : at::get_num_threads()},
            {"peak_rss_mib", peak_rss_mib()},
            {"torch_version", TORCH_VERSION}};
  if (peak_gpu >= 0) j["peak_gpu_mib"] = peak_gpu;
  const std::function<void()> profiled_call = [&] { call(); };
  write_profile(o, device, profiled_call, j);
  std::cout << fmt::format(
      "{:.3f} images/s ({} per call; call {:.4f} s, median of {}, min {:.4f}, max {:.4f}; first call {:.2f} s); "
      "peak RSS {:.0f} MiB{}\n",
      o.batch / t.median, o.batch, t.median, t.all.size(), t.min, t.max, first_call_s, peak_rss_mib(),
      peak_gpu >= 0 ? fmt::format(", peak GPU {:.0f} MiB", peak_gpu) : std::string());
  if (!o.json_out.empty()) write_file_atomic(o.json_out, j.dump(2) + "\n");
  return 0;
}

}  // namespace

Runner add_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  auto* c = app.add_subcommand("bench",
                               "Time denoising steps (UNet, PixArt, aMUSEd) or T5 encodings of an architecture with "
                               "random weights; with --pipeline, whole generate calls of a model folder");
  auto* arch =
      c->add_option("--arch", o->arch,
                    "A shipped architecture (configs/archs/<name>-{unet,transformer,encoder}.json: sd15, sd21, sdxl, "
                    "pixart-xl-2-512, pixart-xl-2-1024-ms, pixart-sigma-xl-2-1024-ms, amused-256, amused-512, "
                    "t5-v1_1-xxl), a config.json or its folder");
  c->add_option("--batch", o->batch, "Images per step (default 1)")->check(at_least(1));
  auto* cfg = c->add_flag("--cfg", o->cfg, "Double the model batch as classifier-free guidance does");
  c->add_option("--size", o->size,
                "Image size in pixels (latents size/8, aMUSEd tokens size/16; default 512; with --pipeline the "
                "model's)")
      ->check(at_least(1));
  auto* text_tokens =
      c->add_option("--text-tokens", o->text_tokens,
                    "Text length the model attends to (default: 77 for CLIP-conditioned models, 120 for PixArt-α "
                    "and T5; PixArt-Σ uses 300)")
          ->check(at_least(0));
  auto* steps = c->add_option("--steps", o->steps, "Timed steps (default 5)")->check(at_least(1));
  c->add_option("--warmup", o->warmup, "Untimed steps (with --pipeline: calls) first (default 1)")->check(at_least(0));
  auto* pipeline = c->add_option("--pipeline", o->pipeline,
                                 "Time whole generate calls of this model folder (a diffusers pipeline folder or "
                                 "single-file checkpoint, e.g. configs/pipelines/sd-turbo with `random-weights`)");
  const std::vector<CLI::Option*> pipeline_only = {
      c->add_option("--inference-steps", o->inference_steps, "With --pipeline: denoising steps (default: the family's)")
          ->check(at_least(1)),
      c->add_option("--guidance", o->guidance, "With --pipeline: CFG scale (default: the family's; <= 1: none)")
          ->check(kFinite),
      c->add_option("--scheduler", o->scheduler,
                    "With --pipeline: a sampler replacing the folder's scheduler: " + sampler_names_help()),
      c->add_option("--runs", o->runs, "With --pipeline: timed generate calls (default 5)")->check(at_least(1)),
      c->add_option(
          "--prompts", o->prompts,
          "With --pipeline: prompts cycled over each batch (default: the shipped configs/example_prompts.txt)")};
  for (auto* opt : pipeline_only) opt->needs(pipeline);
  for (auto* opt : {arch, cfg, text_tokens, steps}) pipeline->excludes(opt);
  c->add_option("--device", o->device, "auto, cpu, cuda or cuda:N");
  c->add_option("--dtype", o->dtype, "auto, fp32, fp16 or bf16");
  c->add_flag("--channels-last", o->channels_last, "Channels-last UNet weights and latents on CUDA");
  c->add_option("--seed", o->seed, "Weight seed (with --pipeline: the first image seed)")->check(kSeed);
  c->add_option("--json", o->json_out, "Also write the figures as JSON");
  auto* profile = c->add_option("--profile", o->profile,
                                "After the timed steps (calls), record --profile-calls more into this Chrome trace "
                                "(Kineto: operators, and CUDA kernels on a GPU; scripts/kernel_table.py sums it)");
  c->add_option("--profile-calls", o->profile_calls, "Steps (calls) recorded with --profile (default 2)")
      ->check(at_least(1))
      ->needs(profile);
  return [o] { return o->pipeline.empty() ? run(*o) : run_pipeline(*o); };
}

}  // namespace catimage::cli
