#pragma once
// Logging setup. Everything logs through spdlog's default logger; one line per event, key=value fields.
#include <string>

namespace postroom {

// Levels: trace, debug, info, warn, error, off. Throws std::invalid_argument on an unknown level.
void configure_logging(const std::string& level);

}  // namespace postroom
