#include "lcm.hpp"

#include <cmath>

#include "catimage/util/error.hpp"

namespace catimage {

LCMScheduler::LCMScheduler(const ConfigView& c) : Scheduler(NoiseScheduleConfig::from(c, "leading"), false) {
  c.read("original_inference_steps", original_steps_);
  c.read("clip_sample", clip_sample_);
  c.read("clip_sample_range", clip_range_);
  c.read("timestep_scaling", timestep_scaling_);
  bool set_alpha_to_one = true;
  c.read("set_alpha_to_one", set_alpha_to_one);
  final_alpha_cumprod_ = set_alpha_to_one ? 1.0f : alpha_cumprod(0);
  if (original_steps_ < 1 || original_steps_ > cfg_.num_train_timesteps)
    c.bad("original_inference_steps", "must be between 1 and num_train_timesteps");
}

void LCMScheduler::set_timesteps(int n) {
  if (n < 1) fail("the number of steps must be at least 1, got {}", n);
  if (n > original_steps_)
    fail("LCM: {} steps is more than original_inference_steps ({}); use at most that many", n, original_steps_);
  const int k = cfg_.num_train_timesteps / original_steps_;
  std::vector<long> origin;
  for (int i = original_steps_; i >= 1; --i) origin.push_back(static_cast<long>(i) * k - 1);  // reversed
  timesteps_.clear();
  const double len = static_cast<double>(origin.size());
  for (int i = 0; i < n; ++i) {
    const auto idx = static_cast<std::size_t>(std::floor(i * (len / n)));
    timesteps_.push_back(static_cast<double>(origin[idx]));
  }
}

torch::Tensor LCMScheduler::step(const torch::Tensor& out, std::size_t i, const torch::Tensor& x,
                                 const NoiseSource& noise) {
  const long t = static_cast<long>(timesteps_.at(i));
  const long prev_t = i + 1 < timesteps_.size() ? static_cast<long>(timesteps_[i + 1]) : t;
  const float a_t = alpha_cumprod(t);
  const float a_prev = prev_t >= 0 ? alpha_cumprod(prev_t) : final_alpha_cumprod_;
  const float b_t = 1 - a_t, b_prev = 1 - a_prev;
  const double st = t * timestep_scaling_, sd = 0.5;
  const double c_skip = sd * sd / (st * st + sd * sd);
  const double c_out = st / std::pow(st * st + sd * sd, 0.5);
  torch::Tensor x0;
  if (cfg_.prediction_type == "epsilon") {
    x0 = (x - std::sqrt(b_t) * out) / std::sqrt(a_t);
  } else if (cfg_.prediction_type == "sample") {
    x0 = out;
  } else {
    x0 = std::sqrt(a_t) * x - std::sqrt(b_t) * out;
  }
  if (clip_sample_) x0 = x0.clamp(-clip_range_, clip_range_);
  auto denoised = c_out * x0 + c_skip * x;
  if (i + 1 != timesteps_.size()) return std::sqrt(a_prev) * denoised + std::sqrt(b_prev) * noise();
  return denoised;
}

}  // namespace catimage
