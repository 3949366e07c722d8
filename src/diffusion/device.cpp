#include "catimage/diffusion/device.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "catimage/util/error.hpp"
#ifdef CATIMAGE_WITH_CUDA  // set by CMake when libtorch has CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace catimage {

torch::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      fail("--device {}: this libtorch has no CUDA (or no GPU is visible); use --device cpu", name);
    torch::Device d(name);
    if (d.index() >= static_cast<int>(torch::cuda::device_count()))
      fail("--device {}: only {} CUDA device(s) visible", name, torch::cuda::device_count());
    return d;
  }
  fail("--device \"{}\": expected auto, cpu, cuda or cuda:N", name);
}

bool cpu_has_native_bf16() {
  static const bool native = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream words(line.substr(line.find(':') == std::string::npos ? 0 : line.find(':') + 1));
      for (std::string w; words >> w;)
        if (w == "avx512_bf16" || w == "amx_bf16") return true;
      return false;  // the first processor's flags speak for all
    }
    return false;
  }();
  return native;
}

bool cpu_auto_bf16() {
  const char* v = std::getenv("CATIMAGE_CPU_BF16");
  if (!v || !*v) return cpu_has_native_bf16();
  const std::string s = v;
  if (s == "0") return false;
  if (s == "1") return true;
  fail("CATIMAGE_CPU_BF16=\"{}\": expected 0 (fp32 on the CPU) or 1 (bf16 on the CPU), or unset (bf16 where the CPU "
       "has AVX512-BF16 or AMX-BF16)",
       s);
}

torch::Dtype resolve_dtype(const std::string& name, const torch::Device& device, bool cpu_bf16) {
  if (name == "auto") {
    if (device.is_cuda()) return torch::kFloat16;
    return cpu_bf16 && cpu_auto_bf16() ? torch::kBFloat16 : torch::kFloat32;
  }
  if (name == "fp32" || name == "float32") return torch::kFloat32;
  if (name == "fp16" || name == "float16") {
    if (!device.is_cuda()) fail("--dtype fp16 needs a CUDA device; on the CPU use fp32 (or bf16)");
    return torch::kFloat16;
  }
  if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
  fail("--dtype \"{}\": expected auto, fp32, fp16 or bf16", name);
}

const char* dtype_label(torch::Dtype t) {
  return t == torch::kFloat16 ? "fp16" : t == torch::kBFloat16 ? "bf16" : "fp32";
}

bool is_out_of_memory(const std::exception& e) {
  const std::string m = e.what();
  auto has = [&](const char* s) { return m.find(s) != std::string::npos; };
  return has("out of memory") || has("CUDNN_STATUS_ALLOC_FAILED") || has("CUBLAS_STATUS_ALLOC_FAILED") ||
         (has("createCuDNNHandle") && (has("CUDNN_STATUS_INTERNAL_ERROR") || has("CUDNN_STATUS_NOT_INITIALIZED")));
}

void release_cached_memory(const torch::Device& device) {
#ifdef CATIMAGE_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
  (void)device;
}

}  // namespace catimage
