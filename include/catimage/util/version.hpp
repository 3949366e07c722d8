#pragma once

namespace catimage {

// Written into PNG metadata and printed by --version.
inline constexpr const char* kVersionString = "catimage 0.1.0";

}  // namespace catimage
