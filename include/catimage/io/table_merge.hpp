#pragma once
// Merging a user's quality table with a base table (`catimage adapt`): the base rows, put on the
// user's candidate order (and, optionally, on the user's scale), then the user's rows with
// their weight multiplied by `user_weight`. Both tables must have the same candidates.
#include <string>

#include "catimage/io/quality_table.hpp"

namespace catimage {

// An affine map of qualities, q -> scale * q + shift.
struct QualityMap {
  double scale = 1, shift = 0;
  double operator()(double q) const { return scale * q + shift; }
};

// The map that gives `from`'s qualities (every cell, weighted by the rows' weights) the mean and
// standard deviation of `to`'s: for tables scored on different scales (another CLIP model).
QualityMap matching_map(const QualityTable& from, const QualityTable& to);

// `t` with every quality mapped.
QualityTable mapped(const QualityTable& t, const QualityMap& map);

// base (reordered to user's candidates) + user rows (weights times `user_weight` > 0, marked
// "user": they train the predictors' user-domain feature). A base row whose id is also a user
// row's is renamed "base:ID". Fails naming both files when the candidates differ.
QualityTable merge_tables(const QualityTable& base, const QualityTable& user, double user_weight);

}  // namespace catimage
