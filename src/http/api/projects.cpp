// Email Sandbox projects: list (with the inboxes the caller may see), create, get, rename, delete.
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/api/sandbox_json.h"
#include "http/json.h"

namespace postroom::http::api {

namespace {

// The "name" of {"project":{"name":…}}; empty when missing (then "can't be blank").
std::optional<std::string> project_name(const Request& request) {
  const json::value body = parse_body(request);
  const json::object* project = optional_object(as_object(body, ""), "project", "");
  return project ? optional_string(*project, "name", "project") : std::nullopt;
}

}  // namespace

void add_projects_routes(Router& router, Services& services) {
  auto& inboxes = services.inboxes;
  auto reply = [&inboxes](const sandbox::Project& project) {
    return json_response(200, project_json(project, inboxes.endpoints(), inboxes.settings()));
  };
  router.add_account_route("GET", "/projects", rules::in_account(), [&inboxes](Context& context) {
    json::array out;
    for (const auto& project : inboxes.list_projects(context.principal, context.account_id))
      out.push_back(project_json(project, inboxes.endpoints(), inboxes.settings()));
    return json_response(200, out);
  });
  router.add_account_route("POST", "/projects", rules::account_admin(), [&inboxes, reply](Context& context) {
    return reply(
        inboxes.create_project(context.principal, context.account_id, project_name(context.request).value_or("")));
  });
  router.add_account_route(
      "GET", "/projects/{project_id}", rules::project_level("project_id", accounts::level::viewer),
      [&inboxes, reply](Context& context) {
        return reply(inboxes.get_project(context.principal, context.account_id, context.id_param("project_id")));
      });
  router.add_account_route("PATCH", "/projects/{project_id}",
                           rules::project_level("project_id", accounts::level::admin),
                           [&inboxes, reply](Context& context) {
                             const std::int64_t id = context.id_param("project_id");
                             const auto name = project_name(context.request);
                             if (!name) return reply(inboxes.get_project(context.principal, context.account_id, id));
                             return reply(inboxes.rename_project(context.principal, context.account_id, id, *name));
                           });
  router.add_account_route("DELETE", "/projects/{project_id}",
                           rules::project_level("project_id", accounts::level::admin), [&inboxes](Context& context) {
                             const std::int64_t id = context.id_param("project_id");
                             inboxes.delete_project(context.account_id, id);
                             return json_response(200, json::object{{"id", id}});
                           });
}

}  // namespace postroom::http::api
