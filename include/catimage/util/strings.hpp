#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace catimage {

std::string trim(std::string_view s);
std::string to_lower(std::string_view s);
// The pieces between `sep`s, each trimmed ("a, b,,c" -> a, b, "", c; "" -> one empty piece).
std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// A short, printable excerpt of a prompt for messages.
std::string excerpt(std::string_view s, std::size_t max_chars = 60);
// Words of a prompt: maximal runs of bytes that are not ASCII white space (space, \t \n \v \f \r);
// every other byte, UTF-8 included (a no-break space too), is part of a word.
std::size_t count_words(std::string_view s);

}  // namespace catimage
