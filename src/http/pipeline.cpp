#include "http/pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
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

std::optional<std::string> session_credential(const Request& request) {
  if (request.header("authorization") || request.header("api-token")) return std::nullopt;
  auto cookie = request.cookie(kSessionCookie);
  if (!cookie || cookie->empty()) return std::nullopt;
  return cookie;
}

static bool is_safe_method(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
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

// A path id: positive integer, or -1 (which no row has) for anything else.
static std::int64_t parse_id(const std::string& text) {
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value <= 0) return -1;
  return value;
}

static std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The sending endpoints answer errors as {"success":false,"errors":["…"]} (WIRE-COMPATIBILITY §2.4); the shared
// pipeline errors (401, 403, 404, 429, …) arrive here in the account API's shape and are restated.
static Response in_sending_shape(Response response) {
  json::value body;
  boost::system::error_code ec;
  body = json::parse(response.body, ec);
  if (ec || !body.is_object()) return response;
  const json::object& object = body.get_object();
  if (object.contains("success")) return response;  // already in the sending shape
  json::array errors;
  switch (response.status) {
    case 401:
      errors.emplace_back("Unauthorized");
      break;
    case 403:
      errors.emplace_back("Forbidden");
      break;
    default:
      for (const char* key : {"error", "errors"}) {
        const json::value* value = object.if_contains(key);
        if (!value) continue;
        if (value->is_string()) {
          errors.emplace_back(value->get_string());
        } else if (value->is_object()) {
          for (const auto& field : value->get_object())
            for (const json::value& message : field.value().as_array())
              errors.emplace_back(std::string(field.key()) + " " + std::string(message.as_string()));
        }
      }
  }
  Response restated = json_response(response.status, json::object{{"success", false}, {"errors", std::move(errors)}});
  restated.headers = std::move(response.headers);
  return restated;
}

Response Pipeline::dispatch(const Request& request, const Route*& route) {
  std::shared_ptr<const RouteMatch> match = request.match;
  if (!match) {
    auto fresh = std::make_shared<RouteMatch>();
    fresh->route = router_.match(request.method, request.path, fresh->params);
    match = std::move(fresh);
  }
  route = match->route;
  if (!route) return not_found();
  if (!route->writes && route->rule.scope != Scope::public_route) {
    // A read-only request runs in one read snapshot: authentication, access check and handler agree. Public
    // routes (static UI files, health) have nothing to agree on and open one only if they read.
    return database_.read([&](store::Tx&) { return authorize_and_run(request, *route, match->params); });
  }
  return authorize_and_run(request, *route, match->params);
}

Response Pipeline::authorize_and_run(const Request& request, const Route& route,
                                     const std::unordered_map<std::string, std::string>& params) {
  if (route.rule.scope == Scope::public_route) {
    Context context{request, params, {}, 0, 0, 0};
    return route.handler(context);
  }

  // Authentication and the access check share one read of the store.
  const AccessRule& rule = route.rule;
  std::int64_t account_id = 0, organization_id = 0;
  const std::optional<std::string> session = sessions_ ? session_credential(request) : std::nullopt;
  auto resource_for = [&](const accounts::Principal& principal) -> std::optional<accounts::ResourceRef> {
    if (rule.scope == Scope::account) {
      // Account-scoped paths name the account; token-scoped aliases mean the token's own account.
      account_id = params.count("account_id") ? parse_id(params.at("account_id")) : principal.account_id;
      // Resource-scoped rules first need some access in the account; the resource is checked below.
      if (!rule.resource_param.empty()) return accounts::ResourceRef{accounts::ResourceType::account, account_id};
      return accounts::ResourceRef{rule.resource, account_id};
    }
    if (rule.scope == Scope::organization) {
      organization_id = parse_id(params.at("organization_id"));
      return accounts::ResourceRef{accounts::ResourceType::organization, organization_id};
    }
    return std::nullopt;
  };
  // Either way authentication and the access check share one read snapshot.
  auto authorization = session
                           ? accounts_.authorize_with(
                                 [&](store::Tx& tx) { return sessions_->authenticate_in(tx, *session); }, resource_for)
                           : accounts_.authorize(extract_token(request), resource_for);
  if (!authorization) return unauthorized();
  // A browser sends the cookie with any request to us, also one a foreign page triggers: writes must prove they
  // come from our own page, which alone can read the CSRF token.
  if (session && !is_safe_method(request.method)) {
    const auto presented = request.header("x-csrf-token");
    if (!presented || !accounts::SessionsService::csrf_matches(*session, *presented))
      return json_response(403, {{"error", "Missing or invalid CSRF token"}});
  }

  const std::string limit_key = (session ? "user:" : "token:") + std::to_string(authorization->principal.id);
  const auto decision = rate_limiter_.check(limit_key, now_ms());
  if (!decision.allowed) {
    Response response = rate_limited();
    response.headers.emplace_back("X-Ratelimit-Limit", std::to_string(decision.limit));
    response.headers.emplace_back("X-Ratelimit-Remaining", "0");
    return response;
  }
  if (rule.scope == Scope::account || rule.scope == Scope::organization) {
    if (account_id < 0 || organization_id < 0) return not_found();  // an id that cannot exist
    if (!rule.resource_param.empty()) {
      if (authorization->level == 0) return forbidden();
      const auto it = params.find(rule.resource_param);
      const std::int64_t resource_id = it == params.end() ? -1 : parse_id(it->second);
      if (resource_id < 0) return not_found();
      const auto level = accounts_.level_in_account(authorization->principal, {rule.resource, resource_id}, account_id);
      if (!level) return not_found();
      authorization->level = *level;
    }
    if (authorization->level < rule.min_level || authorization->level == 0) return forbidden();
  }
  Context context{request,    params,          std::move(authorization->principal),
                  account_id, organization_id, authorization->level};
  return then_finish(route.handler(context), [decision](Response response) {
    response.headers.emplace_back("X-Ratelimit-Limit", std::to_string(decision.limit));
    response.headers.emplace_back("X-Ratelimit-Remaining", std::to_string(decision.remaining));
    return response;
  });
}

bool Pipeline::classify(Request& request) const {
  auto match = std::make_shared<RouteMatch>();
  match->route = router_.match(request.method, request.path, match->params);
  // A handler that answers later still does its work before answering: with a large body (a message with
  // attachments) that work would hold up every other connection of the I/O thread, so it goes to the workers.
  constexpr std::size_t kInlineBodyLimit = 64 * 1024;
  const bool never_waits = match->route == nullptr || !match->route->writes ||
                           (match->route->answers_later && request.body.size() <= kInlineBodyLimit);
  request.match = std::move(match);
  return never_waits;
}

bool Pipeline::long_running(const Request& request) const {
  if (request.match) return request.match->route && request.match->route->blocks;
  std::unordered_map<std::string, std::string> params;
  const Route* route = router_.match(request.method, request.path, params);
  return route && route->blocks;
}

Response Pipeline::error_response(std::exception_ptr error, const std::string& request_id) const {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const NotFound&) {
    return not_found();
  } catch (const Forbidden&) {
    return forbidden();
  } catch (const ValidationError& e) {
    return unprocessable(e.errors);
  } catch (const BadRequest& e) {
    return bad_request(e.what());
  } catch (const std::exception& e) {
    spdlog::error("request_id={} unhandled error: {}", request_id, e.what());
  } catch (...) {
    spdlog::error("request_id={} unhandled error of an unknown type", request_id);
  }
  return internal_error();
}

Response Pipeline::finish(Response response, const Route* route, std::chrono::steady_clock::time_point started,
                          std::string_view method, std::string_view path, std::string_view request_id,
                          std::string_view remote) const {
  if (route && route->sending_errors && response.status >= 400) response = in_sending_shape(std::move(response));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string_view route_name = route ? std::string_view(route->pattern) : std::string_view("unmatched");
  // Unmatched requests may carry any method token: fold them so clients cannot mint metric series.
  static constexpr std::string_view known[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
  const bool known_method = std::find(std::begin(known), std::end(known), method) != std::end(known);
  metrics_.observe_request(route_name, known_method ? method : "OTHER", response.status, seconds);
  if (spdlog::should_log(spdlog::level::info))
    spdlog::info("request id={} method={} path=\"{}\" route=\"{}\" status={} duration_ms={:.3f} remote={}", request_id,
                 loggable(method), loggable(path), route_name, response.status, seconds * 1000, remote);
  return response;
}

// Answers to the browser's session carry the signed-in user's data: no cache may keep them.
static void mark_private(Response& response) {
  if (response.stream) return;  // event streams are sent with their own Cache-Control
  for (const auto& [name, value] : response.headers)
    if (name == "Cache-Control") return;
  response.headers.emplace_back("Cache-Control", "no-store");
}

Response Pipeline::handle(const Request& request) {
  const auto started = std::chrono::steady_clock::now();
  const Route* route = nullptr;
  Response response;
  try {
    response = dispatch(request, route);
  } catch (...) {
    response = error_response(std::current_exception(), request.request_id);
  }
  const bool by_session =
      sessions_ && route && route->rule.scope != Scope::public_route && session_credential(request).has_value();
  if (!response.deferred) {
    if (by_session) mark_private(response);
    return finish(std::move(response), route, started, request.method, request.path, request.request_id,
                  request.remote_address);
  }
  // The request may be gone when the response arrives: the last steps keep copies of what they need.
  auto settled = std::make_shared<DeferredResponse>();
  response.deferred->then([this, settled, route, started, method = request.method, path = request.path,
                           request_id = request.request_id, remote = request.remote_address,
                           by_session](Response arrived, std::exception_ptr error) {
    if (error) arrived = error_response(std::move(error), request_id);
    if (by_session) mark_private(arrived);
    settled->complete(finish(std::move(arrived), route, started, method, path, request_id, remote));
  });
  return deferred_response(std::move(settled));
}

}  // namespace postroom::http
