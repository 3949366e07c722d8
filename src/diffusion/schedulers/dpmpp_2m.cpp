#include "dpmpp_2m.hpp"

#include <cmath>

#include "catimage/diffusion/schedulers/sigma_schedules.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

DPMSolverMultistepScheduler::DPMSolverMultistepScheduler(const ConfigView& c)
    : Scheduler(NoiseScheduleConfig::from(c, "linspace"), true) {
  c.read("solver_order", order_);
  if (order_ != 1 && order_ != 2) c.bad("solver_order", "only orders 1 and 2 are implemented (DPM++ 2M)");
  auto algo = c.get_string("algorithm_type", "dpmsolver++");
  if (algo != "dpmsolver++" && algo != "sde-dpmsolver++")
    c.bad("algorithm_type", "only \"dpmsolver++\" and \"sde-dpmsolver++\" are implemented");
  sde_ = algo == "sde-dpmsolver++";
  auto solver = c.get_string("solver_type", "midpoint");
  if (solver != "midpoint" && solver != "heun") c.bad("solver_type", "expected \"midpoint\" or \"heun\"");
  heun_ = solver == "heun";
  c.read("lower_order_final", lower_order_final_);
  c.read("euler_at_final", euler_at_final_);
  c.read("use_karras_sigmas", karras_);
  c.read("use_exponential_sigmas", exponential_);
  if (karras_ && exponential_)
    c.bad("use_exponential_sigmas", "use_karras_sigmas and use_exponential_sigmas cannot both be true");
  c.read("final_sigmas_type", final_sigmas_type_);
  if (final_sigmas_type_ != "zero" && final_sigmas_type_ != "sigma_min")
    c.bad("final_sigmas_type", "expected \"zero\" or \"sigma_min\"");
  c.read("lambda_min_clipped", lambda_min_clipped_);
  c.require_defaults({{"variance_type", nullptr},
                      {"thresholding", false},
                      {"use_beta_sigmas", false},
                      {"use_lu_lambdas", false},
                      {"use_flow_sigmas", false},
                      {"use_dynamic_shifting", false}});
}

std::string DPMSolverMultistepScheduler::sampler_label() const {
  if (order_ == 1) return sde_ ? "DPM++ 1S SDE" : "DPM++ 1S";
  return sde_ ? "DPM++ 2M SDE" : "DPM++ 2M";
}

std::string DPMSolverMultistepScheduler::schedule_label() const {
  return schedule_label_for(cfg_.timestep_spacing, karras_, exponential_);
}

void DPMSolverMultistepScheduler::set_timesteps(int n) {
  const int T = cfg_.num_train_timesteps;
  if (n < 1) fail("the number of steps must be at least 1, got {}", n);
  if (n > T) fail("{} steps is more than the scheduler's {} training timesteps", n, T);
  // last_timestep: training steps whose lambda is above lambda_min_clipped
  auto lambda = (alphas_cumprod_.sqrt().log() - (1 - alphas_cumprod_).sqrt().log()).flip(0).contiguous();
  long clipped = 0;
  for (long i = 0; i < lambda.size(0); ++i)
    if (lambda.data_ptr<float>()[i] < lambda_min_clipped_) clipped = i + 1;
  const long last = T - clipped;
  std::vector<double> ts;
  if (cfg_.timestep_spacing == "linspace") {
    const double step = static_cast<double>(last - 1) / n;
    for (int i = n; i >= 1; --i) ts.push_back(std::nearbyint(i == n ? last - 1 : i * step));
  } else if (cfg_.timestep_spacing == "leading") {
    const long ratio = last / (n + 1);
    for (int i = n; i >= 1; --i) ts.push_back(static_cast<double>(i * ratio + cfg_.steps_offset));
  } else {
    const double ratio = static_cast<double>(T) / n;
    const auto count = static_cast<long>(std::ceil((0.0 - last) / -ratio));
    for (long i = 0; i < count; ++i) ts.push_back(std::nearbyint(last - i * ratio) - 1);
  }
  const auto train = train_sigmas();
  std::vector<double> sig;
  if (karras_) {
    std::vector<float> log_sigmas;
    for (float s : train) log_sigmas.push_back(std::log(s));
    sig = karras_sigmas(train.front(), train.back(), n);
    ts.clear();
    for (double s : sig) {
      double t = sigma_to_t(s, log_sigmas);
      ts.push_back(cfg_.beta_schedule != "squaredcos_cap_v2" ? std::nearbyint(t) : t);
    }
  } else if (exponential_) {  // not rounded: the int64 timesteps truncate (diffusers v0.32)
    std::vector<float> log_sigmas;
    for (float s : train) log_sigmas.push_back(std::log(s));
    sig = exponential_sigmas(train.front(), train.back(), n);
    ts.clear();
    for (double s : sig) ts.push_back(sigma_to_t(s, log_sigmas));
  } else {
    for (double t : ts) sig.push_back(np_interp(t, train));
  }
  const double final_sigma =
      final_sigmas_type_ == "zero" ? 0.0 : std::pow((1 - alpha_cumprod(0)) / alpha_cumprod(0), 0.5);
  sigmas_.clear();
  for (double s : sig) sigmas_.push_back(static_cast<float>(s));
  sigmas_.push_back(static_cast<float>(final_sigma));
  timesteps_.clear();
  for (double t : ts) timesteps_.push_back(static_cast<double>(static_cast<long long>(t)));
  outputs_.assign(order_, torch::Tensor());
  lower_order_nums_ = 0;
}

namespace {
struct AlphaSigma {
  float alpha, sigma, lambda;
};
AlphaSigma alpha_sigma(float s) {
  const float a = 1.0f / std::pow(s * s + 1.0f, 0.5f);
  const float sg = s * a;
  return {a, sg, std::log(a) - std::log(sg)};
}
}  // namespace

torch::Tensor DPMSolverMultistepScheduler::step(const torch::Tensor& out, std::size_t i, const torch::Tensor& sample,
                                                const NoiseSource& noise) {
  const std::size_t n = timesteps_.size();
  const bool final_step = i == n - 1;
  const bool lower_final =
      final_step && (euler_at_final_ || (lower_order_final_ && n < 15) || final_sigmas_type_ == "zero");
  // (lower_order_second only matters for third order, which is not implemented)
  auto x = sample.to(torch::kFloat32);
  auto m = out.to(torch::kFloat32);
  const auto s0 = alpha_sigma(sigmas_.at(i));
  torch::Tensor x0;
  if (cfg_.prediction_type == "epsilon") {
    x0 = (x - s0.sigma * m) / s0.alpha;
  } else if (cfg_.prediction_type == "v_prediction") {
    x0 = s0.alpha * x - s0.sigma * m;
  } else {
    x0 = m;
  }
  for (int k = 0; k + 1 < order_; ++k) outputs_[k] = outputs_[k + 1];
  outputs_.back() = x0;

  // the SDE draws its noise on every step, the last one too (where sigma 0 multiplies it away)
  const torch::Tensor z = sde_ ? noise().to(torch::kFloat32) : torch::Tensor();
  const auto t = alpha_sigma(sigmas_.at(i + 1));
  const float h = t.lambda - s0.lambda;
  torch::Tensor prev;
  if (sde_) {
    const float decay = std::exp(-2.0f * h);
    const auto noise_term = t.sigma * std::sqrt(1.0f - decay) * z;
    if (order_ == 1 || lower_order_nums_ < 1 || lower_final) {
      prev = (t.sigma / s0.sigma * std::exp(-h)) * x + (t.alpha * (1 - decay)) * x0 + noise_term;
    } else {
      const auto s1 = alpha_sigma(sigmas_.at(i - 1));
      const float r0 = (s0.lambda - s1.lambda) / h;
      const auto& m0 = outputs_[order_ - 1];
      auto D1 = (1.0f / r0) * (m0 - outputs_[order_ - 2]);
      prev = (t.sigma / s0.sigma * std::exp(-h)) * x + (t.alpha * (1 - decay)) * m0 +
             (heun_ ? t.alpha * ((1.0f - decay) / (-2.0f * h) + 1.0f) : 0.5f * (t.alpha * (1 - decay))) * D1 +
             noise_term;
    }
  } else if (order_ == 1 || lower_order_nums_ < 1 || lower_final) {
    prev = (t.sigma / s0.sigma) * x - (t.alpha * (std::exp(-h) - 1.0f)) * x0;
  } else {
    const auto s1 = alpha_sigma(sigmas_.at(i - 1));
    const float h0 = s0.lambda - s1.lambda, r0 = h0 / h;
    const auto& m0 = outputs_[order_ - 1];
    const auto& m1 = outputs_[order_ - 2];
    auto D1 = (1.0f / r0) * (m0 - m1);
    if (!heun_) {
      prev = (t.sigma / s0.sigma) * x - (t.alpha * (std::exp(-h) - 1.0f)) * m0 -
             0.5f * (t.alpha * (std::exp(-h) - 1.0f)) * D1;
    } else {
      prev = (t.sigma / s0.sigma) * x - (t.alpha * (std::exp(-h) - 1.0f)) * m0 +
             (t.alpha * ((std::exp(-h) - 1.0f) / h + 1.0f)) * D1;
    }
  }
  if (lower_order_nums_ < order_) ++lower_order_nums_;
  return prev;
}

}  // namespace catimage
