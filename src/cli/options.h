#pragma once
// Command-line parsing for every `postroom` command. Precedence: flags, then POSTROOM_* environment
// variables, then the config file (--config / POSTROOM_CONFIG), then built-in defaults.
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace postroom::cli {

enum class Command { serve, admin_bootstrap, version };

struct CommandLine {
  Command command = Command::serve;
  Config config;
  bool json = false;  // admin bootstrap --json
};

struct ParseOutcome {
  std::optional<CommandLine> command_line;  // empty: nothing to run (help shown or error)
  int exit_code = 0;
  std::string output;  // help or error text to print
};

ParseOutcome parse_command_line(const std::vector<std::string>& args);

}  // namespace postroom::cli
