#pragma once
// --device / --dtype as every pipeline resolves them ("auto" picks CUDA when libtorch has it,
// fp16 there and fp32 on the CPU).
#include <torch/torch.h>

#include <string>

namespace catimage {

torch::Device resolve_device(const std::string& name);
torch::Dtype resolve_dtype(const std::string& name, const torch::Device& device);
const char* dtype_label(torch::Dtype t);  // fp32 | fp16 | bf16

// Whether `e` says the device ran out of memory: the caching allocator's "out of memory", and
// the cuDNN/cuBLAS failures that memory exhaustion causes (*_ALLOC_FAILED; a cuDNN handle that
// cannot be created, CUDNN_STATUS_INTERNAL_ERROR or NOT_INITIALIZED in createCuDNNHandle).
bool is_out_of_memory(const std::exception& e);
// Hands the caching allocator's unused blocks back to the driver (CUDA; a no-op elsewhere), so
// that libraries allocating outside it (cuDNN and cuBLAS handles, workspaces) find memory.
void release_cached_memory(const torch::Device& device);

}  // namespace catimage
