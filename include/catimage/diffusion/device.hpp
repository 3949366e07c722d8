#pragma once
// --device / --dtype as every pipeline resolves them ("auto" picks CUDA when libtorch has it,
// fp16 there; on the CPU bf16 where the CPU computes it natively, else fp32).
#include <torch/torch.h>

#include <string>

namespace catimage {

torch::Device resolve_device(const std::string& name);
// Whether this CPU computes bf16 natively: AVX512-BF16 or AMX-BF16 among the flags of
// /proc/cpuinfo (false where there is no such file or flag).
bool cpu_has_native_bf16();
// Whether --dtype auto runs bf16 on the CPU: CATIMAGE_CPU_BF16=1 forces it, =0 forbids it
// (another value is an error naming the variable); unset or empty: cpu_has_native_bf16().
bool cpu_auto_bf16();
// "auto": fp16 on CUDA; on the CPU bf16 when cpu_auto_bf16() and the family takes it
// (`cpu_bf16` false: aMUSEd, whose token choices bf16 changes), else fp32.
torch::Dtype resolve_dtype(const std::string& name, const torch::Device& device, bool cpu_bf16 = true);
const char* dtype_label(torch::Dtype t);  // fp32 | fp16 | bf16

// Whether `e` says the device ran out of memory: the caching allocator's "out of memory", and
// the cuDNN/cuBLAS failures that memory exhaustion causes (*_ALLOC_FAILED; a cuDNN handle that
// cannot be created, CUDNN_STATUS_INTERNAL_ERROR or NOT_INITIALIZED in createCuDNNHandle).
bool is_out_of_memory(const std::exception& e);
// Hands the caching allocator's unused blocks back to the driver (CUDA; a no-op elsewhere), so
// that libraries allocating outside it (cuDNN and cuBLAS handles, workspaces) find memory.
void release_cached_memory(const torch::Device& device);

}  // namespace catimage
