#include "euler.hpp"

#include <cmath>

#include "catimage/diffusion/schedulers/sigma_schedules.hpp"

namespace catimage {

EulerDiscreteScheduler::EulerDiscreteScheduler(const ConfigView& c)
    : Scheduler(NoiseScheduleConfig::from(c, "linspace"), true) {
  c.read("use_karras_sigmas", karras_);
  c.read("use_exponential_sigmas", exponential_);
  if (karras_ && exponential_)
    c.bad("use_exponential_sigmas", "use_karras_sigmas and use_exponential_sigmas cannot both be true");
  c.read("final_sigmas_type", final_sigmas_type_);
  if (final_sigmas_type_ != "zero" && final_sigmas_type_ != "sigma_min")
    c.bad("final_sigmas_type", "expected \"zero\" or \"sigma_min\"");
  if (c.has("sigma_min")) sigma_min_ = c.get_double("sigma_min");
  if (c.has("sigma_max")) sigma_max_ = c.get_double("sigma_max");
  c.require_defaults({{"use_beta_sigmas", false}, {"interpolation_type", "linear"}, {"timestep_type", "discrete"}});
}

void EulerDiscreteScheduler::set_timesteps(int steps) {
  auto ts = spaced_timesteps(steps);
  std::vector<float> t32;
  for (double t : ts) t32.push_back(static_cast<float>(t));
  const auto train = train_sigmas();
  std::vector<double> sig;
  for (float t : t32) sig.push_back(np_interp(t, train));
  if (karras_ || exponential_) {
    std::vector<float> log_sigmas;
    for (float s : train) log_sigmas.push_back(std::log(s));
    const double lo = sigma_min_.value_or(sig.back()), hi = sigma_max_.value_or(sig.front());
    sig = karras_ ? karras_sigmas(lo, hi, steps) : exponential_sigmas(lo, hi, steps);
    t32.clear();
    for (double s : sig) t32.push_back(static_cast<float>(sigma_to_t(s, log_sigmas)));
  }
  const double last = final_sigmas_type_ == "zero" ? 0.0 : std::pow((1 - alpha_cumprod(0)) / alpha_cumprod(0), 0.5);
  sigmas_.clear();
  for (double s : sig) sigmas_.push_back(static_cast<float>(s));
  sigmas_.push_back(static_cast<float>(last));
  timesteps_.assign(t32.begin(), t32.end());
}

std::string EulerDiscreteScheduler::schedule_label() const {
  return schedule_label_for(cfg_.timestep_spacing, karras_, exponential_);
}

double euler_init_noise_sigma(const std::vector<float>& sigmas, const std::string& spacing) {
  float mx = 0;
  for (float s : sigmas) mx = std::max(mx, s);
  if (spacing == "linspace" || spacing == "trailing") return mx;
  return std::pow(mx * mx + 1.0f, 0.5f);
}

torch::Tensor euler_scale_input(const torch::Tensor& x, float sigma) {
  return x / std::pow(sigma * sigma + 1.0f, 0.5f);
}

double EulerDiscreteScheduler::init_noise_sigma() const {
  return euler_init_noise_sigma(sigmas_, cfg_.timestep_spacing);
}

torch::Tensor EulerDiscreteScheduler::scale_model_input(const torch::Tensor& x, std::size_t i) const {
  return euler_scale_input(x, sigmas_.at(i));
}

torch::Tensor euler_denoised(const std::string& pred, const torch::Tensor& out, const torch::Tensor& x, float sigma) {
  if (pred == "epsilon") return x - sigma * out;
  if (pred == "v_prediction") return out * (-sigma / std::pow(sigma * sigma + 1.0f, 0.5f)) + x / (sigma * sigma + 1.0f);
  return out;
}

torch::Tensor EulerDiscreteScheduler::step(const torch::Tensor& out, std::size_t i, const torch::Tensor& sample,
                                           const NoiseSource&) {
  auto x = sample.to(torch::kFloat32);
  const float sigma = sigmas_.at(i);
  auto x0 = euler_denoised(cfg_.prediction_type, out.to(torch::kFloat32), x, sigma);
  auto d = (x - x0) / sigma;
  const float dt = sigmas_.at(i + 1) - sigma;
  return x + d * dt;
}

}  // namespace catimage
