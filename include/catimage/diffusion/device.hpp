#pragma once
// --device / --dtype as every pipeline resolves them ("auto" picks CUDA when libtorch has it,
// fp16 there and fp32 on the CPU).
#include <torch/torch.h>

#include <string>

namespace catimage {

torch::Device resolve_device(const std::string& name);
torch::Dtype resolve_dtype(const std::string& name, const torch::Device& device);
const char* dtype_label(torch::Dtype t);  // fp32 | fp16 | bf16

}  // namespace catimage
