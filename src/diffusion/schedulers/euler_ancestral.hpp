#pragma once
// diffusers' EulerAncestralDiscreteScheduler: an Euler step to sigma_down plus fresh noise
// of size sigma_up (noise is drawn on every step, the last one too, as diffusers does).
#include "catimage/diffusion/schedulers/scheduler.hpp"

namespace catimage {

class EulerAncestralDiscreteScheduler : public Scheduler {
 public:
  static constexpr const char* kClassName = "EulerAncestralDiscreteScheduler";
  explicit EulerAncestralDiscreteScheduler(const ConfigView& c);
  std::string class_name() const override { return kClassName; }
  void set_timesteps(int steps) override;
  double init_noise_sigma() const override;
  torch::Tensor scale_model_input(const torch::Tensor& x, std::size_t step) const override;
  torch::Tensor step(const torch::Tensor& model_output, std::size_t step, const torch::Tensor& sample,
                     const NoiseSource& noise) override;
};

}  // namespace catimage
