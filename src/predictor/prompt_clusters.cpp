#include "catimage/predictor/prompt_clusters.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "catimage/util/error.hpp"
#include "predictor/ridge.hpp"
#include "predictor/tfidf.hpp"

namespace catimage {

PromptClusters cluster_prompts(const std::vector<std::string>& prompts, int k, std::uint64_t seed, int iterations) {
  const std::size_t n = prompts.size();
  if (k < 2) fail("clustering needs at least 2 clusters (got {})", k);
  if (n < static_cast<std::size_t>(k)) fail("clustering: {} prompts cannot make {} clusters", n, k);
  TfidfVectorizer vec;
  vec.fit(prompts, 2);
  const std::size_t nf = vec.size();
  std::vector<SparseRow> X(n);
  for (std::size_t i = 0; i < n; ++i) X[i] = vec.transform(prompts[i]);
  std::vector<std::vector<float>> centre(k, std::vector<float>(nf, 0.0f));
  auto set_centre = [&](int c, const SparseRow& r) {
    std::fill(centre[c].begin(), centre[c].end(), 0.0f);
    for (std::size_t j = 0; j < r.idx.size(); ++j) centre[c][r.idx[j]] = r.val[j];
  };
  // k-means++ on cosine distance (rows are L2-normalised blocks: the dot product ranks as cosine).
  std::mt19937_64 rng(seed);
  set_centre(0, X[rng() % n]);
  std::vector<double> dist(n, std::numeric_limits<double>::infinity());
  for (int c = 1; c < k; ++c) {
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      dist[i] = std::min(dist[i], std::max(0.0, 2.0 - sparse_dot(X[i], centre[c - 1].data())));
      total += dist[i] * dist[i];
    }
    double pick = std::uniform_real_distribution<double>(0, total)(rng);
    std::size_t chosen = n - 1;
    for (std::size_t i = 0; i < n; ++i) {
      pick -= dist[i] * dist[i];
      if (pick <= 0) {
        chosen = i;
        break;
      }
    }
    set_centre(c, X[chosen]);
  }
  PromptClusters out;
  out.label.assign(n, 0);
  std::vector<double> best_sim(n, 0);
  for (int it = 0; it <= iterations; ++it) {
    bool changed = false;
    for (std::size_t i = 0; i < n; ++i) {
      int arg = 0;
      double best = -std::numeric_limits<double>::infinity();
      for (int c = 0; c < k; ++c) {
        const double s = sparse_dot(X[i], centre[c].data());
        if (s > best) {
          best = s;
          arg = c;
        }
      }
      changed |= arg != out.label[i] || it == 0;
      out.label[i] = arg;
      best_sim[i] = best;
    }
    if (!changed || it == iterations) break;
    // new centres: normalised means; an emptied cluster takes the prompt farthest from its centre
    for (auto& c : centre) std::fill(c.begin(), c.end(), 0.0f);
    std::vector<std::size_t> count(k, 0);
    for (std::size_t i = 0; i < n; ++i) {
      ++count[out.label[i]];
      for (std::size_t j = 0; j < X[i].idx.size(); ++j) centre[out.label[i]][X[i].idx[j]] += X[i].val[j];
    }
    for (int c = 0; c < k; ++c) {
      if (count[c] == 0) {
        std::size_t far = 0;
        for (std::size_t i = 1; i < n; ++i)
          if (best_sim[i] < best_sim[far]) far = i;
        set_centre(c, X[far]);
        best_sim[far] = std::numeric_limits<double>::infinity();
        continue;
      }
      double norm = 0;
      for (float v : centre[c]) norm += double(v) * v;
      norm = std::sqrt(norm);
      if (norm > 0)
        for (float& v : centre[c]) v = static_cast<float>(v / norm);
    }
  }
  out.size.assign(k, 0);
  out.exemplar.assign(k, 0);
  std::vector<double> top(k, -std::numeric_limits<double>::infinity());
  for (std::size_t i = 0; i < n; ++i) {
    const int c = out.label[i];
    ++out.size[c];
    if (best_sim[i] > top[c]) {
      top[c] = best_sim[i];
      out.exemplar[c] = i;
    }
  }
  return out;
}

std::vector<std::size_t> stratified_sample(const PromptClusters& pc, std::size_t n, std::uint64_t seed) {
  const std::size_t total = pc.label.size(), k = pc.size.size();
  std::vector<std::vector<std::size_t>> members(k);
  for (std::size_t i = 0; i < total; ++i) members.at(pc.label[i]).push_back(i);
  std::vector<std::size_t> out;
  if (n >= total) {
    for (std::size_t i = 0; i < total; ++i) out.push_back(i);
    return out;
  }
  // Every non-empty cluster one prompt while n allows (larger clusters first), the rest
  // proportionally by largest remainders.
  std::vector<std::size_t> order;
  for (std::size_t c = 0; c < k; ++c)
    if (!members[c].empty()) order.push_back(c);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return members[a].size() > members[b].size(); });
  std::vector<std::size_t> take(k, 0);
  std::size_t left = n;
  for (std::size_t c : order)
    if (left) take[c] = 1, --left;
  const std::size_t rest = left;
  std::vector<std::pair<double, std::size_t>> remainder;  // (fractional share, cluster)
  for (std::size_t c : order) {
    const double share = static_cast<double>(rest) * members[c].size() / total;
    const std::size_t whole = std::min(static_cast<std::size_t>(share), members[c].size() - take[c]);
    take[c] += whole;
    left -= whole;
    remainder.push_back({share - static_cast<double>(whole), c});
  }
  std::stable_sort(remainder.begin(), remainder.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [frac, c] : remainder)  // largest remainders first
    if (left && take[c] < members[c].size()) ++take[c], --left;
  for (std::size_t c : order)  // still short where clusters are full: the largest with room
    while (left && take[c] < members[c].size()) ++take[c], --left;
  std::mt19937_64 rng(seed);
  for (std::size_t c = 0; c < k; ++c) {
    auto& m = members[c];
    std::shuffle(m.begin(), m.end(), rng);
    for (std::size_t j = 0; j < take[c]; ++j) out.push_back(m[j]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace catimage
