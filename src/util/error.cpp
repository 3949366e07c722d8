#include "catimage/util/error.hpp"

namespace catimage {

std::string where(const std::string& file, long line) { return line > 0 ? fmt::format("{}:{}", file, line) : file; }

}  // namespace catimage
