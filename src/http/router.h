#pragma once
// Routes and the access rule each one declares. The pipeline (pipeline.h) enforces the rule before the
// handler runs, so handlers never check access themselves.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "accounts/model.h"
#include "http/message.h"

namespace postroom::http {

enum class Scope {
  public_route,   // no token needed (health, metrics)
  authenticated,  // any valid token
  account,        // the account in the path (or the token's own account on token-scoped paths)
  organization,   // the organization in the path
};

struct AccessRule {
  Scope scope = Scope::account;
  // What the level is checked on: the account/organization itself, or an account-wide scope such as billing.
  accounts::ResourceType resource = accounts::ResourceType::account;
  int min_level = accounts::level::indeterminate;
  // When set, the level is checked on the project or inbox (`resource`) named by this path parameter instead of
  // on the account: a token granted one sandbox reaches that sandbox's routes and nothing else. A resource that
  // is not in the path's account is 404.
  std::string resource_param;
};

namespace rules {
inline AccessRule open() { return {Scope::public_route, accounts::ResourceType::account, 0, {}}; }
inline AccessRule any_token() { return {Scope::authenticated, accounts::ResourceType::account, 0, {}}; }
inline AccessRule in_account() {
  return {Scope::account, accounts::ResourceType::account, accounts::level::indeterminate, {}};
}
inline AccessRule account_viewer() {
  return {Scope::account, accounts::ResourceType::account, accounts::level::viewer, {}};
}
inline AccessRule account_admin() {
  return {Scope::account, accounts::ResourceType::account, accounts::level::admin, {}};
}
inline AccessRule billing_viewer() {
  return {Scope::account, accounts::ResourceType::billing, accounts::level::viewer, {}};
}
inline AccessRule project_level(const char* param, int min_level) {
  return {Scope::account, accounts::ResourceType::project, min_level, param};
}
inline AccessRule inbox_level(const char* param, int min_level) {
  return {Scope::account, accounts::ResourceType::inbox, min_level, param};
}
inline AccessRule organization_viewer() {
  return {Scope::organization, accounts::ResourceType::organization, accounts::level::viewer, {}};
}
inline AccessRule organization_admin() {
  return {Scope::organization, accounts::ResourceType::organization, accounts::level::admin, {}};
}
}  // namespace rules

// What a handler gets: the request, path parameters, and the resolved principal, tenant and level.
struct Context {
  const Request& request;
  const std::unordered_map<std::string, std::string>& params;
  accounts::Principal principal;
  std::int64_t account_id = 0;
  std::int64_t organization_id = 0;
  int level = 0;  // the principal's level on the rule's resource

  // A positive integer path parameter; anything else is 404 (an id that cannot exist).
  std::int64_t id_param(const std::string& name) const;
};

using Handler = std::function<Response(Context&)>;

struct RouteOptions {
  // A GET that may block (long polling) runs on the worker pool like a write, never on an I/O thread.
  bool blocks = false;
  // Errors in the sending API's shape ({"success":false,"errors":["…"]}) instead of the account API's.
  bool sending_errors = false;
  // A GET that writes (creates something on first use) runs like a write: outside the read snapshot.
  bool writes = false;
  // The handler never waits for a commit: it answers with a deferred response (message.h) settled from the
  // commit callback. With an embedded database such a route runs on an I/O thread like a read.
  bool answers_later = false;
};

struct Route {
  std::string method;
  std::string pattern;  // also the route's name in logs and metrics
  std::vector<std::string> segments;
  AccessRule rule;
  Handler handler;
  // Whether the handler may wait on a write commit. GET/HEAD handlers only read, so with an embedded
  // database they can run on an I/O thread; a GET that writes must be registered with writes = true.
  bool writes = true;
  bool sending_errors = false;
  bool blocks = false;         // may wait a long time (long polling): runs on the server's long-running pool
  bool answers_later = false;  // never waits for its commit (RouteOptions::answers_later)
};

struct RouteMatch {
  const Route* route = nullptr;  // nullptr: no route matches
  std::unordered_map<std::string, std::string> params;
};

class Router {
 public:
  void add(const std::string& method, const std::string& pattern, AccessRule rule, Handler handler,
           RouteOptions options = {});
  // Registers `/api/accounts/{account_id}<suffix>` (what the SDKs call) and its token-scoped alias `/api<suffix>`.
  void add_account_route(const std::string& method, const std::string& suffix, AccessRule rule, Handler handler,
                         RouteOptions options = {});

  // The route for method and path, filling `params`; nullptr when none matches.
  const Route* match(std::string_view method, std::string_view path,
                     std::unordered_map<std::string, std::string>& params) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace postroom::http
