#include "catimage/eval/step_ladder.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <map>

namespace catimage {

bool parse_ladder_name(const std::string& candidate, std::string& family, int& steps) {
  const auto at = candidate.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 >= candidate.size() || candidate.size() - at > 7) return false;
  int s = 0;
  for (std::size_t i = at + 1; i < candidate.size(); ++i) {
    if (candidate[i] < '0' || candidate[i] > '9') return false;
    s = s * 10 + (candidate[i] - '0');
  }
  if (s <= 0) return false;
  family = candidate.substr(0, at);
  steps = s;
  return true;
}

StepLadders step_ladders(const QualityTable& t) {
  StepLadders out;
  std::map<std::string, std::vector<std::pair<int, std::size_t>>> rungs;  // family -> (steps, column)
  for (std::size_t k = 0; k < t.candidates.size(); ++k) {
    std::string family;
    int steps = 0;
    if (parse_ladder_name(t.candidates[k], family, steps)) rungs[family].emplace_back(steps, k);
  }
  const auto means = t.mean_quality();
  std::string widest;
  for (auto& [family, r] : rungs) {
    if (r.size() < 2) continue;
    std::sort(r.begin(), r.end());
    StepCurve c;
    c.label = family;
    for (const auto& [s, k] : r) {
      c.steps.push_back(s);
      c.quality.push_back(means[k]);
    }
    if (widest.empty() || r.size() > rungs[widest].size()) widest = family;
    out.families.push_back(std::move(c));
  }
  if (widest.empty() || t.rows.empty()) return out;
  // Prompts ordered by what more steps buy them on the widest ladder: last rung minus first.
  const auto& r = rungs[widest];
  std::vector<std::size_t> order(t.rows.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto gain = [&](std::size_t i) { return t.rows[i].quality[r.back().second] - t.rows[i].quality[r.front().second]; };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return gain(a) < gain(b); });
  std::vector<std::size_t> chosen = {order.front(), order[order.size() / 2], order.back()};
  chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
  const char* role[] = {"gains least", "median", "gains most"};
  for (std::size_t j = 0; j < chosen.size(); ++j) {
    const auto& row = t.rows[chosen[j]];
    std::string text = row.prompt.size() > 48 ? row.prompt.substr(0, 45) + "..." : row.prompt;
    StepCurve c;
    c.label = fmt::format("{} ({}): {}", row.id, chosen.size() == 3 ? role[j] : "", text);
    for (const auto& [s, k] : r) {
      c.steps.push_back(s);
      c.quality.push_back(row.quality[k]);
    }
    out.prompts.push_back(std::move(c));
  }
  out.prompts_family = widest;
  return out;
}

std::string step_ladders_csv(const StepLadders& s) {
  auto quote = [](const std::string& x) {
    std::string q = "\"";
    for (char ch : x) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  std::string out = "kind,label,steps,quality\n";
  for (const auto* list : {&s.families, &s.prompts})
    for (const auto& c : *list)
      for (std::size_t i = 0; i < c.steps.size(); ++i)
        out += fmt::format("{},{},{},{:.6f}\n", list == &s.families ? "family" : "prompt", quote(c.label), c.steps[i],
                           c.quality[i]);
  return out;
}

}  // namespace catimage
