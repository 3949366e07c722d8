#include "catimage/scoring/prompt_ids.hpp"

#include <algorithm>

namespace catimage {

std::size_t PromptIds::truncated_count() const {
  return static_cast<std::size_t>(std::count(truncated.begin(), truncated.end(), true));
}

PromptIds tokenize_prompts(const ClipTokenizer& tok, const std::vector<std::string>& prompts) {
  PromptIds out;
  std::vector<std::int64_t> ids;
  ids.reserve(prompts.size() * static_cast<std::size_t>(tok.max_length()));
  for (const auto& p : prompts) {
    auto v = tok.encode_padded(p);
    ids.insert(ids.end(), v.begin(), v.end());
    out.truncated.push_back(tok.truncates(p));
  }
  out.ids = torch::tensor(ids, torch::TensorOptions().dtype(torch::kInt64))
                .view({static_cast<std::int64_t>(prompts.size()), tok.max_length()});
  return out;
}

}  // namespace catimage
