#include "catimage/batch/candidate_rules.hpp"

#include "catimage/diffusion/families.hpp"
#include "catimage/diffusion/schedulers/registry.hpp"

namespace catimage {

CandidateRules runtime_candidate_rules() {
  CandidateRules r;
  for (const auto& f : family_registry()) r.families.push_back(f.name);
  for (const auto& s : scheduler_registry()) r.schedulers.push_back(s.name);
  return r;
}

}  // namespace catimage
