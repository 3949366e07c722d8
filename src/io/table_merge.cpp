#include "catimage/io/table_merge.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

namespace {

void cell_moments(const QualityTable& t, double& mean, double& sd) {
  double s = 0, s2 = 0, w = 0;
  for (const auto& r : t.rows)
    for (double q : r.quality) {
      s += r.weight * q;
      s2 += r.weight * q * q;
      w += r.weight;
    }
  if (!(w > 0)) fail("{}: no rows to take a scale from", t.source);
  mean = s / w;
  sd = std::sqrt(std::max(0.0, s2 / w - mean * mean));
}

}  // namespace

QualityMap matching_map(const QualityTable& from, const QualityTable& to) {
  double mf, sf, mt, st;
  cell_moments(from, mf, sf);
  cell_moments(to, mt, st);
  if (!(sf > 0)) fail("{}: every quality is the same: no scale to match", from.source);
  if (!(st > 0)) fail("{}: every quality is the same: no scale to match", to.source);
  QualityMap m;
  m.scale = st / sf;
  m.shift = mt - m.scale * mf;
  return m;
}

QualityTable mapped(const QualityTable& t, const QualityMap& map) {
  QualityTable out = t;
  out.content_hash.clear();  // not the file's rows any more
  for (auto& r : out.rows)
    for (double& q : r.quality) q = map(q);
  return out;
}

QualityTable merge_tables(const QualityTable& base, const QualityTable& user, double user_weight) {
  if (!(user_weight > 0) || !std::isfinite(user_weight))
    fail("the user rows' weight must be a finite number > 0, got {}", user_weight);
  const std::set<std::string> a(base.candidates.begin(), base.candidates.end()),
      b(user.candidates.begin(), user.candidates.end());
  if (a != b)
    fail(
        "{} has candidates {}, {} has {}: a base table must measure the same candidates (give --base none to "
        "train on your rows alone)",
        base.source, join(base.candidates, ", "), user.source, join(user.candidates, ", "));
  QualityTable out = base.reordered(user.candidates);
  out.source = base.source + " + " + user.source;
  out.content_hash.clear();
  std::set<std::string> ids;
  for (const auto& r : user.rows) ids.insert(r.id);
  for (auto& r : out.rows)
    if (ids.count(r.id)) r.id = "base:" + r.id;
  for (const auto& r : user.rows) {
    QualityRecord q = r;
    q.weight = r.weight * user_weight;
    q.user = true;
    out.rows.push_back(std::move(q));
  }
  return out;
}

}  // namespace catimage
