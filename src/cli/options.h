#pragma once
// Command-line parsing for every `postroom` command. Precedence: flags, then POSTROOM_* environment
// variables, then the config file (--config / POSTROOM_CONFIG), then built-in defaults.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace postroom::cli {

enum class Command { serve, admin_bootstrap, admin_create_user, version };

// admin create-user
struct CreateUserOptions {
  std::string email;
  std::string name;
  std::optional<std::string> password;  // empty: generated and printed
  std::int64_t account_id = 0;          // 0: the installation's first account
  std::string level = "admin";
};

struct CommandLine {
  Command command = Command::serve;
  Config config;
  bool json = false;  // admin bootstrap/create-user --json
  CreateUserOptions create_user;
};

struct ParseOutcome {
  std::optional<CommandLine> command_line;  // empty: nothing to run (help shown or error)
  int exit_code = 0;
  std::string output;  // help or error text to print
};

ParseOutcome parse_command_line(const std::vector<std::string>& args);

}  // namespace postroom::cli
