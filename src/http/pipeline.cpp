#include "http/pipeline.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>

#include "core/errors.h"
#include "http/json.h"

namespace postroom::http {

std::string extract_token(const Request& request) {
  if (auto authorization = request.header("authorization")) {
    std::string_view value = *authorization;
    if (value.size() > 7 && (value.substr(0, 7) == "Bearer " || value.substr(0, 7) == "bearer ")) {
      value.remove_prefix(7);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      return std::string(value);
    }
  }
  if (auto token = request.header("api-token")) return std::string(*token);
  return {};
}

// Request text in a log line: bounded, with control characters escaped so input cannot forge log lines.
static std::string loggable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  if (text.size() > 200) out += "...";
  return out;
}

static std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Response Pipeline::dispatch(const Request& request, const Route*& route) {
  std::unordered_map<std::string, std::string> params;
  route = router_.match(request.method, request.path, params);
  if (!route) return not_found();

  if (route->rule.scope == Scope::public_route) {
    Context context{request, std::move(params), {}, 0, 0, 0};
    return route->handler(context);
  }

  const std::string token = extract_token(request);
  auto principal = accounts_.authenticate(token);
  if (!principal) return unauthorized();

  const auto decision = rate_limiter_.check("token:" + std::to_string(principal->id), now_ms());
  if (!decision.allowed) {
    Response response = rate_limited();
    response.headers.emplace_back("X-Ratelimit-Limit", std::to_string(decision.limit));
    response.headers.emplace_back("X-Ratelimit-Remaining", "0");
    return response;
  }

  Context context{request, std::move(params), std::move(*principal), 0, 0, 0};
  const AccessRule& rule = route->rule;
  if (rule.scope == Scope::account) {
    // Account-scoped paths name the account; token-scoped aliases mean the token's own account.
    context.account_id =
        context.params.count("account_id") ? context.id_param("account_id") : context.principal.account_id;
    context.level = accounts_.level_on(context.principal, {rule.resource, context.account_id});
    if (context.level < rule.min_level || context.level == 0) return forbidden();
  } else if (rule.scope == Scope::organization) {
    context.organization_id = context.id_param("organization_id");
    context.level =
        accounts_.level_on(context.principal, {accounts::ResourceType::organization, context.organization_id});
    if (context.level < rule.min_level || context.level == 0) return forbidden();
  }

  Response response = route->handler(context);
  response.headers.emplace_back("X-Ratelimit-Limit", std::to_string(decision.limit));
  response.headers.emplace_back("X-Ratelimit-Remaining", std::to_string(decision.remaining));
  return response;
}

Response Pipeline::handle(const Request& request) {
  const auto started = std::chrono::steady_clock::now();
  const Route* route = nullptr;
  Response response;
  try {
    response = dispatch(request, route);
  } catch (const NotFound&) {
    response = not_found();
  } catch (const Forbidden&) {
    response = forbidden();
  } catch (const ValidationError& e) {
    response = unprocessable(e.errors);
  } catch (const BadRequest& e) {
    response = bad_request(e.what());
  } catch (const std::exception& e) {
    spdlog::error("request_id={} unhandled error: {}", request.request_id, e.what());
    response = internal_error();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string route_name = route ? route->pattern : "unmatched";
  metrics_.observe_request(route_name, request.method, response.status, seconds);
  spdlog::info("request id={} method={} path=\"{}\" route=\"{}\" status={} duration_ms={:.3f} remote={}",
               request.request_id, loggable(request.method), loggable(request.path), route_name, response.status,
               seconds * 1000, request.remote_address);
  return response;
}

}  // namespace postroom::http
