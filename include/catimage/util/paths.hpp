#pragma once
#include <string>

namespace catimage {

// Directory of the running executable.
std::string executable_dir();
// Finds a shipped resource (e.g. "models/tokenizer/prompts.model", "configs/default.json"):
// $CATIMAGE_HOME/<rel>, then next to the executable and its parent, then the source tree the
// binary was built from. Returns "" if none exists.
std::string find_resource(const std::string& rel);

}  // namespace catimage
