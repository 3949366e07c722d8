// catimage bench: the speed of one denoising step (UNet, PixArt, aMUSEd UVit2D) or one T5
// text encoding of an architecture with random weights.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "catimage/diffusion/arch_bench.hpp"
#include "catimage/diffusion/device.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/util/error.hpp"
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
  int batch = 1, size = 512, steps = 5, warmup = 1, text_tokens = 0;
  bool channels_last = false, cfg = false;
  std::uint64_t seed = 0;
};

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

int run(const BenchOptions& o) {
  torch::NoGradGuard ng;
  const auto cfg_path = arch_config_path(o.arch);
  auto device = resolve_device(o.device);
  auto dtype = resolve_dtype(o.dtype, device);
  torch::manual_seed(o.seed);
  auto t0 = std::chrono::steady_clock::now();
  ArchBenchShape shape;
  shape.batch = o.batch;
  shape.cfg = o.cfg;
  shape.size = o.size;
  shape.text_tokens = o.text_tokens;
  shape.channels_last = o.channels_last;
  auto bench = make_arch_bench(cfg_path, shape, device, dtype);
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool text_only = bench.family == "t5";
  spdlog::info("{} {} ({:.1f} M parameters) on {} {}, batch {}{}{}: {}; built in {:.1f} s", bench.class_name, cfg_path,
               bench.parameters / 1e6, device.str(), dtype_label(dtype), o.batch, o.cfg ? " x2 (CFG)" : "",
               text_only ? "" : fmt::format(", {}x{}", o.size, o.size), bench.input, build_s);
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
  const std::vector<double> in_order = times;
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
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
            {"size", text_only ? json(nullptr) : json(o.size)},
            {"channels_last", o.channels_last && device.is_cuda()},
            {"steps_timed", o.steps},
            {"step_seconds_median", median},
            {"step_seconds_min", times.front()},
            {"step_seconds_max", times.back()},
            {"step_seconds_all", in_order},
            {"build_seconds", build_s},
            {"threads", device.is_cuda() ? 0 : at::get_num_threads()},
            {"images_per_second_per_step", o.batch / median},
            {"peak_rss_mib", peak_rss_mib()},
            {"torch_version", TORCH_VERSION}};
  if (peak_gpu >= 0) j["peak_gpu_mib"] = peak_gpu;
  std::cout << fmt::format(
      "per-step latency {:.4f} s (median of {}, min {:.4f}, max {:.4f}); {:.3f} image-steps/s; "
      "peak RSS {:.0f} MiB{}\n",
      median, times.size(), times.front(), times.back(), o.batch / median, peak_rss_mib(),
      peak_gpu >= 0 ? fmt::format(", peak GPU {:.0f} MiB", peak_gpu) : std::string());
  if (!o.json_out.empty()) write_file_atomic(o.json_out, j.dump(2) + "\n");
  return 0;
}

}  // namespace

Runner add_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  auto* c = app.add_subcommand(
      "bench", "Time denoising steps (UNet, PixArt, aMUSEd) or T5 encodings of an architecture with random weights");
  c->add_option("--arch", o->arch,
                "A shipped architecture (configs/archs/<name>-{unet,transformer,encoder}.json: sd15, sd21, sdxl, "
                "pixart-xl-2-512, pixart-xl-2-1024-ms, pixart-sigma-xl-2-1024-ms, amused-256, amused-512, "
                "t5-v1_1-xxl), a config.json or its folder");
  c->add_option("--batch", o->batch, "Images per step (default 1)")->check(at_least(1));
  c->add_flag("--cfg", o->cfg, "Double the model batch as classifier-free guidance does");
  c->add_option("--size", o->size, "Image size in pixels (latents size/8, aMUSEd tokens size/16; default 512)")
      ->check(at_least(1));
  c->add_option("--text-tokens", o->text_tokens,
                "Text length the model attends to (default: 77 for CLIP-conditioned models, 120 for PixArt-α "
                "and T5; PixArt-Σ uses 300)")
      ->check(at_least(0));
  c->add_option("--steps", o->steps, "Timed steps (default 5)")->check(at_least(1));
  c->add_option("--warmup", o->warmup, "Untimed steps first (default 1)")->check(at_least(0));
  c->add_option("--device", o->device, "auto, cpu, cuda or cuda:N");
  c->add_option("--dtype", o->dtype, "auto, fp32, fp16 or bf16");
  c->add_flag("--channels-last", o->channels_last, "Channels-last UNet weights and latents on CUDA");
  c->add_option("--seed", o->seed, "Weight seed")->check(kSeed);
  c->add_option("--json", o->json_out, "Also write the figures as JSON");
  return [o] { return run(*o); };
}

}  // namespace catimage::cli
