// libFuzzer harness: the candidates config (load_candidates / parse_candidates in
// src/io/candidates_config.cpp) with the runtime's families and schedulers. A config either
// fails with catimage::Error or is a valid set; candidates_to_json of a valid set parses back
// to the same set.
#include <cmath>
#include <set>

#include "catimage/io/candidates_config.hpp"
#include "catimage/util/error.hpp"
#include "fuzz_common.hpp"

using namespace catimage;

namespace {
bool same(const Candidate& a, const Candidate& b) {
  return a.name == b.name && a.family == b.family && a.weights == b.weights && a.vae == b.vae && a.steps == b.steps &&
         a.scheduler == b.scheduler && a.guidance == b.guidance && a.width == b.width && a.height == b.height &&
         a.cost == b.cost && a.description == b.description;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const CandidateRules rules{
      {"sd15", "sd21", "sdxl", "amused", "other"}, [](const std::string& s) -> std::string {
        static const std::set<std::string> known = {"ddim", "euler", "euler_ancestral", "dpmpp_2m", "lcm", "amused"};
        return known.count(s) ? "" : "not one of the harness's schedulers";
      }};
  const std::string path = fuzz::write_input("candidates.json", data, size);
  CandidateSet set;
  try {
    set = load_candidates(path, rules);
  } catch (const Error&) {
    return 0;
  }
  FUZZ_CHECK(set.size() > 0);
  FUZZ_CHECK(set.cost_unit == "seconds" || set.cost_unit == "tflops");
  std::set<std::string> names;
  for (const auto& c : set.candidates) {
    FUZZ_CHECK(!c.name.empty() && names.insert(c.name).second);
    FUZZ_CHECK(set.index(c.name) >= 0);
    FUZZ_CHECK(std::isfinite(c.cost) && c.cost >= 0);
    if (c.guidance) FUZZ_CHECK(std::isfinite(*c.guidance) && *c.guidance >= 0);
    if (c.steps) FUZZ_CHECK(*c.steps >= 1);
    if (c.width) FUZZ_CHECK(*c.width >= 8 && *c.width % 8 == 0);
    if (c.height) FUZZ_CHECK(*c.height >= 8 && *c.height % 8 == 0);
  }
  // Round trip (paths are already resolved, so no base folder the second time).
  CandidateSet back = parse_candidates(candidates_to_json(set), "round-trip", "", rules);
  FUZZ_CHECK(back.size() == set.size() && back.cost_unit == set.cost_unit && back.description == set.description);
  for (std::size_t i = 0; i < set.size(); ++i) FUZZ_CHECK(same(set.candidates[i], back.candidates[i]));
  FUZZ_CHECK(match_candidates(set, set.names(), "self").size() == set.size());
  return 0;
}
