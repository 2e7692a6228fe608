#pragma once
// The inbox and project objects as the real API writes them (WIRE-COMPATIBILITY §4.2), shared by the projects
// and inboxes resources.
#include "http/json.h"
#include "sandbox/inboxes.h"

namespace postroom::http::api {

json::object inbox_json(const sandbox::Inbox& inbox, const sandbox::SandboxEndpoints& endpoints,
                        const SandboxSettings& settings);
json::object project_json(const sandbox::Project& project, const sandbox::SandboxEndpoints& endpoints,
                          const SandboxSettings& settings);

}  // namespace postroom::http::api
