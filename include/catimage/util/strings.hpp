#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace catimage {

std::string trim(std::string_view s);
std::string to_lower(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// A short, printable excerpt of a prompt for messages.
std::string excerpt(std::string_view s, std::size_t max_chars = 60);

}  // namespace catimage
