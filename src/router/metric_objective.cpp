#include "catimage/router/metric_objective.hpp"

#include <algorithm>
#include <cmath>

#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

namespace {

std::size_t metric_index(const std::string& name, const std::vector<std::string>& available,
                         const std::string& option) {
  auto it = std::find(available.begin(), available.end(), name);
  if (it == available.end())
    fail("{}: no predictor of metric \"{}\" (metrics: {})", option, name, join(available, ", "));
  return static_cast<std::size_t>(it - available.begin());
}

double parse_number(const std::string& text, const std::string& option, const std::string& item) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  fail("{}: \"{}\" in \"{}\" is not a number", option, text, item);
}

}  // namespace

MetricObjective parse_metric_objective(const std::string& text, const std::vector<std::string>& available,
                                       const std::string& option) {
  if (available.empty()) fail("{}: no metric predicted", option);
  MetricObjective o;
  o.label = text;
  if (trim(text) == "mixed") {
    o.metrics = available;
    o.weights.assign(available.size(), 1.0);
    o.scaling = MetricScaling::min_max;
    return o;
  }
  for (const std::string& item : split(text, ',')) {
    if (item.empty()) fail("{}: empty item in \"{}\" (write METRIC:WEIGHT[,METRIC:WEIGHT...] or mixed)", option, text);
    const auto colon = item.find(':');
    const std::string name = trim(item.substr(0, colon));
    const double w = colon == std::string::npos ? 1.0 : parse_number(trim(item.substr(colon + 1)), option, item);
    if (w < 0) fail("{}: the weight of {} must be >= 0, got {}", option, name, w);
    metric_index(name, available, option);
    if (std::find(o.metrics.begin(), o.metrics.end(), name) != o.metrics.end())
      fail("{}: metric {} named twice in \"{}\"", option, name, text);
    o.metrics.push_back(name);
    o.weights.push_back(w);
  }
  if (std::none_of(o.weights.begin(), o.weights.end(), [](double w) { return w > 0; }))
    fail("{}: every weight in \"{}\" is 0", option, text);
  return o;
}

std::string equal_weights_objective(const std::vector<std::string>& metrics) {
  std::vector<std::string> items;
  for (const auto& m : metrics) items.push_back(m + ":1");
  return join(items, ",");
}

Matrix combine_metrics(const MetricObjective& o, const std::vector<std::string>& available,
                       const std::vector<const Matrix*>& q, const std::vector<MetricScale>& scales) {
  if (q.size() != available.size() || scales.size() != available.size())
    fail("objective: {} prediction tables and {} scales for {} metrics", q.size(), scales.size(), available.size());
  Matrix out;
  for (std::size_t j = 0; j < o.metrics.size(); ++j) {
    const std::size_t k = metric_index(o.metrics[j], available, "objective");
    const Matrix& m = *q[k];
    if (out.rows == 0 && out.cols == 0) out = Matrix(m.rows, m.cols);
    if (m.rows != out.rows || m.cols != out.cols)
      fail("objective: the {} predictions are {}x{}, the others {}x{}", o.metrics[j], m.rows, m.cols, out.rows,
           out.cols);
    const MetricScale& s = scales[k];
    const double scale = o.scaling == MetricScaling::min_max ? s.max - s.min : s.std;
    if (!(scale > 0) || !std::isfinite(scale)) fail("objective: metric {} has no spread to scale by", o.metrics[j]);
    const double f = o.weights[j] / scale;
    for (std::size_t c = 0; c < m.data.size(); ++c) out.data[c] += f * m.data[c];
  }
  return out;
}

std::vector<MetricFloor> parse_metric_floors(const std::vector<std::string>& items,
                                             const std::vector<std::string>& available, const std::string& option) {
  std::vector<MetricFloor> out;
  for (const std::string& raw : items) {
    const std::string item = trim(raw);
    const auto eq = item.find('=');
    MetricFloor f;
    f.metric = trim(item.substr(0, eq));
    if (f.metric.empty()) fail("{}: empty metric in \"{}\" (write METRIC or METRIC=VALUE)", option, raw);
    metric_index(f.metric, available, option);
    if (eq != std::string::npos) f.value = parse_number(trim(item.substr(eq + 1)), option, item);
    for (const auto& g : out)
      if (g.metric == f.metric) fail("{}: metric {} has two floors", option, f.metric);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace catimage
