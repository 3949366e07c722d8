#pragma once
// Base64 (RFC 4648, with padding), for data: URIs.
#include <string>
#include <string_view>

namespace catimage {

std::string base64(std::string_view bytes);

}  // namespace catimage
