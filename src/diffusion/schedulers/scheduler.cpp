#include "catimage/diffusion/schedulers/scheduler.hpp"

#include <algorithm>
#include <cmath>

#include "catimage/diffusion/schedulers/registry.hpp"
#include "catimage/diffusion/schedulers/sigma_schedules.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

NoiseScheduleConfig NoiseScheduleConfig::from(const ConfigView& c, const std::string& spacing_default) {
  NoiseScheduleConfig s;
  s.timestep_spacing = spacing_default;
  c.read("num_train_timesteps", s.num_train_timesteps);
  c.read("beta_start", s.beta_start);
  c.read("beta_end", s.beta_end);
  c.read("beta_schedule", s.beta_schedule);
  if (c.has("trained_betas")) {
    if (!c.raw()["trained_betas"].is_array()) c.bad("trained_betas", "expected a list of numbers");
    for (const auto& b : c.raw()["trained_betas"]) {
      if (!b.is_number()) c.bad("trained_betas", "expected a list of numbers");
      s.trained_betas.push_back(b.get<double>());
    }
    if (static_cast<int>(s.trained_betas.size()) != s.num_train_timesteps)
      c.bad("trained_betas", "expected num_train_timesteps values");
  }
  c.read("prediction_type", s.prediction_type);
  c.read("timestep_spacing", s.timestep_spacing);
  c.read("steps_offset", s.steps_offset);
  c.read("rescale_betas_zero_snr", s.rescale_betas_zero_snr);
  if (s.num_train_timesteps < 2 || s.num_train_timesteps > 100000) c.bad("num_train_timesteps", "out of range");
  if (s.beta_schedule != "linear" && s.beta_schedule != "scaled_linear" && s.beta_schedule != "squaredcos_cap_v2")
    c.bad("beta_schedule", "\"" + s.beta_schedule + "\" is not supported (linear, scaled_linear, squaredcos_cap_v2)");
  if (s.prediction_type != "epsilon" && s.prediction_type != "v_prediction" && s.prediction_type != "sample")
    c.bad("prediction_type", "\"" + s.prediction_type + "\" is not supported (epsilon, v_prediction, sample)");
  if (s.timestep_spacing != "linspace" && s.timestep_spacing != "leading" && s.timestep_spacing != "trailing")
    c.bad("timestep_spacing", "\"" + s.timestep_spacing + "\" is not supported (linspace, leading, trailing)");
  c.require_default("thresholding", false);
  return s;
}

namespace {

torch::Tensor make_betas(const NoiseScheduleConfig& c) {
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  torch::Tensor betas;
  if (!c.trained_betas.empty()) {
    betas = torch::tensor(c.trained_betas, torch::TensorOptions().dtype(torch::kFloat64)).to(torch::kFloat32);
  } else if (c.beta_schedule == "linear") {
    betas = torch::linspace(c.beta_start, c.beta_end, c.num_train_timesteps, f32);
  } else if (c.beta_schedule == "scaled_linear") {
    betas = torch::linspace(std::pow(c.beta_start, 0.5), std::pow(c.beta_end, 0.5), c.num_train_timesteps, f32).pow(2);
  } else {  // squaredcos_cap_v2 (diffusers' betas_for_alpha_bar, cosine)
    std::vector<double> b;
    auto alpha_bar = [](double t) { return std::pow(std::cos((t + 0.008) / 1.008 * M_PI / 2), 2); };
    const int n = c.num_train_timesteps;
    for (int i = 0; i < n; ++i) {
      double t1 = static_cast<double>(i) / n, t2 = static_cast<double>(i + 1) / n;
      b.push_back(std::min(1 - alpha_bar(t2) / alpha_bar(t1), 0.999));
    }
    betas = torch::tensor(b, torch::TensorOptions().dtype(torch::kFloat64)).to(torch::kFloat32);
  }
  if (c.rescale_betas_zero_snr) {
    auto alphas = 1.0 - betas;
    auto ac = torch::cumprod(alphas, 0);
    auto s = ac.sqrt();
    auto s0 = s[0].clone(), sT = s[-1].clone();
    s = s - sT;
    s = s * (s0 / (s0 - sT));
    auto bar = s.pow(2);
    auto a = torch::cat({bar.narrow(0, 0, 1), bar.narrow(0, 1, bar.size(0) - 1) / bar.narrow(0, 0, bar.size(0) - 1)});
    betas = 1 - a;
  }
  return betas;
}

}  // namespace

Scheduler::Scheduler(NoiseScheduleConfig cfg, bool sigma_based) : cfg_(std::move(cfg)) {
  auto betas = make_betas(cfg_);
  alphas_cumprod_ = torch::cumprod(1.0 - betas, 0).contiguous();
  if (cfg_.rescale_betas_zero_snr && sigma_based) alphas_cumprod_[-1] = std::pow(2.0, -24);
}

std::string Scheduler::sampler_label() const {
  const auto* e = find_scheduler(class_name());
  return e ? e->label : class_name();
}

std::string Scheduler::schedule_label() const { return schedule_label_for(cfg_.timestep_spacing, false, false); }

float Scheduler::alpha_cumprod(long t) const {
  if (t < 0 || t >= alphas_cumprod_.size(0)) fail("timestep {} is outside the training schedule", t);
  return alphas_cumprod_.data_ptr<float>()[t];
}

std::vector<float> Scheduler::train_sigmas() const {
  auto s = ((1 - alphas_cumprod_) / alphas_cumprod_).pow(0.5).contiguous();
  return std::vector<float>(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
}

std::vector<double> Scheduler::spaced_timesteps(int n) const {
  const int T = cfg_.num_train_timesteps;
  if (n < 1) fail("the number of steps must be at least 1, got {}", n);
  if (n > T) fail("{} steps is more than the scheduler's {} training timesteps", n, T);
  std::vector<double> ts;
  if (cfg_.timestep_spacing == "linspace") {
    const double step = n > 1 ? static_cast<double>(T - 1) / (n - 1) : 0.0;
    for (int i = 0; i < n; ++i) ts.push_back(i + 1 == n && n > 1 ? T - 1 : i * step);
    std::reverse(ts.begin(), ts.end());
  } else if (cfg_.timestep_spacing == "leading") {
    const int ratio = T / n;
    for (int i = n - 1; i >= 0; --i) ts.push_back(static_cast<double>(i) * ratio + cfg_.steps_offset);
  } else {  // trailing: np.round(np.arange(T, 0, -T/n)) - 1
    const double ratio = static_cast<double>(T) / n;
    const auto count = static_cast<long>(std::ceil((0.0 - T) / -ratio));
    for (long i = 0; i < count; ++i) ts.push_back(std::nearbyint(T - i * ratio) - 1);
  }
  return ts;
}

double np_interp(double x, const std::vector<float>& fp) {
  if (fp.empty()) return 0;
  if (x <= 0) return fp.front();
  const double last = static_cast<double>(fp.size() - 1);
  if (x >= last) return fp.back();
  const auto j = static_cast<std::size_t>(std::floor(x));
  const double slope = (static_cast<double>(fp[j + 1]) - fp[j]) / 1.0;
  return slope * (x - j) + fp[j];
}

double sigma_to_t(double sigma, const std::vector<float>& log_sigmas) {
  const double ls = std::log(std::max(sigma, 1e-10));
  // low_idx: last index whose log sigma is <= ls (cumsum(dists >= 0).argmax), clipped
  long low = 0, count = 0, best = -1, best_val = -1;
  for (std::size_t i = 0; i < log_sigmas.size(); ++i) {
    if (ls - log_sigmas[i] >= 0) ++count;
    if (count > best_val) best_val = count, best = static_cast<long>(i);
  }
  low = std::min<long>(best, static_cast<long>(log_sigmas.size()) - 2);
  const long high = low + 1;
  const double lo = log_sigmas[low], hi = log_sigmas[high];
  double w = (lo - ls) / (lo - hi);
  w = std::clamp(w, 0.0, 1.0);
  return (1 - w) * low + w * high;
}

std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int n) {
  const double rho = 7.0, min_inv = std::pow(sigma_min, 1 / rho), max_inv = std::pow(sigma_max, 1 / rho);
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    const double ramp = n > 1 ? static_cast<double>(i) / (n - 1) : 0.0;
    out.push_back(std::pow(max_inv + ramp * (min_inv - max_inv), rho));
  }
  return out;
}

std::vector<double> exponential_sigmas(double sigma_min, double sigma_max, int n) {
  // np.linspace: start + i * step, the last value exactly `stop`
  const double start = std::log(sigma_max), stop = std::log(sigma_min);
  const double step = n > 1 ? (stop - start) / (n - 1) : 0.0;
  std::vector<double> out;
  for (int i = 0; i < n; ++i) out.push_back(std::exp(i + 1 == n && n > 1 ? stop : i * step + start));
  return out;
}

}  // namespace catimage
