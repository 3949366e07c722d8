#include "catimage/io/quality_table.hpp"

#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <unordered_set>

#include "catimage/io/atomic_file.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/hash.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

int QualityTable::index(const std::string& name) const {
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (candidates[i] == name) return static_cast<int>(i);
  return -1;
}

std::vector<double> QualityTable::mean_quality() const {
  std::vector<double> m(candidates.size(), 0.0);
  double total = 0;
  for (const auto& r : rows) {
    total += r.weight;
    for (std::size_t k = 0; k < m.size(); ++k) m[k] += r.weight * r.quality[k];
  }
  for (auto& v : m) v /= rows.empty() ? 1 : total;
  return m;
}

bool QualityTable::has_user_rows() const {
  for (const auto& r : rows)
    if (r.user) return true;
  return false;
}

bool QualityTable::weighted() const {
  for (const auto& r : rows)
    if (r.weight != 1) return true;
  return false;
}

Matrix QualityTable::quality_matrix() const {
  Matrix m(rows.size(), candidates.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t k = 0; k < candidates.size(); ++k) m(i, k) = rows[i].quality[k];
  return m;
}

bool QualityTable::has_costs() const {
  for (const auto& r : rows)
    if (!r.cost.empty()) return true;
  return false;
}

std::vector<double> QualityTable::mean_costs() const {
  std::vector<double> m(candidates.size(), 0.0);
  std::size_t n = 0;
  for (const auto& r : rows) {
    if (r.cost.empty()) continue;
    ++n;
    for (std::size_t k = 0; k < m.size(); ++k) m[k] += r.cost[k];
  }
  if (n == 0) fail("{}: no row has per-prompt \"cost\"; give a candidates config (--config) for costs", source);
  for (auto& v : m) v /= n;
  return m;
}

QualityTable QualityTable::reordered(const std::vector<std::string>& names) const {
  std::vector<int> idx;
  for (const auto& n : names) {
    int i = index(n);
    if (i < 0) fail("{}: no candidate \"{}\" (table has: {})", source, n, join(candidates, ", "));
    idx.push_back(i);
  }
  QualityTable t;
  t.source = source;
  t.content_hash = content_hash;  // the same rows
  t.candidates = names;
  t.rows.reserve(rows.size());
  for (const auto& r : rows) {
    QualityRecord q{r.id, r.prompt, {}, {}, r.line, r.weight, r.user};
    for (int i : idx) q.quality.push_back(r.quality[i]);
    if (!r.cost.empty())
      for (int i : idx) q.cost.push_back(r.cost[i]);
    t.rows.push_back(std::move(q));
  }
  return t;
}

QualityTable QualityTable::subset(const std::vector<std::size_t>& sel) const {
  QualityTable t;
  t.source = source;
  t.candidates = candidates;
  for (auto i : sel) t.rows.push_back(rows.at(i));
  return t;
}

namespace {

// Quality values and costs a table may hold: |q| <= 1e6 keeps every mean, variance and
// predictor statistic finite in float (CLIP scores are ~30, NIMA ~5, costs are seconds); a
// quality of 1e308 trained a predictor with "dev_std": null that route then refused.
constexpr double kValueBound = 1e6;

std::vector<double> read_values(const json& obj, const char* key, const QualityTable& t, const std::string& loc,
                                std::vector<std::string>* define) {
  if (!obj.is_object()) fail("{}: \"{}\" must be an object {{candidate: number}}, got {}", loc, key, json_type(obj));
  if (define) {
    for (auto it = obj.begin(); it != obj.end(); ++it) define->push_back(it.key());
    if (define->empty()) fail("{}: \"{}\" names no candidate", loc, key);
  }
  const auto& names = define ? *define : t.candidates;
  std::vector<double> v;
  v.reserve(names.size());
  for (const auto& n : names) {
    auto it = obj.find(n);
    if (it == obj.end())
      fail("{}: \"{}\" lacks candidate \"{}\" (every line must name: {})", loc, key, n, join(names, ", "));
    if (!it->is_number()) fail("{}: {}.\"{}\": expected a number, got {}", loc, key, n, it->dump());
    double x = it->get<double>();
    if (!std::isfinite(x)) fail("{}: {}.\"{}\": not a finite number", loc, key, n);
    const bool cost = std::string(key) == "cost";  // a negative cost has its own error below
    if ((cost ? x : std::abs(x)) > kValueBound)
      fail(
          "{}: {}.\"{}\": {:g} is out of range: {} must be <= {:g} (larger values overflow the float statistics "
          "predictors keep)",
          loc, key, n, x, cost ? "cost" : "|quality|", kValueBound);
    v.push_back(x);
  }
  if (obj.size() != names.size())
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (std::find(names.begin(), names.end(), it.key()) == names.end())
        fail("{}: {}.\"{}\": unknown candidate (the table's candidates: {})", loc, key, it.key(), join(names, ", "));
  return v;
}

}  // namespace

QualityTable load_quality_table(const std::string& path) {
  QualityTable t;
  t.source = path;
  std::ifstream file(path, std::ios::binary);
  if (!file) fail("{}: cannot open quality table", path);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) fail("{}: read error", path);
  t.content_hash = fnv1a64_hex(bytes);
  std::istringstream in(bytes);
  std::string line;
  long lineno = 0;
  std::unordered_set<std::string> ids;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lineno == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (trim(line).empty()) continue;
    auto loc = where(path, lineno);
    json j = parse_json(line, path, lineno);
    if (!j.is_object()) fail("{}: expected a JSON object, got {}", loc, json_type(j));
    static const std::unordered_set<std::string> allowed = {"id", "prompt", "quality", "cost", "weight", "user"};
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!allowed.count(it.key()))
        fail("{}: unknown key \"{}\" (allowed: id, prompt, quality, cost, weight, user)", loc, it.key());
    QualityRecord r;
    r.line = lineno;
    if (!j.contains("id")) fail("{}: missing key \"id\"", loc);
    if (j["id"].is_string())
      r.id = j["id"].get<std::string>();
    else if (j["id"].is_number_integer())
      r.id = std::to_string(j["id"].get<long long>());
    else
      fail("{}: \"id\" must be a string or integer, got {}", loc, j["id"].dump());
    if (!ids.insert(r.id).second) fail("{}: duplicate id \"{}\"", loc, r.id);
    if (!j.contains("prompt") || !j["prompt"].is_string()) fail("{}: missing key \"prompt\" or not a string", loc);
    r.prompt = j["prompt"].get<std::string>();
    if (!j.contains("quality")) fail("{}: missing key \"quality\"", loc);
    r.quality = read_values(j["quality"], "quality", t, loc, t.rows.empty() ? &t.candidates : nullptr);
    if (j.contains("cost")) {
      r.cost = read_values(j["cost"], "cost", t, loc, nullptr);
      for (std::size_t k = 0; k < r.cost.size(); ++k)
        if (r.cost[k] < 0) fail("{}: cost.\"{}\": negative cost {}", loc, t.candidates[k], r.cost[k]);
    }
    if (j.contains("weight")) {
      const json& w = j["weight"];
      if (!w.is_number() || !std::isfinite(w.get<double>()) || !(w.get<double>() > 0) || w.get<double>() > kValueBound)
        fail("{}: \"weight\": must be a number > 0 and <= {:g}, got {}", loc, kValueBound, w.dump());
      r.weight = w.get<double>();
    }
    if (j.contains("user")) {
      if (!j["user"].is_boolean()) fail("{}: \"user\": must be true or false, got {}", loc, j["user"].dump());
      r.user = j["user"].get<bool>();
    }
    t.rows.push_back(std::move(r));
  }
  if (in.bad()) fail("{}: read error", path);
  if (t.rows.empty()) fail("{}: the quality table has no rows", path);
  return t;
}

void write_quality_record(std::ostream& out, const std::vector<std::string>& candidates, const QualityRecord& r) {
  json j;
  j["id"] = r.id;
  j["prompt"] = r.prompt;
  json q = json::object();
  for (std::size_t k = 0; k < candidates.size(); ++k) q[candidates[k]] = r.quality[k];
  j["quality"] = std::move(q);
  if (!r.cost.empty()) {
    json c = json::object();
    for (std::size_t k = 0; k < candidates.size(); ++k) c[candidates[k]] = r.cost[k];
    j["cost"] = std::move(c);
  }
  if (r.weight != 1) j["weight"] = r.weight;
  if (r.user) j["user"] = true;
  out << j.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
}

void write_quality_table(const std::string& path, const QualityTable& t) {
  AtomicFile f(path);
  for (const auto& r : t.rows) write_quality_record(f.stream(), t.candidates, r);
  f.commit();
}

}  // namespace catimage
