#pragma once
// What the scheduler and family registries share: their names joined for --help and errors.
#include <string>
#include <vector>

namespace catimage {

// runnable_only: the entries with a factory (`make`).
template <class Entry>
std::string registry_names(const std::vector<Entry>& registry, const std::string& sep, bool runnable_only) {
  std::string out;
  for (const auto& e : registry)
    if (e.make || !runnable_only) out += (out.empty() ? "" : sep) + e.name;
  return out;
}

}  // namespace catimage
