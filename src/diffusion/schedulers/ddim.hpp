#pragma once
// diffusers' DDIMScheduler with eta = 0 (the deterministic sampler the SD pipelines use).
#include "catimage/diffusion/schedulers/scheduler.hpp"

namespace catimage {

class DDIMScheduler : public Scheduler {
 public:
  static constexpr const char* kClassName = "DDIMScheduler";
  explicit DDIMScheduler(const ConfigView& c);
  std::string class_name() const override { return kClassName; }
  void set_timesteps(int steps) override;
  torch::Tensor step(const torch::Tensor& model_output, std::size_t step, const torch::Tensor& sample,
                     const NoiseSource& noise) override;

 private:
  bool clip_sample_ = true;
  double clip_range_ = 1.0;  // clip_sample_range
  float final_alpha_cumprod_;
  int steps_ = 0;
};

}  // namespace catimage
