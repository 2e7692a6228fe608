#pragma once
// The middleware every API request passes through, in order: route match → authentication (Bearer or
// Api-Token) → per-token rate limit → tenant and access resolution by the route's rule → handler →
// domain errors mapped to the API's error shapes → access log line and metrics.
#include <functional>

#include "accounts/service.h"
#include "core/metrics.h"
#include "core/rate_limiter.h"
#include "http/message.h"
#include "http/router.h"
#include "store/database.h"

namespace postroom::http {

class Pipeline {
 public:
  Pipeline(const Router& router, store::Database& database, accounts::AccountsService& accounts,
           RateLimiter& rate_limiter, Metrics& metrics)
      : router_(router), database_(database), accounts_(accounts), rate_limiter_(rate_limiter), metrics_(metrics) {}

  Response handle(const Request& request);
  // Matches the route once and keeps the match on the request; true when its handler only reads
  // (see Route::writes), so it may run on an I/O thread.
  bool classify(Request& request) const;
  // True when the request's route may block for long (long polling), so the server runs it on a pool of its
  // own instead of the request workers.
  bool long_running(const Request& request) const;

 private:
  Response dispatch(const Request& request, const Route*& route);
  Response authorize_and_run(const Request& request, const Route& route,
                             const std::unordered_map<std::string, std::string>& params);

  const Router& router_;
  store::Database& database_;
  accounts::AccountsService& accounts_;
  RateLimiter& rate_limiter_;
  Metrics& metrics_;
};

// The raw API token of a request: `Authorization: Bearer <t>` or `Api-Token: <t>`; empty when neither.
std::string extract_token(const Request& request);

}  // namespace postroom::http
