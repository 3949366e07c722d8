#pragma once
// Seeded splits of a quality table (train/val/test), optionally holding out a slice of
// short prompts as a different-style test set.
#include <cstdint>
#include <vector>

#include "catimage/io/quality_table.hpp"

namespace catimage {

struct TableSplit {
  std::vector<QualityTable> parts;  // one per ratio
  QualityTable heldout;             // prompts with <= holdout_max_words words (if > 0)
};

// ratios must be positive; they are normalised. The same seed gives the same split.
TableSplit split_table(const QualityTable& t, const std::vector<double>& ratios, std::uint64_t seed,
                       int holdout_max_words = 0);

}  // namespace catimage
