#pragma once
// The same seed gives the same image whatever the batch: the randomness is per request (its own
// CPU generator), but on the CPU the arithmetic is not. A matmul or convolution over a batch of
// 3 is blocked and summed in another order by oneDNN/MKL than the same one at batch 1, so the
// images differ by a level here and there. On the CPU, where batching buys little (the cores are
// busy at batch 1), the pipelines therefore run a batch's requests one at a time: an image is
// byte for byte the one batch 1 makes. On CUDA batches stay batched (kernels may differ by batch
// size there: within a level in fp32, Gpu.SameSeedSameImageWhateverTheBatchOnCuda).
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "catimage/diffusion/image_pipeline.hpp"

namespace catimage {

// Whether a pipeline on `device` runs each request of a batch alone (the CPU).
bool runs_requests_alone(const torch::Device& device);

// `run` on each request of `batch` alone, the results joined along dim 0 in request order.
torch::Tensor each_request_alone(const std::vector<ImageRequest>& batch,
                                 const std::function<torch::Tensor(const std::vector<ImageRequest>&)>& run);

}  // namespace catimage
