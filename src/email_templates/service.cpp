#include "email_templates/service.h"

#include <fmt/format.h>

#include <set>
#include <tuple>

#include "core/crypto.h"
#include "core/errors.h"
#include "store/templates_store.h"

namespace postroom::email_templates {
namespace {

// Compiled templates kept at most; beyond this the cache starts over (templates recompile on demand).
constexpr std::size_t kMaxCachedTemplates = 20'000;

// The number of characters (code points) of UTF-8 text, as the API counts lengths.
std::size_t characters(const std::string& text) {
  std::size_t count = 0;
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return count;
}

// Whether the source has a partial call ({{> …}}, {{#> …}}, with or without `~`), static or dynamic.
bool calls_partials(const std::string& source) {
  for (auto at = source.find("{{"); at != std::string::npos; at = source.find("{{", at + 2)) {
    std::size_t next = at + 2;
    if (next < source.size() && source[next] == '~') ++next;
    if (next < source.size() && source[next] == '#') ++next;
    if (next < source.size() && source[next] == '>') return true;
  }
  return false;
}

bool blank(const std::string& text) { return text.find_first_not_of(" \t\r\n\f\v") == std::string::npos; }

}  // namespace

void TemplatesService::validate(const TemplateInput& input, bool creating) {
  std::map<std::string, std::vector<std::string>> errors;
  auto short_field = [&](const char* field, const std::optional<std::string>& value) {
    if (creating && !value) {
      errors[field].push_back("can't be blank");
      return;
    }
    if (!value) return;
    if (blank(*value)) errors[field].push_back("can't be blank");
    if (characters(*value) > kMaxShortField) {
      errors[field].push_back(fmt::format("is too long (maximum is {} characters)", kMaxShortField));
    }
  };
  short_field("name", input.name);
  short_field("subject", input.subject);
  short_field("category", input.category);
  for (const auto& [field, value] :
       {std::pair{"body_html", &input.body_html}, std::pair{"body_text", &input.body_text}}) {
    if (*value && characters(**value) > kMaxBodyLength) {
      errors[field].push_back(fmt::format("is too long (maximum is {} characters)", kMaxBodyLength));
    }
  }
  // Every part is a template: one that does not compile cannot be saved.
  for (const auto& [field, value] : {std::pair{"subject", &input.subject}, std::pair{"body_html", &input.body_html},
                                     std::pair{"body_text", &input.body_text}}) {
    if (!*value || errors.count(field)) continue;
    try {
      templates::Template::compile(**value);
    } catch (const templates::SyntaxError& error) {
      errors[field].push_back(fmt::format("has a Handlebars syntax error at line {}, column {}: {}", error.line,
                                          error.column, error.reason));
    }
  }
  if (!errors.empty()) throw ValidationError(std::move(errors));
}

std::vector<EmailTemplate> TemplatesService::list(std::int64_t account_id) {
  return db_.read([&](store::Tx& tx) { return store::TemplatesStore(tx).list(account_id); });
}

EmailTemplate TemplatesService::get(std::int64_t account_id, std::int64_t id) {
  auto found = db_.read([&](store::Tx& tx) { return store::TemplatesStore(tx).find(account_id, id); });
  if (!found) throw NotFound();
  return *found;
}

EmailTemplate TemplatesService::create(std::int64_t account_id, const TemplateInput& input) {
  validate(input, true);
  return db_.write([&](store::Tx& tx) {
    store::TemplatesStore templates(tx);
    if (templates.count(account_id) >= settings_.max_templates_per_account) {
      throw ValidationError(
          "base", fmt::format("Each account can have up to {} email templates", settings_.max_templates_per_account));
    }
    EmailTemplate fields;
    fields.account_id = account_id;
    fields.uuid = crypto::new_uuid();
    fields.name = *input.name;
    fields.category = *input.category;
    fields.subject = *input.subject;
    fields.body_html = input.body_html.value_or("");
    fields.body_text = input.body_text.value_or("");
    const std::int64_t id = templates.create(fields, clock_.now());
    return *templates.find(account_id, id);
  });
}

EmailTemplate TemplatesService::update(std::int64_t account_id, std::int64_t id, const TemplateInput& input) {
  validate(input, false);
  return db_.write([&](store::Tx& tx) {
    store::TemplatesStore templates(tx);
    auto current = templates.find(account_id, id);
    if (!current) throw NotFound();
    if (input.name) current->name = *input.name;
    if (input.category) current->category = *input.category;
    if (input.subject) current->subject = *input.subject;
    if (input.body_html) current->body_html = *input.body_html;
    if (input.body_text) current->body_text = *input.body_text;
    templates.update(*current, clock_.now());
    return *templates.find(account_id, id);
  });
}

void TemplatesService::remove(std::int64_t account_id, std::int64_t id) {
  const bool removed = db_.write([&](store::Tx& tx) { return store::TemplatesStore(tx).remove(account_id, id); });
  if (!removed) throw NotFound();
  std::lock_guard lock(cache_mutex_);
  cache_.erase(id);
}

std::shared_ptr<const TemplatesService::Compiled> TemplatesService::compiled(const EmailTemplate& source) {
  {
    std::lock_guard lock(cache_mutex_);
    const auto it = cache_.find(source.id);
    if (it != cache_.end() && it->second->version == source.version) return it->second;
  }
  auto entry = std::make_shared<Compiled>();
  entry->version = source.version;
  entry->name = source.name;
  try {
    entry->subject = templates::Template::compile(source.subject);
    entry->html = templates::Template::compile(source.body_html);
    entry->text = templates::Template::compile(source.body_text);
    entry->calls_partials =
        calls_partials(source.subject) || calls_partials(source.body_html) || calls_partials(source.body_text);
  } catch (const templates::SyntaxError& error) {
    // Saved templates always compile; a row edited behind the API's back still fails cleanly.
    throw ValidationError("template_uuid", std::string("the template does not compile: ") + error.what());
  }
  std::lock_guard lock(cache_mutex_);
  if (cache_.size() >= kMaxCachedTemplates) cache_.clear();
  cache_[source.id] = entry;
  return entry;
}

RenderedTemplate TemplatesService::render_for_send(std::int64_t account_id, const std::string& uuid,
                                                   const boost::json::value& variables) {
  const auto source = db_.read([&](store::Tx& tx) { return store::TemplatesStore(tx).find_by_uuid(account_id, uuid); });
  if (!source) throw NotFound();
  RenderedTemplate out = render(account_id, *compiled(*source), source->id, !source->body_html.empty(),
                                !source->body_text.empty(), variables);
  out.template_id = source->id;
  out.uuid = source->uuid;
  return out;
}

RenderedTemplate TemplatesService::render(std::int64_t account_id, const Compiled& main, std::int64_t self_id,
                                          bool has_html, bool has_text, const boost::json::value& variables) {
  // Partials are the account's other templates, by name; loaded only when the template calls one.
  std::vector<std::shared_ptr<const Compiled>> partials;
  if (main.calls_partials) {
    for (const EmailTemplate& other : list(account_id)) {
      if (other.id != self_id) partials.push_back(compiled(other));
    }
  }
  auto lookup = [&partials](templates::TemplatePtr Compiled::*part) {
    return [&partials, part](std::string_view name) -> const templates::Template* {
      for (const auto& candidate : partials) {
        if (candidate->name == name) return ((*candidate).*part).get();
      }
      return nullptr;
    };
  };

  templates::RenderOptions options;
  options.max_output_bytes = settings_.max_rendered_bytes;
  options.max_depth = settings_.max_depth;
  static const boost::json::value empty_object = boost::json::object();
  const boost::json::value& data = variables.is_null() ? empty_object : variables;

  RenderedTemplate out;
  try {
    options.partials = lookup(&Compiled::subject);
    out.subject = main.subject->render(data, options);
    if (has_html) {
      options.partials = lookup(&Compiled::html);
      out.html = main.html->render(data, options);
    }
    if (has_text) {
      options.partials = lookup(&Compiled::text);
      out.text = main.text->render(data, options);
    }
  } catch (const templates::RenderError& error) {
    throw ValidationError("template_variables", error.what());
  }
  return out;
}

TemplatePreview TemplatesService::preview(std::int64_t account_id, const TemplateInput& draft,
                                          const boost::json::value& variables) {
  Compiled main;
  std::map<std::string, std::vector<std::string>> errors;
  const std::string empty;
  for (const auto& [field, value, part] :
       {std::tuple{"subject", &draft.subject, &main.subject}, std::tuple{"body_html", &draft.body_html, &main.html},
        std::tuple{"body_text", &draft.body_text, &main.text}}) {
    const std::string& source = *value ? **value : empty;
    if (characters(source) > kMaxBodyLength)
      errors[field].push_back(fmt::format("is too long (maximum is {} characters)", kMaxBodyLength));
    try {
      *part = templates::Template::compile(source);
    } catch (const templates::SyntaxError& error) {
      errors[field].push_back(fmt::format("has a Handlebars syntax error at line {}, column {}: {}", error.line,
                                          error.column, error.reason));
    }
    main.calls_partials = main.calls_partials || calls_partials(source);
  }
  if (!errors.empty()) throw ValidationError(std::move(errors));
  main.name = draft.name.value_or("");
  const bool has_html = draft.body_html && !draft.body_html->empty();
  const bool has_text = draft.body_text && !draft.body_text->empty();
  // The draft may be an edit of a saved template: that one is the draft now, not a partial of itself. Only a
  // draft that calls partials reads the account's templates (render() reads them then anyway).
  std::int64_t self_id = 0;
  if (draft.name && main.calls_partials) {
    for (const EmailTemplate& saved : list(account_id))
      if (saved.name == *draft.name) self_id = saved.id;
  }
  TemplatePreview out;
  out.rendered = render(account_id, main, self_id, has_html, has_text, variables);
  std::set<std::string> all;
  for (const auto* part : {&main.subject, &main.html, &main.text})
    for (auto& name : (*part)->variables()) all.insert(std::move(name));
  out.variables.assign(all.begin(), all.end());
  return out;
}

std::vector<std::string> TemplatesService::variables(std::int64_t account_id, std::int64_t id) {
  const auto entry = compiled(get(account_id, id));
  std::set<std::string> all;
  for (const auto* part : {&entry->subject, &entry->html, &entry->text}) {
    for (auto& name : (*part)->variables()) all.insert(std::move(name));
  }
  return {all.begin(), all.end()};
}

std::vector<std::string> TemplatesService::missing_variables(std::int64_t account_id, std::int64_t id,
                                                             const boost::json::value& test_data) {
  const auto entry = compiled(get(account_id, id));
  std::set<std::string> all;
  for (const auto* part : {&entry->subject, &entry->html, &entry->text}) {
    for (auto& name : (*part)->missing_variables(test_data)) all.insert(std::move(name));
  }
  return {all.begin(), all.end()};
}

}  // namespace postroom::email_templates
