#pragma once
#include <spdlog/spdlog.h>

namespace catimage {

enum class Verbosity { quiet, normal, verbose };

// Logs go to stderr; stdout is reserved for data (JSON, tables).
void init_logging(Verbosity v);

}  // namespace catimage
