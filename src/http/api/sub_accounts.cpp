// GET/POST /api/organizations/{id}/sub_accounts.
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/json.h"

namespace postroom::http::api {

void add_sub_accounts_routes(Router& router, Services& services) {
  router.add("GET", "/api/organizations/{organization_id}/sub_accounts", rules::organization_viewer(),
             [&services](Context& context) {
               json::array out;
               for (const auto& account : services.accounts.list_sub_accounts(context.organization_id))
                 out.push_back({{"id", account.id}, {"name", account.name}});
               return json_response(200, out);
             });
  router.add("POST", "/api/organizations/{organization_id}/sub_accounts", rules::organization_admin(),
             [&services](Context& context) {
               const json::value body = parse_body(context.request);
               const json::object* account = optional_object(as_object(body, ""), "account", "");
               const auto name = account ? optional_string(*account, "name", "account") : std::nullopt;
               // The real API answers a missing name with 400 (recorded), not 422.
               if (!name || name->find_first_not_of(" \t") == std::string::npos)
                 return unprocessable({{"name", {"can't be blank"}}}, 400);
               const accounts::Account created = services.accounts.create_sub_account(context.organization_id, *name);
               return json_response(200, {{"id", created.id}, {"name", created.name}});
             });
}

}  // namespace postroom::http::api
