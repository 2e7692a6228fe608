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
  if (!route->writes) {
    // A read-only request runs in one read snapshot: authentication, access check and handler agree.
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
  auto authorization = accounts_.authorize(
      extract_token(request), [&](const accounts::Principal& principal) -> std::optional<accounts::ResourceRef> {
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
      });
  if (!authorization) return unauthorized();

  const auto decision = rate_limiter_.check("token:" + std::to_string(authorization->principal.id), now_ms());
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
  Response response = route.handler(context);
  response.headers.emplace_back("X-Ratelimit-Limit", std::to_string(decision.limit));
  response.headers.emplace_back("X-Ratelimit-Remaining", std::to_string(decision.remaining));
  return response;
}

bool Pipeline::classify(Request& request) const {
  auto match = std::make_shared<RouteMatch>();
  match->route = router_.match(request.method, request.path, match->params);
  const bool read_only = match->route == nullptr || !match->route->writes;
  request.match = std::move(match);
  return read_only;
}

bool Pipeline::long_running(const Request& request) const {
  if (request.match) return request.match->route && request.match->route->blocks;
  std::unordered_map<std::string, std::string> params;
  const Route* route = router_.match(request.method, request.path, params);
  return route && route->blocks;
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
  if (route && route->sending_errors && response.status >= 400) response = in_sending_shape(std::move(response));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string_view route_name = route ? std::string_view(route->pattern) : std::string_view("unmatched");
  // Unmatched requests may carry any method token: fold them so clients cannot mint metric series.
  static constexpr std::string_view known[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
  const bool known_method = std::find(std::begin(known), std::end(known), request.method) != std::end(known);
  metrics_.observe_request(route_name, known_method ? std::string_view(request.method) : "OTHER", response.status,
                           seconds);
  if (spdlog::should_log(spdlog::level::info))
    spdlog::info("request id={} method={} path=\"{}\" route=\"{}\" status={} duration_ms={:.3f} remote={}",
                 request.request_id, loggable(request.method), loggable(request.path), route_name, response.status,
                 seconds * 1000, request.remote_address);
  return response;
}

}  // namespace postroom::http
