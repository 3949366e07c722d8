#pragma once
// The scheduler interface and what the diffusers schedulers share: the training noise
// schedule (betas: linear, scaled_linear, squaredcos_cap_v2 or trained_betas; optional
// zero-terminal-SNR rescale) computed with the same float32 tensor operations diffusers
// uses, and the timestep spacings (linspace, leading + steps_offset, trailing).
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "catimage/io/config_view.hpp"

namespace catimage {

// Fresh Gaussian noise shaped like the batch (each image from its own generator).
using NoiseSource = std::function<torch::Tensor()>;

// The scheduler_config.json keys every scheduler reads; the member initialisers are diffusers' defaults.
struct NoiseScheduleConfig {
  int num_train_timesteps = 1000;
  double beta_start = 0.0001, beta_end = 0.02;
  std::string beta_schedule = "linear";  // linear | scaled_linear | squaredcos_cap_v2
  std::vector<double> trained_betas;
  std::string prediction_type = "epsilon";  // epsilon | v_prediction | sample
  std::string timestep_spacing;             // linspace | leading | trailing; the class's default when absent
  int steps_offset = 0;
  bool rescale_betas_zero_snr = false;
  // Reads the shared keys; `spacing_default` is the class's default timestep_spacing.
  static NoiseScheduleConfig from(const ConfigView& c, const std::string& spacing_default);
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::string class_name() const = 0;  // diffusers' class name
  // As image metadata names it, A1111's way: the sampler ("Euler a", "DPM++ 2M"; the scheduler
  // registry's label of the class) and the schedule type ("Karras"; sigma_schedules'
  // schedule_label_for the spacing and sigma options it runs, "" when A1111 has none for them).
  virtual std::string sampler_label() const;
  virtual std::string schedule_label() const;
  virtual void set_timesteps(int steps) = 0;
  // Model timesteps in order (integers for DDIM/DPM/LCM, possibly fractional for Euler).
  const std::vector<double>& timesteps() const { return timesteps_; }
  // The sigma schedule (steps + 1 values) for sigma-based schedulers; empty otherwise.
  const std::vector<float>& sigmas() const { return sigmas_; }
  virtual double init_noise_sigma() const { return 1.0; }
  virtual torch::Tensor scale_model_input(const torch::Tensor& x, std::size_t /*step*/) const { return x; }
  // One denoising step from timesteps()[step]; `noise` is called only by stochastic steps.
  virtual torch::Tensor step(const torch::Tensor& model_output, std::size_t step, const torch::Tensor& sample,
                             const NoiseSource& noise) = 0;
  const NoiseScheduleConfig& schedule() const { return cfg_; }
  const torch::Tensor& alphas_cumprod() const { return alphas_cumprod_; }  // float32 (num_train_timesteps,)

 protected:
  // sigma_based: with zero-terminal-SNR betas, the last ᾱ becomes 2^-24 so that the sigma
  // schedule stays finite (diffusers' Euler, Euler ancestral and DPM-Solver do this; DDIM and LCM do not).
  Scheduler(NoiseScheduleConfig cfg, bool sigma_based);
  float alpha_cumprod(long t) const;        // alphas_cumprod[t]
  std::vector<float> train_sigmas() const;  // ((1 - ᾱ) / ᾱ)^0.5 for every training step
  // diffusers' spacing of `steps` timesteps over the training range (descending, float64).
  std::vector<double> spaced_timesteps(int steps) const;

  NoiseScheduleConfig cfg_;
  torch::Tensor alphas_cumprod_;  // float32, CPU
  std::vector<double> timesteps_;
  std::vector<float> sigmas_;
};

// numpy-compatible helpers, shared by the schedulers.
double np_interp(double x, const std::vector<float>& fp);  // np.interp(x, arange(len), fp)
double sigma_to_t(double sigma, const std::vector<float>& log_sigmas);
std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int steps);
// diffusers' _convert_to_exponential (v0.32): exp(np.linspace(log(sigma_max), log(sigma_min), steps)).
std::vector<double> exponential_sigmas(double sigma_min, double sigma_max, int steps);

}  // namespace catimage
