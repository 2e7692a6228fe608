#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"

#ifndef POSTROOM_VERSION
#define POSTROOM_VERSION "0.0.0-dev"
#endif

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  const postroom::cli::ParseOutcome outcome = postroom::cli::parse_command_line(args);
  if (!outcome.command_line) {
    (outcome.exit_code == 0 ? std::cout : std::cerr) << outcome.output;
    return outcome.exit_code;
  }
  const auto& command_line = *outcome.command_line;
  try {
    switch (command_line.command) {
      case postroom::cli::Command::version:
        std::cout << "postroom " << POSTROOM_VERSION << "\n";
        return 0;
      case postroom::cli::Command::admin_bootstrap:
        return postroom::cli::run_admin_bootstrap(command_line.config, command_line.json);
      case postroom::cli::Command::admin_create_user:
        return postroom::cli::run_admin_create_user(command_line.config, command_line.create_user, command_line.json);
      case postroom::cli::Command::serve:
        return postroom::cli::run_serve(command_line.config);
    }
  } catch (const std::exception& e) {
    std::cerr << "postroom: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
