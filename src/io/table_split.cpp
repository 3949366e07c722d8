#include "catimage/io/table_split.hpp"

#include <algorithm>
#include <numeric>
#include <random>

#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

TableSplit split_table(const QualityTable& t, const std::vector<double>& ratios, std::uint64_t seed,
                       int holdout_max_words) {
  if (ratios.empty()) fail("split: no ratios");
  double total = 0;
  for (double r : ratios) {
    if (!(r > 0)) fail("split: ratios must be positive");
    total += r;
  }
  std::vector<std::size_t> pool, held;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const bool short_prompt =
        holdout_max_words > 0 && count_words(t.rows[i].prompt) <= static_cast<std::size_t>(holdout_max_words);
    (short_prompt ? held : pool).push_back(i);
  }
  // Fisher-Yates with our own draws: std::shuffle's algorithm is not fixed across libraries.
  std::mt19937_64 rng(seed);
  for (std::size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[rng() % i]);
  TableSplit s;
  std::size_t at = 0;
  double cum = 0;
  for (std::size_t k = 0; k < ratios.size(); ++k) {
    cum += ratios[k];
    std::size_t end =
        k + 1 == ratios.size() ? pool.size() : static_cast<std::size_t>(std::llround(cum / total * pool.size()));
    std::vector<std::size_t> idx(pool.begin() + at, pool.begin() + end);
    std::sort(idx.begin(), idx.end());  // keep the table's order inside each part
    s.parts.push_back(t.subset(idx));
    at = end;
  }
  s.heldout = t.subset(held);
  return s;
}

std::vector<std::vector<std::size_t>> kfold_indices(std::size_t rows, int folds, std::uint64_t seed) {
  if (folds < 2) fail("cross-validation needs at least 2 folds (got {})", folds);
  if (rows < static_cast<std::size_t>(folds)) fail("cross-validation: {} rows cannot make {} folds", rows, folds);
  std::vector<std::size_t> order(rows);
  for (std::size_t i = 0; i < rows; ++i) order[i] = i;
  // Fisher-Yates with our own draws (as split_table): std::shuffle is not fixed across libraries.
  std::mt19937_64 rng(seed);
  for (std::size_t i = rows; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  std::vector<std::vector<std::size_t>> out(folds);
  for (std::size_t i = 0; i < rows; ++i) out[i % folds].push_back(order[i]);
  for (auto& f : out) std::sort(f.begin(), f.end());
  return out;
}

}  // namespace catimage
