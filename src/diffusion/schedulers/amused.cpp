#include "amused.hpp"

#include <cmath>
#include <limits>

#include "catimage/util/error.hpp"

namespace catimage {

namespace {

// diffusers' gumbel_noise: -log(-log(u)), u ~ U(0, 1) drawn like `t` from `gen`.
torch::Tensor gumbel_noise(const torch::Tensor& t, at::Generator& gen) {
  auto noise = torch::zeros_like(t).uniform_(0, 1, gen);
  return -torch::log((-torch::log(noise.clamp(1e-20))).clamp(1e-20));
}

// diffusers' mask_by_random_topk: true where the confidence is below the mask_len-th lowest.
torch::Tensor mask_by_random_topk(const torch::Tensor& mask_len, const torch::Tensor& probs,
                                  const torch::Tensor& temperature, at::Generator& gen) {
  auto confidence = torch::log(probs.clamp(1e-20)) + temperature * gumbel_noise(probs, gen);
  auto sorted = std::get<0>(torch::sort(confidence, -1));
  auto cut_off = torch::gather(sorted, 1, mask_len.to(torch::kInt64));
  return confidence < cut_off;
}

}  // namespace

AmusedScheduler::AmusedScheduler(const ConfigView& c) {
  if (!c.has("mask_token_id")) c.bad("mask_token_id", "missing (the transformer's mask token id)");
  mask_token_id_ = c.get_int("mask_token_id");
  if (mask_token_id_ < 0) c.bad("mask_token_id", "must not be negative");
  c.read("masking_schedule", masking_schedule_);
  if (masking_schedule_ != "cosine" && masking_schedule_ != "linear")
    c.bad("masking_schedule", "\"" + masking_schedule_ + "\" is not supported (cosine, linear)");
}

void AmusedScheduler::set_timesteps(int steps, double temperature_start, double temperature_end) {
  if (steps <= 0) fail("the aMUSEd scheduler needs at least one step, got {}", steps);
  timesteps_.clear();
  for (int t = steps - 1; t >= 0; --t) timesteps_.push_back(t);
  temperatures_ = torch::linspace(temperature_start, temperature_end, steps);
}

AmusedScheduler::StepOutput AmusedScheduler::step(const torch::Tensor& logits, std::size_t step,
                                                  const torch::Tensor& sample, std::vector<at::Generator>& generators,
                                                  double starting_mask_ratio) const {
  if (timesteps_.empty()) fail("AmusedScheduler::step before set_timesteps");
  if (step >= timesteps_.size()) fail("AmusedScheduler::step: step {} of {}", step, timesteps_.size());
  if (logits.dim() != 4 || sample.dim() != 3 || logits.size(0) != sample.size(0) || logits.size(2) != sample.size(1) ||
      logits.size(3) != sample.size(2))
    fail("AmusedScheduler::step: logits (B, codebook, h, w) and tokens (B, h, w) do not match");
  if (static_cast<std::int64_t>(generators.size()) != sample.size(0))
    fail("AmusedScheduler::step: {} generators for {} images", generators.size(), sample.size(0));
  auto lg = logits.to(torch::kCPU, torch::kFloat32);
  auto sm = sample.to(torch::kCPU, torch::kInt64);
  std::vector<torch::Tensor> prev, pred;
  for (std::int64_t b = 0; b < sm.size(0); ++b) {
    auto o = step_one(lg.narrow(0, b, 1), step, sm.narrow(0, b, 1), generators[b], starting_mask_ratio);
    prev.push_back(o.prev_sample);
    pred.push_back(o.pred_original_sample);
  }
  return {torch::cat(prev), torch::cat(pred)};
}

// diffusers' AmusedScheduler.step for a batch of one, op for op (the same float32 rounding).
AmusedScheduler::StepOutput AmusedScheduler::step_one(const torch::Tensor& logits, std::size_t step,
                                                      const torch::Tensor& sample0, at::Generator& gen,
                                                      double starting_mask_ratio) const {
  const auto B = logits.size(0), K = logits.size(1), H = logits.size(2), W = logits.size(3);
  auto sample = sample0.reshape({B, H * W});
  auto model_output = logits.reshape({B, K, H * W}).permute({0, 2, 1});
  auto unknown_map = sample == mask_token_id_;
  auto probs = model_output.softmax(-1);
  auto pred = torch::multinomial(probs.reshape({-1, K}), 1, false, gen);
  pred = pred.select(1, 0).view({B, H * W});
  pred = torch::where(unknown_map, pred, sample);

  torch::Tensor prev;
  if (timesteps_[step] == 0) {
    prev = pred;
  } else {
    const auto seq_len = sample.size(1);
    auto step_idx = torch::full({1, 1}, static_cast<std::int64_t>(step), torch::kInt64);
    auto ratio = (step_idx + 1).div(static_cast<std::int64_t>(timesteps_.size()));
    auto mask_ratio = masking_schedule_ == "cosine" ? torch::cos(ratio * M_PI / 2) : 1 - ratio;
    mask_ratio = starting_mask_ratio * mask_ratio;
    auto mask_len = (seq_len * mask_ratio).floor();
    // do not mask more than was masked before; mask at least one
    mask_len = torch::min(unknown_map.sum(-1, true) - 1, mask_len);
    mask_len = torch::max(torch::ones({1}, torch::kInt64), mask_len);
    auto selected = torch::gather(probs, -1, pred.unsqueeze(-1)).select(-1, 0);
    // tokens given in the input keep their place: the highest confidence there is
    selected = torch::where(unknown_map, selected, torch::full_like(selected, std::numeric_limits<float>::max()));
    auto temperature = temperatures_.index_select(0, step_idx.view({-1})).view({1, 1});
    auto masking = mask_by_random_topk(mask_len, selected, temperature, gen);
    prev = torch::where(masking, torch::full_like(pred, mask_token_id_), pred);
  }
  return {prev.reshape({B, H, W}), pred.reshape({B, H, W})};
}

}  // namespace catimage
