// PUT …/account_accesses/{id}/permissions/bulk and GET …/permissions/resources.
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/json.h"

namespace postroom::http::api {

static json::array nodes_json(const std::vector<accounts::ResourceNode>& nodes) {
  json::array out;
  for (const auto& node : nodes) {
    out.push_back({{"id", node.id},
                   {"name", node.name},
                   {"type", node.type},
                   {"access_level", node.access_level},
                   {"resources", nodes_json(node.resources)}});
  }
  return out;
}

void add_permissions_routes(Router& router, Services& services) {
  router.add_account_route(
      "PUT", "/account_accesses/{access_id}/permissions/bulk", rules::account_admin(), [&services](Context& context) {
        const json::value body = parse_body(context.request);
        const json::object& root = as_object(body, "");
        const json::array* list = optional_array(root, "permissions", "");
        if (!list) throw BadRequest("'permissions' is required");
        std::vector<accounts::PermissionInput> changes;
        for (std::size_t i = 0; i < list->size(); ++i) {
          const std::string where = "permissions[" + std::to_string(i) + "]";
          const json::object& item = as_object((*list)[i], where);
          accounts::PermissionInput change;
          change.resource_type = optional_string(item, "resource_type", where).value_or("");
          change.resource_id = optional_scalar_text(item, "resource_id", where).value_or("");
          change.access_level = optional_scalar_text(item, "access_level", where);
          change.destroy = optional_bool(item, "_destroy", where);
          changes.push_back(std::move(change));
        }
        services.accounts.update_permissions(context.account_id, context.id_param("access_id"), changes);
        return json_response(200, {{"message", "Permissions have been updated!"}});
      });
  router.add_account_route("GET", "/permissions/resources", rules::in_account(), [&services](Context& context) {
    return json_response(200, nodes_json(services.accounts.resources(context.principal, context.account_id)));
  });
}

}  // namespace postroom::http::api
