#pragma once
// The PNG file name of a prompt's image, formed from its id so that distinct ids never share
// a name and ids that are already safe file names are kept as they are.
#include <string>

namespace catimage {

// The id itself when it is 1 to 80 characters of [A-Za-z0-9._-] not starting with '.';
// otherwise the id with every other byte replaced by '_', cut to 64 bytes, then '-' and the
// first 12 hex digits of the FNV-1a hash of the full id (e.g. "a cat" -> "a_cat-1f3c...").
std::string image_stem(const std::string& id);

}  // namespace catimage
