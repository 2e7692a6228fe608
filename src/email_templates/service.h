#pragma once
// Email templates: CRUD with validation (a template that does not compile cannot be saved), the per-account
// limit, and rendering for the send path. Knows nothing of HTTP; throws the domain errors of core/errors.h.
#include <boost/json/value.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "email_templates/model.h"
#include "store/database.h"
#include "templates/handlebars.h"

namespace postroom::email_templates {

struct TemplatesSettings {
  std::int64_t max_templates_per_account = 200;  // the documented limit
  std::size_t max_rendered_bytes = 16 * 1024 * 1024;
  int max_depth = 64;  // nested blocks and partials while rendering
};

constexpr std::size_t kMaxShortField = 255;         // name, category, subject
constexpr std::size_t kMaxBodyLength = 10'000'000;  // body_html, body_text

class TemplatesService {
 public:
  // Keeps references to `db` and `clock`: both must outlive the service.
  TemplatesService(store::Database& db, const Clock& clock, TemplatesSettings settings = {})
      : db_(db), clock_(clock), settings_(settings) {}
  TemplatesService(store::Database&, Clock&&, TemplatesSettings = {}) = delete;

  std::vector<EmailTemplate> list(std::int64_t account_id);
  EmailTemplate get(std::int64_t account_id, std::int64_t id);  // NotFound
  // ValidationError: blank or too long fields, a Handlebars syntax error (with its line and column), the limit.
  EmailTemplate create(std::int64_t account_id, const TemplateInput& input);
  EmailTemplate update(std::int64_t account_id, std::int64_t id, const TemplateInput& input);
  void remove(std::int64_t account_id, std::int64_t id);

  // Renders a template for sending: subject, html and text from the template with `variables` as the data.
  // html/text are empty when the template's body is empty. Another template of the account can be used as a
  // partial by its name ({{> footer}}). Throws NotFound for an unknown uuid and ValidationError (field
  // "template_variables") when rendering fails (missing partial, limits).
  RenderedTemplate render_for_send(std::int64_t account_id, const std::string& uuid,
                                   const boost::json::value& variables);

  // Renders a draft (not saved; edits in the UI) exactly as a send would: the account's templates are its
  // partials. ValidationError: a syntax error (field, line, column) or a render failure. `variables` lists
  // what the draft reads.
  TemplatePreview preview(std::int64_t account_id, const TemplateInput& draft, const boost::json::value& variables);

  // Every variable the template's subject and bodies read ("Test Data"), sorted.
  std::vector<std::string> variables(std::int64_t account_id, std::int64_t id);
  // The variables() that `test_data` does not provide, i.e. what would render empty.
  std::vector<std::string> missing_variables(std::int64_t account_id, std::int64_t id,
                                             const boost::json::value& test_data);

 private:
  struct Compiled {
    std::int64_t version = 0;
    std::string name;
    templates::TemplatePtr subject, html, text;
    bool calls_partials = false;
  };
  std::shared_ptr<const Compiled> compiled(const EmailTemplate& source);
  void validate(const TemplateInput& input, bool creating);
  RenderedTemplate render(std::int64_t account_id, const Compiled& main, std::int64_t self_id, bool has_html,
                          bool has_text, const boost::json::value& variables);

  store::Database& db_;
  const Clock& clock_;
  TemplatesSettings settings_;
  std::mutex cache_mutex_;
  std::unordered_map<std::int64_t, std::shared_ptr<const Compiled>> cache_;  // by template id
};

}  // namespace postroom::email_templates
