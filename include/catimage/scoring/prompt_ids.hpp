#pragma once
// Prompts to CLIP token ids for scoring: <bos> ... <eos> padded to the tokenizer's
// model_max_length (77). Longer prompts are truncated, as transformers' CLIPProcessor does;
// which ones were cut is kept so a caller can report it.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "catimage/text/clip_tokenizer.hpp"

namespace catimage {

struct PromptIds {
  torch::Tensor ids;            // (B, max_length) int64
  std::vector<bool> truncated;  // per prompt: did it have more tokens than fit?
  std::size_t truncated_count() const;
};

PromptIds tokenize_prompts(const ClipTokenizer& tok, const std::vector<std::string>& prompts);

}  // namespace catimage
