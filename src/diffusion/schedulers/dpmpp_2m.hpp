#pragma once
// diffusers' DPMSolverMultistepScheduler as DPM-Solver++ (2M): algorithm_type "dpmsolver++" or
// its SDE variant "sde-dpmsolver++" (A1111's DPM++ 2M SDE; fresh Gaussian noise each step
// where A1111 draws Brownian-tree noise), solver_order 1 or 2, midpoint or heun, lower_order_final, Karras or
// exponential sigmas (use_exponential_sigmas as diffusers v0.32 computes them; 0.31's ran from the smallest sigma up),
// final sigma "zero" or "sigma_min".
#include <limits>

#include "catimage/diffusion/schedulers/scheduler.hpp"

namespace catimage {

class DPMSolverMultistepScheduler : public Scheduler {
 public:
  static constexpr const char* kClassName = "DPMSolverMultistepScheduler";
  explicit DPMSolverMultistepScheduler(const ConfigView& c);
  std::string class_name() const override { return kClassName; }
  // "DPM++ 2M", "DPM++ 2M SDE" (the registry's labels); "DPM++ 1S" for solver_order 1
  std::string sampler_label() const override;
  std::string schedule_label() const override;
  void set_timesteps(int steps) override;
  torch::Tensor step(const torch::Tensor& model_output, std::size_t step, const torch::Tensor& sample,
                     const NoiseSource& noise) override;

 private:
  int order_ = 2;      // solver_order
  bool heun_ = false;  // solver_type "heun" (else "midpoint")
  bool sde_ = false;   // algorithm_type "sde-dpmsolver++"
  bool lower_order_final_ = true, euler_at_final_ = false;
  bool karras_ = false;                     // use_karras_sigmas
  bool exponential_ = false;                // use_exponential_sigmas
  std::string final_sigmas_type_ = "zero";  // or "sigma_min"
  double lambda_min_clipped_ = -std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> outputs_;  // the last `order_` converted model outputs
  int lower_order_nums_ = 0;
};

}  // namespace catimage
