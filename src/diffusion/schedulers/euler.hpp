#pragma once
// diffusers' EulerDiscreteScheduler (s_churn = 0): sigma interpolation at the spaced
// timesteps, optional Karras or exponential sigmas (use_exponential_sigmas, as diffusers
// v0.32 computes them: 0.31's are not evenly spaced in log sigma), final sigma "zero" or
// "sigma_min".
#include "catimage/diffusion/schedulers/scheduler.hpp"

namespace catimage {

class EulerDiscreteScheduler : public Scheduler {
 public:
  static constexpr const char* kClassName = "EulerDiscreteScheduler";
  explicit EulerDiscreteScheduler(const ConfigView& c);
  std::string class_name() const override { return kClassName; }
  std::string schedule_label() const override;
  void set_timesteps(int steps) override;
  double init_noise_sigma() const override;
  torch::Tensor scale_model_input(const torch::Tensor& x, std::size_t step) const override;
  torch::Tensor step(const torch::Tensor& model_output, std::size_t step, const torch::Tensor& sample,
                     const NoiseSource& noise) override;

 private:
  bool karras_ = false;                     // use_karras_sigmas
  bool exponential_ = false;                // use_exponential_sigmas
  std::string final_sigmas_type_ = "zero";  // or "sigma_min"
  std::optional<double> sigma_min_, sigma_max_;
};

// What the Euler samplers share: the initial noise scale (max sigma, or sqrt(max² + 1) for
// "leading" spacing) and the model input scaling x / sqrt(sigma² + 1).
double euler_init_noise_sigma(const std::vector<float>& sigmas, const std::string& spacing);
torch::Tensor euler_scale_input(const torch::Tensor& x, float sigma);

// x0 from the model output at sigma (epsilon, v_prediction or sample), as the Euler samplers compute it.
torch::Tensor euler_denoised(const std::string& prediction_type, const torch::Tensor& out, const torch::Tensor& x,
                             float sigma);

}  // namespace catimage
