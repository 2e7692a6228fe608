#pragma once
// The middleware every API request passes through, in order: route match → authentication (Bearer or
// Api-Token, else the web UI's session cookie plus its CSRF header on writes) → per-token (per-user) rate
// limit → tenant and access resolution by the route's rule → handler → domain errors mapped to the API's error
// shapes → access log line and metrics.
#include <chrono>
#include <exception>
#include <functional>
#include <string_view>

#include "accounts/service.h"
#include "accounts/sessions.h"
#include "core/metrics.h"
#include "core/rate_limiter.h"
#include "http/message.h"
#include "http/router.h"
#include "store/database.h"

namespace postroom::http {

class Pipeline {
 public:
  // Without `sessions` only API tokens authenticate.
  Pipeline(const Router& router, store::Database& database, accounts::AccountsService& accounts,
           RateLimiter& rate_limiter, Metrics& metrics, accounts::SessionsService* sessions = nullptr)
      : router_(router),
        database_(database),
        accounts_(accounts),
        rate_limiter_(rate_limiter),
        metrics_(metrics),
        sessions_(sessions) {}

  // The response, or a deferred one (message.h) when the route answers later; either way it has passed every
  // step above (a deferred response passes them when it arrives).
  Response handle(const Request& request);
  // Matches the route once and keeps the match on the request; true when its handler never waits for a commit
  // (it only reads, see Route::writes, or it answers later and the body is small), so it may run on an I/O
  // thread.
  bool classify(Request& request) const;
  // True when the request's route may block for long (long polling), so the server runs it on a pool of its
  // own instead of the request workers.
  bool long_running(const Request& request) const;

 private:
  Response dispatch(const Request& request, const Route*& route);
  // The response for an error a handler threw (or settled a deferred response with).
  Response error_response(std::exception_ptr error, const std::string& request_id) const;
  // The last steps of every response: the sending API's error shape, metrics and the log line.
  Response finish(Response response, const Route* route, std::chrono::steady_clock::time_point started,
                  std::string_view method, std::string_view path, std::string_view request_id,
                  std::string_view remote) const;
  Response authorize_and_run(const Request& request, const Route& route,
                             const std::unordered_map<std::string, std::string>& params);

  const Router& router_;
  store::Database& database_;
  accounts::AccountsService& accounts_;
  RateLimiter& rate_limiter_;
  Metrics& metrics_;
  accounts::SessionsService* sessions_;
};

// The web UI's session cookie.
inline constexpr const char* kSessionCookie = "postroom_session";

// The raw session of a request that authenticates with the session cookie: it has the cookie and neither an
// Authorization nor an Api-Token header (a token always wins). Empty otherwise.
std::optional<std::string> session_credential(const Request& request);

// The raw API token of a request: `Authorization: Bearer <t>` or `Api-Token: <t>`; empty when neither.
std::string extract_token(const Request& request);

}  // namespace postroom::http
