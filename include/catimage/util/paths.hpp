#pragma once
// Where the shipped data (models/, configs/) and the sentencepiece shim are found at run
// time. Nothing about the build tree is compiled in: a binary finds them relative to itself,
// in the same layout in the build tree and in an install prefix, or through CATIMAGE_HOME.
#include <string>
#include <vector>

namespace catimage {

// Directory of the running executable.
std::string executable_dir();

// Folders searched for shipped data, in order:
//   $CATIMAGE_HOME                       (a catimage checkout or data folder)
//   <exe dir>/share/catimage             (the build tree: CMake links it to the sources)
//   <exe dir>/../share/catimage          (an install prefix: bin/catimage, share/catimage/)
std::vector<std::string> resource_roots();

// Finds a shipped resource (e.g. "models/tokenizer/prompts.model", "configs/default.json")
// in resource_roots(). Returns "" if none has it.
std::string find_resource(const std::string& rel);

// Whether `a` and `b` are one existing file, however spelled (symlinks, "..", hard links).
bool same_file(const std::string& a, const std::string& b);

}  // namespace catimage
