#include "catimage/diffusion/device.hpp"

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

torch::Dtype resolve_dtype(const std::string& name, const torch::Device& device) {
  if (name == "auto") return device.is_cuda() ? torch::kFloat16 : torch::kFloat32;
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
