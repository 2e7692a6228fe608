// POST /api/accounts/{account_id}/users and PATCH /api/accounts/{account_id}: Postroom extensions the web UI's
// settings use (adding users who sign in to the UI, renaming the account). Account admins only.
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/json.h"

namespace postroom::http::api {

void add_users_routes(Router& router, Services& services) {
  router.add("POST", "/api/accounts/{account_id}/users", rules::account_admin(), [&services](Context& context) {
    const json::value body = parse_body(context.request);
    const json::object* user = optional_object(as_object(body, ""), "user", "");
    if (!user) throw BadRequest("Send a JSON object with a 'user' object");
    accounts::AccountsService::UserRequest request;
    request.email = optional_string(*user, "email", "user").value_or("");
    request.name = optional_string(*user, "name", "user").value_or("");
    request.password = optional_string(*user, "password", "user");
    request.access_level = optional_scalar_text(*user, "access_level", "user").value_or("viewer");
    const auto result = services.accounts.add_user(context.account_id, request);
    json::object out{{"id", result.user.id},
                     {"email", result.user.email},
                     {"name", result.user.name},
                     {"access_level", result.access_level >= accounts::level::admin ? "admin" : "viewer"}};
    if (result.generated_password) out["password"] = *result.generated_password;
    return json_response(201, out);
  });

  router.add("PATCH", "/api/accounts/{account_id}", rules::account_admin(), [&services](Context& context) {
    const json::value body = parse_body(context.request);
    const json::object* account = optional_object(as_object(body, ""), "account", "");
    if (!account) throw BadRequest("Send a JSON object with an 'account' object");
    const auto name = optional_string(*account, "name", "account");
    if (!name) throw ValidationError("name", "can't be blank");
    const accounts::Account renamed = services.accounts.rename_account(context.account_id, *name);
    return json_response(200, {{"id", renamed.id}, {"name", renamed.name}});
  });
}

}  // namespace postroom::http::api
