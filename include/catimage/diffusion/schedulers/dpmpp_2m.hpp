#pragma once
// diffusers' DPMSolverMultistepScheduler as DPM-Solver++ (2M): algorithm_type "dpmsolver++",
// solver_order 1 or 2, midpoint or heun, lower_order_final, Karras sigmas, final sigma
// "zero" or "sigma_min".
#include <limits>

#include "catimage/diffusion/schedulers/scheduler.hpp"

namespace catimage {

class DPMSolverMultistepScheduler : public Scheduler {
 public:
  explicit DPMSolverMultistepScheduler(const ConfigView& c);
  std::string class_name() const override { return "DPMSolverMultistepScheduler"; }
  std::string sampler_label() const override;
  void set_timesteps(int steps) override;
  torch::Tensor step(const torch::Tensor& model_output, std::size_t step, const torch::Tensor& sample,
                     const NoiseSource& noise) override;

 private:
  int order_;
  bool heun_, lower_order_final_, euler_at_final_, karras_;
  std::string final_sigmas_type_;
  double lambda_min_clipped_ = -std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> outputs_;  // the last `order_` converted model outputs
  int lower_order_nums_ = 0;
};

}  // namespace catimage
