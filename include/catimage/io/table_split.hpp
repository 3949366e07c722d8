#pragma once
// Seeded splits of a quality table (train/val/test), optionally holding out a slice of
// short prompts as a different-style test set; seeded k-fold partitions of rows.
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

// The test rows of each of `folds` folds of rows 0..rows-1: disjoint, together every row,
// sizes differing by at most one, each sorted. The same seed gives the same folds.
std::vector<std::vector<std::size_t>> kfold_indices(std::size_t rows, int folds, std::uint64_t seed);

}  // namespace catimage
