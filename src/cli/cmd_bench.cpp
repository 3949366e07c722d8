// catimage bench: UNet denoising-step speed of an architecture (random weights).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "catimage/diffusion/config_view.hpp"
#include "catimage/diffusion/models/unet_2d_condition.hpp"
#include "catimage/diffusion/pipeline.hpp"
#include "catimage/io/atomic_file.hpp"
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

namespace fs = std::filesystem;

namespace catimage::cli {

namespace {

struct BenchOptions {
  std::string arch = "sd15", device = "auto", dtype = "auto", json_out;
  int batch = 1, size = 512, steps = 5, warmup = 1;
  bool channels_last = false, cfg = false;
  std::uint64_t seed = 0;
};

std::string arch_config(const std::string& arch) {
  if (fs::is_regular_file(arch)) return arch;
  if (fs::is_directory(arch) && fs::is_regular_file(fs::path(arch) / "config.json"))
    return (fs::path(arch) / "config.json").string();
  auto p = find_resource("configs/archs/" + arch + "-unet.json");
  if (p.empty()) fail("--arch \"{}\": not sd15, sdxl, a UNet config.json or a folder holding one", arch);
  return p;
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

int run(const BenchOptions& o) {
  torch::NoGradGuard ng;
  auto cfg_path = arch_config(o.arch);
  auto ucfg = UNetConfig::from(ConfigView::load(cfg_path));
  auto device = resolve_device(o.device);
  auto dtype = resolve_dtype(o.dtype, device);
  if (o.size % 8 != 0) fail("--size must be a multiple of 8");
  torch::manual_seed(o.seed);
  auto t0 = std::chrono::steady_clock::now();
  UNet2DConditionModel unet(ucfg);
  unet->eval();
  unet->to(device, dtype);
  if (o.channels_last && device.is_cuda())
    for (auto& p : unet->parameters())
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  std::int64_t params = 0;
  for (const auto& p : unet->parameters()) params += p.numel();
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const std::int64_t B = o.batch * (o.cfg ? 2 : 1), lat = o.size / 8;
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  auto x = torch::randn({B, ucfg.in_channels, lat, lat}, opts);
  if (o.channels_last && device.is_cuda()) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  auto ctx = torch::randn({B, 77, ucfg.cross_attention_dim()}, opts);
  torch::Tensor pooled, time_ids;
  if (ucfg.text_time) {
    pooled = torch::randn({B, ucfg.projection_class_embeddings_input_dim - 6 * ucfg.addition_time_embed_dim}, opts);
    time_ids = torch::tensor({float(o.size), float(o.size), 0.f, 0.f, float(o.size), float(o.size)})
                   .repeat({B, 1})
                   .to(device, dtype);
  }
  auto t = torch::full({1}, 500.0, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  spdlog::info("UNet {} ({:.0f} M parameters) on {} {}, batch {}{}, {}x{} ({}x{} latents); built in {:.1f} s", cfg_path,
               params / 1e6, device.str(), dtype_label(dtype), o.batch, o.cfg ? " x2 (CFG)" : "", o.size, o.size, lat,
               lat, build_s);
  std::vector<double> times;
  reset_peak_gpu(device);  // the weights stay counted; the peak adds the steps' activations
  for (int i = 0; i < o.warmup + o.steps; ++i) {
    sync(device);
    auto a = std::chrono::steady_clock::now();
    auto y = unet(x, t, ctx, pooled, time_ids);
    sync(device);
    (void)y;
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
            {"parameters", params},
            {"device", device.str()},
            {"device_name", device_name(device)},
            {"dtype", dtype_label(dtype)},
            {"batch", o.batch},
            {"cfg", o.cfg},
            {"size", o.size},
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
  auto* c = app.add_subcommand("bench", "Time UNet denoising steps of an architecture with random weights");
  c->add_option("--arch", o->arch, "sd15, sdxl (shipped configs/archs/*-unet.json), a UNet config.json or its folder");
  c->add_option("--batch", o->batch, "Images per step (default 1)")->check(CLI::PositiveNumber);
  c->add_flag("--cfg", o->cfg, "Double the UNet batch as classifier-free guidance does");
  c->add_option("--size", o->size, "Image size in pixels (latents are size/8; default 512)")
      ->check(CLI::PositiveNumber);
  c->add_option("--steps", o->steps, "Timed steps (default 5)")->check(CLI::PositiveNumber);
  c->add_option("--warmup", o->warmup, "Untimed steps first (default 1)")->check(CLI::NonNegativeNumber);
  c->add_option("--device", o->device, "auto, cpu, cuda or cuda:N");
  c->add_option("--dtype", o->dtype, "auto, fp32, fp16 or bf16");
  c->add_flag("--channels-last", o->channels_last, "Channels-last on CUDA");
  c->add_option("--seed", o->seed, "Weight seed");
  c->add_option("--json", o->json_out, "Also write the figures as JSON");
  return [o] { return run(*o); };
}

}  // namespace catimage::cli
