// GET /api/accounts/{id}/account_accesses and DELETE …/account_accesses/{id} (account admins only).
#include <charconv>

#include "core/errors.h"
#include "http/api/routes.h"
#include "http/api/serialize.h"
#include "http/json.h"

namespace postroom::http::api {

static std::vector<std::int64_t> id_list(const Request& request, const std::string& key) {
  std::vector<std::int64_t> ids;
  for (const std::string& text : request.query_values(key)) {
    std::int64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) throw BadRequest("'" + key + "' must list integer ids");
    ids.push_back(value);
  }
  return ids;
}

static json::object access_json(const accounts::AccessEntry& entry) {
  const accounts::AccountAccess& access = entry.access;
  json::object specifier{{"id", access.specifier_id}};
  if (access.specifier_type == accounts::kSpecifierUser) {
    specifier["email"] = entry.email;
    specifier["name"] = entry.name;
    specifier["two_factor_authentication_enabled"] = false;
  } else {
    specifier["email"] = entry.email;
  }
  return {{"id", access.id},
          {"specifier_type", access.specifier_type},
          {"specifier", std::move(specifier)},
          {"resources", grants_json(access.grants)},
          {"permissions",
           {{"can_read", entry.can_read},
            {"can_update", entry.can_update},
            {"can_destroy", entry.can_destroy},
            {"can_leave", entry.can_leave}}}};
}

void add_account_accesses_routes(Router& router, Services& services) {
  router.add_account_route("GET", "/account_accesses", rules::account_admin(), [&services](Context& context) {
    accounts::AccessFilter filter;
    filter.project_ids = id_list(context.request, "project_ids");
    filter.inbox_ids = id_list(context.request, "inbox_ids");
    filter.domain_ids = id_list(context.request, "domain_ids");
    for (auto id : id_list(context.request, "domain_uuids")) filter.domain_ids.push_back(id);
    json::array out;
    for (const auto& entry : services.accounts.list_accesses(context.principal, context.account_id, filter))
      out.push_back(access_json(entry));
    return json_response(200, out);
  });
  router.add_account_route(
      "DELETE", "/account_accesses/{access_id}", rules::account_admin(), [&services](Context& context) {
        const std::int64_t removed = services.accounts.remove_access(context.account_id, context.id_param("access_id"));
        return json_response(200, {{"id", removed}});
      });
}

}  // namespace postroom::http::api
