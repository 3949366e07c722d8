#include "euler_ancestral.hpp"

#include <cmath>

#include "catimage/util/error.hpp"
#include "euler.hpp"

namespace catimage {

EulerAncestralDiscreteScheduler::EulerAncestralDiscreteScheduler(const ConfigView& c)
    : Scheduler(NoiseScheduleConfig::from(c, "linspace"), true) {
  if (cfg_.prediction_type == "sample")
    c.bad("prediction_type", "\"sample\" is not implemented for Euler ancestral (as in diffusers)");
}

void EulerAncestralDiscreteScheduler::set_timesteps(int steps) {
  auto ts = spaced_timesteps(steps);
  const auto train = train_sigmas();
  timesteps_.clear();
  sigmas_.clear();
  for (double t : ts) {
    const float t32 = static_cast<float>(t);
    timesteps_.push_back(t32);
    sigmas_.push_back(static_cast<float>(np_interp(t32, train)));
  }
  sigmas_.push_back(0.0f);
}

double EulerAncestralDiscreteScheduler::init_noise_sigma() const {
  return euler_init_noise_sigma(sigmas_, cfg_.timestep_spacing);
}

torch::Tensor EulerAncestralDiscreteScheduler::scale_model_input(const torch::Tensor& x, std::size_t i) const {
  return euler_scale_input(x, sigmas_.at(i));
}

torch::Tensor EulerAncestralDiscreteScheduler::step(const torch::Tensor& out, std::size_t i,
                                                    const torch::Tensor& sample, const NoiseSource& noise) {
  auto x = sample.to(torch::kFloat32);
  const float from = sigmas_.at(i), to = sigmas_.at(i + 1);
  auto x0 = euler_denoised(cfg_.prediction_type, out.to(torch::kFloat32), x, from);
  const float up = std::pow(to * to * (from * from - to * to) / (from * from), 0.5f);
  const float down = std::pow(to * to - up * up, 0.5f);
  auto d = (x - x0) / from;
  auto prev = x + d * (down - from);
  return prev + noise() * up;
}

}  // namespace catimage
