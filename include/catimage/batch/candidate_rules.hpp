#pragma once
// The families and schedulers a candidates config may name: those of the runtime's
// registries (diffusion/families; schedulers by any name diffusion/schedulers/sampler_names
// accepts), including known ones the runtime cannot run (routing and evaluation need only
// their names).
#include "catimage/io/candidates_config.hpp"

namespace catimage {

CandidateRules runtime_candidate_rules();

}  // namespace catimage
