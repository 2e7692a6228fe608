// POST/GET/DELETE /api/session: the web UI's sign-in (a Postroom extension). The session lives in an HttpOnly
// cookie; the CSRF token the UI sends back on writes comes in the JSON. The routes are public to the pipeline and
// check the cookie themselves: signing in needs no credential, and "not signed in" has its own answer here.
#include "accounts/sessions.h"
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/json.h"
#include "http/pipeline.h"

namespace postroom::http::api {

namespace {

// The summary GET /api/accounts gives, for the UI's account switcher.
json::array account_summaries(Services& services, const accounts::Principal& principal) {
  json::array out;
  for (const accounts::AccountSummary& summary : services.accounts.list_accounts(principal))
    out.push_back({{"id", summary.account.id},
                   {"name", summary.account.name},
                   {"access_levels", json::array{summary.access_level}}});
  return out;
}

Response session_response(Services& services, const accounts::SessionInfo& info, const std::string& raw) {
  Response response =
      json_response(200, {{"user", {{"id", info.user.id}, {"email", info.user.email}, {"name", info.user.name}}},
                          {"csrf_token", accounts::SessionsService::csrf_token(raw)},
                          {"accounts", account_summaries(services, info.principal)}});
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

bool secure_cookie(const Services& services, const Request& request) {
  return request.secure || services.public_url.starts_with("https://");
}

std::string session_cookie(const std::string& value, std::int64_t max_age, bool secure) {
  std::string cookie = std::string(kSessionCookie) + "=" + value +
                       "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age);
  if (secure) cookie += "; Secure";
  return cookie;
}

// "scheme://host[:port]" of a URL.
std::string origin_of(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto path = url.find('/', scheme_end + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

// A sign-in posted by another site's page (login CSRF: signing the victim in as the attacker) carries that site's
// Origin; our own page sends ours: the public URL's, or that of the host it reached us by.
bool foreign_origin(const Services& services, const Request& request) {
  const auto origin = request.header("origin");
  if (!origin) return false;  // not a browser, or a same-origin request of an older browser
  if (*origin == origin_of(services.public_url)) return false;
  const auto host = request.header("host");
  return !host || *origin != (request.secure ? "https://" : "http://") + std::string(*host);
}

Response not_signed_in() {
  Response response = json_response(401, {{"error", "Not signed in"}});
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

}  // namespace

void add_session_routes(Router& router, Services& services) {
  if (!services.sessions) return;
  accounts::SessionsService& sessions = *services.sessions;

  router.add("POST", "/api/session", rules::open(), [&services, &sessions](Context& context) {
    if (foreign_origin(services, context.request))
      return json_response(403, {{"error", "Sign-in from another site is not allowed"}});
    const json::value body = parse_body(context.request);
    const json::object& object = as_object(body, "");
    const auto email = optional_string(object, "email", "");
    const auto password = optional_string(object, "password", "");
    if (!email || !password) throw BadRequest("Send a JSON object with 'email' and 'password'");
    const accounts::SignInResult result = sessions.sign_in(*email, *password, context.request.remote_address);
    if (result.outcome == accounts::SignInResult::Outcome::throttled)
      return json_response(429, {{"error", "Too many sign-in attempts. Try again in 15 minutes."}});
    if (result.outcome != accounts::SignInResult::Outcome::ok)
      return json_response(401, {{"error", "Invalid email or password"}});
    const auto info = sessions.session(result.session_token);
    if (!info) throw std::runtime_error("a new session is not readable");
    Response response = session_response(services, *info, result.session_token);
    response.headers.emplace_back("Set-Cookie", session_cookie(result.session_token, accounts::kSessionLifetimeSeconds,
                                                               secure_cookie(services, context.request)));
    return response;
  });

  router.add("GET", "/api/session", rules::open(), [&services, &sessions](Context& context) {
    const auto raw = session_credential(context.request);
    const auto info = raw ? sessions.session(*raw) : std::nullopt;
    if (!info) return not_signed_in();
    Response response = session_response(services, *info, *raw);
    // The session slides with use; so does the cookie's lifetime.
    response.headers.emplace_back("Set-Cookie", session_cookie(*raw, accounts::kSessionLifetimeSeconds,
                                                               secure_cookie(services, context.request)));
    return response;
  });

  router.add("DELETE", "/api/session", rules::open(), [&services, &sessions](Context& context) {
    const auto raw = context.request.cookie(kSessionCookie);
    if (!raw || raw->empty() || !sessions.session(*raw)) return not_signed_in();
    const auto presented = context.request.header("x-csrf-token");
    if (!presented || !accounts::SessionsService::csrf_matches(*raw, *presented))
      return json_response(403, {{"error", "Missing or invalid CSRF token"}});
    sessions.sign_out(*raw);
    Response response = no_content();
    response.headers.emplace_back("Set-Cookie", session_cookie("", 0, secure_cookie(services, context.request)));
    response.headers.emplace_back("Cache-Control", "no-store");
    return response;
  });
}

}  // namespace postroom::http::api
