#include "catimage/util/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace catimage {

void init_logging(Verbosity v) {
  auto logger = spdlog::stderr_color_mt("catimage");
  logger->set_pattern("%^[%l]%$ %v");
  switch (v) {
    case Verbosity::quiet: logger->set_level(spdlog::level::warn); break;
    case Verbosity::normal: logger->set_level(spdlog::level::info); break;
    case Verbosity::verbose: logger->set_level(spdlog::level::debug); break;
  }
  spdlog::set_default_logger(logger);
}

}  // namespace catimage
