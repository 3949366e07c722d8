#include "ddim.hpp"

#include <cmath>

#include "catimage/util/error.hpp"

namespace catimage {

DDIMScheduler::DDIMScheduler(const ConfigView& c) : Scheduler(NoiseScheduleConfig::from(c, "leading"), false) {
  c.read("clip_sample", clip_sample_);
  c.read("clip_sample_range", clip_range_);
  bool set_alpha_to_one = true;
  c.read("set_alpha_to_one", set_alpha_to_one);
  final_alpha_cumprod_ = set_alpha_to_one ? 1.0f : alpha_cumprod(0);
}

void DDIMScheduler::set_timesteps(int steps) {
  auto ts = spaced_timesteps(steps);
  timesteps_.clear();
  for (double t : ts) timesteps_.push_back(std::nearbyint(t));  // .round().astype(int64)
  steps_ = steps;
}

torch::Tensor DDIMScheduler::step(const torch::Tensor& eps, std::size_t i, const torch::Tensor& x, const NoiseSource&) {
  const long t = static_cast<long>(timesteps_.at(i));
  const long prev = t - cfg_.num_train_timesteps / steps_;
  const float a_t = alpha_cumprod(t);
  const float a_prev = prev >= 0 ? alpha_cumprod(prev) : final_alpha_cumprod_;
  const float b_t = 1 - a_t;
  const float sa = std::pow(a_t, 0.5f), sb = std::pow(b_t, 0.5f);
  torch::Tensor x0, e;
  if (cfg_.prediction_type == "epsilon") {
    x0 = (x - sb * eps) / sa;
    e = eps;
  } else if (cfg_.prediction_type == "sample") {
    x0 = eps;
    e = (x - sa * x0) / sb;
  } else {
    x0 = sa * x - sb * eps;
    e = sa * eps + sb * x;
  }
  if (clip_sample_) x0 = x0.clamp(-clip_range_, clip_range_);
  const float dir = std::pow(1 - a_prev, 0.5f);
  return std::pow(a_prev, 0.5f) * x0 + dir * e;
}

}  // namespace catimage
