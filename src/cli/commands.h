#pragma once
// What each `postroom` command does, wired from the parsed command line.
#include "cli/options.h"

namespace postroom::cli {

int run_serve(const Config& config);
int run_admin_bootstrap(const Config& config, bool json);
int run_admin_create_user(const Config& config, const CreateUserOptions& options, bool json);

}  // namespace postroom::cli
