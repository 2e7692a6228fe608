// Email templates (WIRE-COMPATIBILITY §4.4): list, create (201), get, update (PATCH, partial), delete (204).
// Bodies are wrapped in {"email_template":{…}}; a Handlebars syntax error is a 422 naming the field, line and
// column. Access: reading needs Templates Viewer, changing needs Templates Admin (or the account levels above).
#include <chrono>
#include <list>
#include <mutex>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/errors.h"
#include "email_templates/service.h"
#include "http/api/routes.h"
#include "http/api/serialize.h"
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

// Rendered previews kept briefly so the editor can show them in a sandboxed iframe by URL: a document written
// into the app's own page (srcdoc) would run under the app's CSP, which blocks the inline styles emails use.
// In memory, per process; the newest kMaxDocuments for kLifetime.
class PreviewDocuments {
 public:
  std::string put(std::int64_t account_id, std::string html) {
    std::string token = crypto::random_hex(32);
    std::lock_guard lock(mutex_);
    documents_.push_front({token, account_id, std::chrono::steady_clock::now(), std::move(html)});
    if (documents_.size() > kMaxDocuments) documents_.pop_back();
    return token;
  }
  std::optional<std::string> get(std::int64_t account_id, const std::string& token) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    while (!documents_.empty() && now - documents_.back().created > kLifetime) documents_.pop_back();
    for (const Document& d : documents_)
      if (d.account_id == account_id && crypto::constant_time_equals(d.token, token)) return d.html;
    return std::nullopt;
  }

 private:
  static constexpr std::size_t kMaxDocuments = 256;
  static constexpr std::chrono::minutes kLifetime{10};
  struct Document {
    std::string token;
    std::int64_t account_id;
    std::chrono::steady_clock::time_point created;
    std::string html;
  };
  std::mutex mutex_;
  std::list<Document> documents_;
};

json::value optional_text(const std::optional<std::string>& text) {
  return text ? json::value(*text) : json::value(nullptr);
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
  // Postroom extension for the UI's editor: renders an unsaved draft with the server's engine (the account's
  // templates as partials) and keeps the HTML for GET …/email_templates/previews/{token}.
  auto previews = std::make_shared<PreviewDocuments>();
  router.add_account_route(
      "POST", "/email_templates/preview", templates_viewer(), [&templates, previews](Context& context) {
        const json::value body = parse_body(context.request);
        const json::object& root = as_object(body, "");
        const json::value* variables = root.if_contains("template_variables");
        if (variables && !variables->is_object() && !variables->is_null())
          throw ValidationError("template_variables", "must be an object");
        const email_templates::TemplatePreview preview = templates.preview(
            context.account_id, read_input(context.request), variables ? *variables : json::value(nullptr));
        json::array names;
        for (const std::string& name : preview.variables) names.emplace_back(name);
        json::object out{{"subject", preview.rendered.subject},
                         {"html", optional_text(preview.rendered.html)},
                         {"text", optional_text(preview.rendered.text)},
                         {"variables", std::move(names)},
                         {"html_url", nullptr}};
        if (preview.rendered.html) {
          const std::string base = context.request.path.substr(0, context.request.path.rfind('/'));
          out["html_url"] = base + "/previews/" + previews->put(context.account_id, *preview.rendered.html);
        }
        return json_response(200, out);
      });
  router.add_account_route("GET", "/email_templates/previews/{token}", templates_viewer(),
                           [previews](Context& context) {
                             auto html = previews->get(context.account_id, context.params.at("token"));
                             if (!html) throw NotFound();
                             Response response = untrusted_html_response("text/html; charset=utf-8", std::move(*html));
                             response.headers.emplace_back("Cache-Control", "no-store");
                             return response;
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
