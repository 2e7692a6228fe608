#pragma once
// Email templates as the Templates API shows them; subject, HTML and text bodies are Handlebars templates.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace postroom::email_templates {

struct EmailTemplate {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  std::string uuid;
  std::string name;
  std::string category;
  std::string subject;
  std::string body_html;
  std::string body_text;
  std::int64_t version = 1;  // grows with every update; compiled templates are cached by (id, version)
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// The fields of a create or update; on update an absent field keeps its value.
struct TemplateInput {
  std::optional<std::string> name;
  std::optional<std::string> category;
  std::optional<std::string> subject;
  std::optional<std::string> body_html;
  std::optional<std::string> body_text;
};

// What a send by template_uuid gets: the rendered parts, html/text only when the template has that body.
struct RenderedTemplate {
  std::int64_t template_id = 0;
  std::string uuid;
  std::string subject;
  std::optional<std::string> html;
  std::optional<std::string> text;
};

// A draft rendered for the editor's preview, with the variables it reads.
struct TemplatePreview {
  RenderedTemplate rendered;
  std::vector<std::string> variables;
};

}  // namespace postroom::email_templates
