#pragma once
// User-facing errors: bad input files, bad options. The CLI prints the message and exits 2.
#include <spdlog/fmt/fmt.h>

#include <stdexcept>
#include <string>

namespace catimage {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

// "file:line: message" — the form every input error takes.
std::string where(const std::string& file, long line);

}  // namespace catimage
