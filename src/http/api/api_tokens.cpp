// API tokens: list, create, get, reset (the old token keeps working for 12 hours), delete.
#include "core/clock.h"
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/api/serialize.h"
#include "http/json.h"

namespace postroom::http::api {

static json::object token_json(const accounts::ApiToken& token) {
  return {{"id", token.id},
          {"name", token.name},
          {"last_4_digits", token.last_4_digits},
          {"created_by", token.created_by},
          {"expires_at", optional_time(token.expires_at)},
          {"resources", grants_json(token.grants)}};
}

static Response created_json(const accounts::CreatedToken& created) {
  json::object body = token_json(created.token);
  body["token"] = created.secret;
  return json_response(200, body);
}

// Reads "expires_at" (ISO 8601 or null) when present.
static void read_expiry(const json::object& root, accounts::TokenRequest& request) {
  const auto it = root.find("expires_at");
  if (it == root.end()) return;
  request.has_expires_at = true;
  if (it->value().is_null()) return;
  if (!it->value().is_string()) throw BadRequest("'expires_at' must be an ISO 8601 date-time string or null");
  std::int64_t when = 0;
  if (!parse_iso8601(std::string(it->value().get_string()), when))
    throw ValidationError("expires_at", "is not a valid ISO 8601 date-time");
  request.expires_at = when;
}

static accounts::TokenRequest read_create_request(const Request& http_request) {
  const json::value body = parse_body(http_request);
  const json::object& root = as_object(body, "");
  accounts::TokenRequest request;
  request.name = optional_string(root, "name", "").value_or("");
  if (const json::array* resources = optional_array(root, "resources", "")) {
    for (std::size_t i = 0; i < resources->size(); ++i) {
      const std::string where = "resources[" + std::to_string(i) + "]";
      const json::object& item = as_object((*resources)[i], where);
      request.resources.push_back({optional_string(item, "resource_type", where).value_or(""),
                                   optional_scalar_text(item, "resource_id", where).value_or(""),
                                   optional_scalar_text(item, "access_level", where).value_or("")});
    }
  }
  read_expiry(root, request);
  return request;
}

void add_api_tokens_routes(Router& router, Services& services) {
  router.add_account_route("GET", "/api_tokens", rules::in_account(), [&services](Context& context) {
    json::array out;
    for (const auto& token : services.accounts.list_tokens(context.principal, context.account_id, context.level))
      out.push_back(token_json(token));
    return json_response(200, out);
  });
  router.add_account_route("POST", "/api_tokens", rules::account_admin(), [&services](Context& context) {
    return created_json(
        services.accounts.create_token(context.principal, context.account_id, read_create_request(context.request)));
  });
  router.add_account_route("GET", "/api_tokens/{id}", rules::in_account(), [&services](Context& context) {
    return json_response(200, token_json(services.accounts.get_token(context.principal, context.account_id,
                                                                     context.level, context.id_param("id"))));
  });
  router.add_account_route("POST", "/api_tokens/{id}/reset", rules::account_admin(), [&services](Context& context) {
    const std::int64_t id = context.id_param("id");
    accounts::TokenRequest overrides;
    const json::value body = parse_body(context.request);
    read_expiry(as_object(body, ""), overrides);
    return created_json(services.accounts.reset_token(context.account_id, id, overrides));
  });
  router.add_account_route("DELETE", "/api_tokens/{id}", rules::account_admin(), [&services](Context& context) {
    services.accounts.delete_token(context.account_id, context.id_param("id"));
    return no_content();
  });
}

}  // namespace postroom::http::api
