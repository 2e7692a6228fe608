#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace postroom {

void configure_logging(const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") throw std::invalid_argument("unknown log level '" + level + "'");
  // Logs go to stderr so that stdout stays clean for machine-readable output (admin bootstrap --json).
  spdlog::drop("postroom");
  auto logger = spdlog::stderr_logger_mt("postroom");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

}  // namespace postroom
