// GET /api/accounts: the accounts the token can reach, with its access level in each.
#include "http/api/routes.h"
#include "http/json.h"

namespace postroom::http::api {

void add_accounts_routes(Router& router, Services& services) {
  router.add("GET", "/api/accounts", rules::any_token(), [&services](Context& context) {
    json::array out;
    for (const accounts::AccountSummary& summary : services.accounts.list_accounts(context.principal)) {
      out.push_back({{"id", summary.account.id},
                     {"name", summary.account.name},
                     {"access_levels", json::array{summary.access_level}}});
    }
    return json_response(200, out);
  });
}

}  // namespace postroom::http::api
