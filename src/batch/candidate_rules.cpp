#include "catimage/batch/candidate_rules.hpp"

#include "catimage/diffusion/families.hpp"
#include "catimage/diffusion/schedulers/sampler_names.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

CandidateRules runtime_candidate_rules() {
  CandidateRules r;
  for (const auto& f : family_registry()) r.families.push_back(f.name);
  r.scheduler_problem = [](const std::string& name) -> std::string {
    try {
      parse_sampler(name);  // known names parse, runnable here or not (routing needs only the name)
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  };
  return r;
}

}  // namespace catimage
