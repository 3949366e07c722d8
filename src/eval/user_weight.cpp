#include "catimage/eval/user_weight.hpp"

#include <algorithm>
#include <cmath>

#include "catimage/io/table_merge.hpp"
#include "catimage/io/table_split.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"

namespace catimage {

const std::vector<double>& default_weight_grid() {
  static const std::vector<double> g = {1, 3, 10, 30};
  return g;
}

double default_user_weight() { return 3.0; }

void check_weight_grid(const std::vector<double>& grid, double reference) {
  for (double w : grid)
    if (!(w > 0) || !std::isfinite(w)) fail("user-row weights must be finite numbers > 0, got {}", w);
  if (std::find(grid.begin(), grid.end(), reference) == grid.end())
    fail("the grid of user-row weights ({}) must hold the reference weight {:g} (--default-weight)", json(grid).dump(),
         reference);
}

json UserWeightChoice::to_json() const {
  return {{"grid", grid},
          {"gain", gain},
          {"reference", reference},
          {"paired_vs_reference", paired},
          {"paired_se", paired_se},
          {"standard_errors_to_move", kUserWeightSe},
          {"chosen", chosen},
          {"folds", folds}};
}

UserWeightChoice choose_user_weight(const QualityTable& base, const QualityTable& user, const std::vector<double>& grid,
                                    int folds, std::uint64_t seed, const TransferMeasure& measure, double reference) {
  UserWeightChoice c;
  c.grid = grid;
  c.reference = c.chosen = reference;
  check_weight_grid(grid, reference);
  const auto ref = std::find(grid.begin(), grid.end(), reference);
  const std::size_t n = user.rows.size();
  if (folds < 2 || n < 2 * static_cast<std::size_t>(folds)) {
    c.gain.assign(grid.size(), std::nan(""));
    c.paired = c.paired_se = c.gain;
    return c;
  }
  c.folds = folds;
  const auto parts = kfold_indices(n, folds, seed);
  // per weight, the gain of every user row when held out
  std::vector<std::vector<double>> g(grid.size(), std::vector<double>(n, 0.0));
  for (const auto& test : parts) {
    std::vector<char> held(n, 0);
    for (std::size_t i : test) held[i] = 1;
    std::vector<std::size_t> rest;
    for (std::size_t i = 0; i < n; ++i)
      if (!held[i]) rest.push_back(i);
    const QualityTable test_rows = user.subset(test), train_user = user.subset(rest);
    for (std::size_t w = 0; w < grid.size(); ++w) {
      const TransferGains tg = measure(merge_tables(base, train_user, grid[w]), test_rows);
      for (std::size_t j = 0; j < test.size(); ++j) g[w][test[j]] = tg.gain[j];
    }
  }
  const std::size_t kr = ref - grid.begin();
  std::size_t best = kr;
  for (std::size_t w = 0; w < grid.size(); ++w) {
    double s = 0, d = 0, d2 = 0;
    for (std::size_t i = 0; i < n; ++i) {
      s += g[w][i];
      const double x = g[w][i] - g[kr][i];
      d += x;
      d2 += x * x;
    }
    c.gain.push_back(s / n);
    const double mean = d / n;
    c.paired.push_back(mean);
    c.paired_se.push_back(n > 1 ? std::sqrt(std::max(0.0, (d2 - n * mean * mean) / (n - 1)) / n) : 0.0);
    if (c.gain[w] > c.gain[best]) best = w;
  }
  c.chosen = c.paired[best] > kUserWeightSe * c.paired_se[best] ? grid[best] : reference;
  spdlog::debug("user-row weight: chose {} (gains {})", c.chosen, json(c.gain).dump());
  return c;
}

}  // namespace catimage
