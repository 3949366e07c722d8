#include "catimage/diffusion/batch_invariance.hpp"

namespace catimage {

bool runs_requests_alone(const torch::Device& device) { return device.is_cpu(); }

torch::Tensor each_request_alone(const std::vector<ImageRequest>& batch,
                                 const std::function<torch::Tensor(const std::vector<ImageRequest>&)>& run) {
  std::vector<torch::Tensor> parts;
  parts.reserve(batch.size());
  for (const auto& r : batch) parts.push_back(run({r}));
  return torch::cat(parts);
}

}  // namespace catimage
