#pragma once
// Prompts grouped by what they say: spherical k-means (cosine) on the TF-IDF features the
// predictors use, k-means++ seeding, a fixed number of Lloyd iterations. Used to hold whole
// kinds of prompts out in cross-validation (eval/cluster_cv.hpp).
#include <cstdint>
#include <string>
#include <vector>

namespace catimage {

struct PromptClusters {
  std::vector<int> label;             // cluster of each prompt
  std::vector<std::size_t> size;      // prompts per cluster
  std::vector<std::size_t> exemplar;  // per cluster, the prompt nearest its centre
};

// k >= 2 and at most the number of prompts; the same seed gives the same clusters.
PromptClusters cluster_prompts(const std::vector<std::string>& prompts, int k, std::uint64_t seed, int iterations = 25);

// n of the clustered prompts (all when n >= their number), stratified by cluster so that every
// kind of prompt is seen: each cluster gets its proportional share of n (largest remainders;
// every non-empty cluster at least one while n allows, larger clusters first), drawn at random
// within the cluster (seeded). Indices in ascending order.
std::vector<std::size_t> stratified_sample(const PromptClusters& pc, std::size_t n, std::uint64_t seed);

}  // namespace catimage
