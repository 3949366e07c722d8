#pragma once
// diffusers' LCMScheduler: timesteps picked from the original_inference_steps skipping
// schedule, consistency boundary scalings (c_skip, c_out), fresh noise between steps.
#include "catimage/diffusion/schedulers/scheduler.hpp"

namespace catimage {

class LCMScheduler : public Scheduler {
 public:
  static constexpr const char* kClassName = "LCMScheduler";
  explicit LCMScheduler(const ConfigView& c);
  std::string class_name() const override { return kClassName; }
  std::string schedule_label() const override { return ""; }  // its own timesteps, whatever the spacing
  void set_timesteps(int steps) override;
  torch::Tensor step(const torch::Tensor& model_output, std::size_t step, const torch::Tensor& sample,
                     const NoiseSource& noise) override;

 private:
  int original_steps_ = 50;  // original_inference_steps
  bool clip_sample_ = false;
  double clip_range_ = 1.0;  // clip_sample_range
  double timestep_scaling_ = 10.0;
  float final_alpha_cumprod_;
};

}  // namespace catimage
