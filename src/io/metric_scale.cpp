#include "catimage/io/metric_scale.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "catimage/util/error.hpp"

namespace catimage {

MetricScale metric_scale(const Matrix& q) {
  MetricScale s;
  double sum = 0, sq = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
  std::size_t n = 0;
  for (double v : q.data) {
    if (std::isnan(v)) continue;
    sum += v;
    ++n;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (n == 0) return s;
  s.mean = sum / n;
  for (double v : q.data)
    if (!std::isnan(v)) sq += (v - s.mean) * (v - s.mean);
  s.std = std::max(1e-12, std::sqrt(sq / n));
  s.min = lo;
  s.max = std::max(hi, lo + 1e-12);
  return s;
}

json metric_scale_json(const MetricScale& s) {
  return {{"mean", s.mean}, {"std", s.std}, {"min", s.min}, {"max", s.max}};
}

MetricScale metric_scale_from_json(const json& j, const std::string& origin) {
  MetricScale s;
  auto get = [&](const char* key) {
    if (!j.is_object() || !j.contains(key) || !j.at(key).is_number())
      fail("{}: metric_scale.{} is missing or not a number", origin, key);
    const double v = j.at(key).get<double>();
    if (!std::isfinite(v)) fail("{}: metric_scale.{} is not finite", origin, key);
    return v;
  };
  s.mean = get("mean");
  s.std = get("std");
  s.min = get("min");
  s.max = get("max");
  if (!(s.std > 0) || !(s.max > s.min))
    fail("{}: metric_scale has no spread (std {}, min {}, max {})", origin, s.std, s.min, s.max);
  return s;
}

}  // namespace catimage
