#pragma once
// diffusers' AmusedScheduler: MaskGIT-style iterative unmasking of VQ token ids. Each step
// samples every masked token from the softmax of its logits, then re-masks the least confident
// ones (confidence: log-probability plus temperature-scaled Gumbel noise) so that a cosine (or
// linear) share of the tokens stays masked. Not a noise-schedule Scheduler: it works on token
// ids, so it is its own class, used by the aMUSEd pipeline; the registry lists it as "amused".
// Randomness comes from one CPU generator per image, each row drawn as diffusers draws a batch of one.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "catimage/io/config_view.hpp"

namespace catimage {

class AmusedScheduler {
 public:
  static constexpr const char* kClassName = "AmusedScheduler";
  explicit AmusedScheduler(const ConfigView& scheduler_config);

  std::int64_t mask_token_id() const { return mask_token_id_; }
  const std::string& masking_schedule() const { return masking_schedule_; }  // cosine | linear
  std::string sampler_label() const { return "aMUSEd"; }

  // diffusers' set_timesteps(steps, temperature=(start, end)): timesteps steps-1 ... 0 and the
  // temperatures linspace(start, end, steps); diffusers' single-number temperature t is (t, 0.01).
  void set_timesteps(int steps, double temperature_start = 2.0, double temperature_end = 0.0);
  const std::vector<std::int64_t>& timesteps() const { return timesteps_; }
  const torch::Tensor& temperatures() const { return temperatures_; }  // float32 (steps,)

  struct StepOutput {
    torch::Tensor prev_sample;           // (B, h, w) int64: the next step's tokens (some masked again)
    torch::Tensor pred_original_sample;  // (B, h, w) int64: every masked token sampled
  };
  // Step `step` of timesteps(): logits (B, codebook, h, w), sample (B, h, w) int64 token ids,
  // generators: one CPU generator per row. Runs in float32 on the CPU; returns CPU tensors.
  StepOutput step(const torch::Tensor& logits, std::size_t step, const torch::Tensor& sample,
                  std::vector<at::Generator>& generators, double starting_mask_ratio = 1.0) const;

 private:
  StepOutput step_one(const torch::Tensor& logits, std::size_t step, const torch::Tensor& sample, at::Generator& gen,
                      double starting_mask_ratio) const;
  std::int64_t mask_token_id_ = 0;
  std::string masking_schedule_ = "cosine";
  std::vector<std::int64_t> timesteps_;
  torch::Tensor temperatures_;
};

}  // namespace catimage
