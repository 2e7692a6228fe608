// Email templates (WIRE-COMPATIBILITY §4.4): list, create (201), get, update (PATCH, partial), delete (204).
// Bodies are wrapped in {"email_template":{…}}; a Handlebars syntax error is a 422 naming the field, line and
// column. Access: reading needs Templates Viewer, changing needs Templates Admin (or the account levels above).
#include "core/clock.h"
#include "core/errors.h"
#include "email_templates/service.h"
#include "http/api/routes.h"
#include "http/json.h"

namespace postroom::http::api {

namespace {

AccessRule templates_viewer() {
  return {Scope::account, accounts::ResourceType::email_template, accounts::level::viewer, {}};
}
AccessRule templates_admin() {
  return {Scope::account, accounts::ResourceType::email_template, accounts::level::admin, {}};
}

json::object template_json(const email_templates::EmailTemplate& t) {
  return {{"id", t.id},
          {"uuid", t.uuid},
          {"name", t.name},
          {"category", t.category},
          {"subject", t.subject},
          {"body_html", t.body_html},
          {"body_text", t.body_text},
          {"created_at", iso8601(t.created_at)},
          {"updated_at", iso8601(t.updated_at)}};
}

// {"email_template":{…}}; a JSON null counts as present and empty.
email_templates::TemplateInput read_input(const Request& request) {
  const json::value body = parse_body(request);
  const json::object& root = as_object(body, "");
  const json::object* fields = optional_object(root, "email_template", "");
  email_templates::TemplateInput input;
  if (!fields) return input;
  auto field = [fields](const char* key) -> std::optional<std::string> {
    const auto it = fields->find(key);
    if (it == fields->end()) return std::nullopt;
    if (it->value().is_null()) return std::string();
    return optional_string(*fields, key, "email_template");
  };
  input.name = field("name");
  input.category = field("category");
  input.subject = field("subject");
  input.body_html = field("body_html");
  input.body_text = field("body_text");
  return input;
}

}  // namespace

void add_email_templates_routes(Router& router, Services& services) {
  if (!services.templates) return;
  auto& templates = *services.templates;
  router.add_account_route("GET", "/email_templates", templates_viewer(), [&templates](Context& context) {
    json::array out;
    for (const auto& t : templates.list(context.account_id)) out.push_back(template_json(t));
    return json_response(200, out);
  });
  router.add_account_route("POST", "/email_templates", templates_admin(), [&templates](Context& context) {
    return json_response(201, template_json(templates.create(context.account_id, read_input(context.request))));
  });
  router.add_account_route("GET", "/email_templates/{id}", templates_viewer(), [&templates](Context& context) {
    return json_response(200, template_json(templates.get(context.account_id, context.id_param("id"))));
  });
  router.add_account_route("PATCH", "/email_templates/{id}", templates_admin(), [&templates](Context& context) {
    const std::int64_t id = context.id_param("id");
    return json_response(200, template_json(templates.update(context.account_id, id, read_input(context.request))));
  });
  router.add_account_route("DELETE", "/email_templates/{id}", templates_admin(), [&templates](Context& context) {
    templates.remove(context.account_id, context.id_param("id"));
    return no_content();
  });
}

}  // namespace postroom::http::api
