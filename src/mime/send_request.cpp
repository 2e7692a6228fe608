#include "mime/send_request.h"

#include <boost/json.hpp>

#include "mime/text.h"

namespace json = boost::json;

namespace postroom::mime {
namespace {

bool is_absent(const json::value* value) { return value == nullptr || value->is_null(); }

const json::value* field(const json::object& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &it->value();
}

// "'<name>'<rest>": appended piecewise because GCC 12 reports a false -Wrestrict for `"'" + std::string&&`.
std::string quoted_field(std::string_view name, std::string_view rest) {
  std::string out;
  out.reserve(name.size() + rest.size() + 2);
  out += '\'';
  out += name;
  out += '\'';
  out += rest;
  return out;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

class Validator {
 public:
  explicit Validator(const json::object& body) : body_(body) {}

  SendRequestResult run() {
    OutgoingMessage message;
    read_from(message);
    read_recipients(message);
    read_reply_to(message);
    read_content(message);
    read_attachments(message);
    read_headers(message);
    read_custom_variables(message);
    SendRequestResult result;
    result.errors = std::move(errors_);
    if (result.errors.empty()) result.message = std::move(message);
    return result;
  }

 private:
  void error(std::string text) {
    for (const std::string& existing : errors_) {
      if (existing == text) return;
    }
    errors_.push_back(std::move(text));
  }

  // An address object {"email": "...", "name": "..."}; nullopt (with an error) when unusable.
  std::optional<Address> address(const json::value& value, std::string_view field_name) {
    const json::object* object = value.if_object();
    const json::value* email = object ? field(*object, "email") : nullptr;
    if (!email || !email->is_string() || email->get_string().empty()) {
      error(quoted_field(field_name, " address is required"));
      return std::nullopt;
    }
    Address out;
    out.email = text::trim(std::string_view(email->get_string()));
    if (!is_valid_email(out.email)) {
      error(quoted_field(field_name, " address is invalid"));
      return std::nullopt;
    }
    if (const json::value* name = field(*object, "name"); !is_absent(name)) {
      if (!name->is_string()) {
        error(quoted_field(field_name, " name must be a string"));
        return std::nullopt;
      }
      out.name = std::string(name->get_string());
      if (out.name.find_first_of("\r\n") != std::string::npos || !text::is_valid_utf8(out.name)) {
        error(quoted_field(field_name, " name is invalid"));
        return std::nullopt;
      }
    }
    return out;
  }

  void read_from(OutgoingMessage& message) {
    const json::value* from = field(body_, "from");
    if (is_absent(from)) {
      error("'from' is required");
      return;
    }
    const json::object* object = from->if_object();
    const json::value* email = object ? field(*object, "email") : nullptr;
    if (!email || !email->is_string() || email->get_string().empty()) {
      error("'from' is required");
      return;
    }
    if (auto parsed = address(*from, "from")) message.from = std::move(*parsed);
  }

  void read_address_list(std::string_view name, std::vector<Address>& out) {
    const json::value* list = field(body_, name);
    if (is_absent(list)) return;
    const json::array* array = list->if_array();
    if (!array) {
      error(quoted_field(name, " must be an array"));
      return;
    }
    if (array->size() > kMaxRecipientsPerField) {
      error(quoted_field(name, " must not contain more than " + std::to_string(kMaxRecipientsPerField) + " addresses"));
      return;
    }
    for (const json::value& item : *array) {
      if (auto parsed = address(item, name)) out.push_back(std::move(*parsed));
    }
  }

  void read_recipients(OutgoingMessage& message) {
    read_address_list("to", message.to);
    read_address_list("cc", message.cc);
    read_address_list("bcc", message.bcc);
    bool any = false;
    for (std::string_view name : {"to", "cc", "bcc"}) {
      const json::value* list = field(body_, name);
      if (!is_absent(list) && list->is_array() && !list->get_array().empty()) any = true;
    }
    if (!any) error("'to', 'cc' or 'bcc' address is required");
  }

  void read_reply_to(OutgoingMessage& message) {
    const json::value* reply_to = field(body_, "reply_to");
    if (is_absent(reply_to)) return;
    // The Node SDK types batch reply_to as an array; accept both shapes everywhere.
    if (const json::array* array = reply_to->if_array()) {
      for (const json::value& item : *array) {
        if (auto parsed = address(item, "reply_to")) message.reply_to.push_back(std::move(*parsed));
      }
      return;
    }
    if (auto parsed = address(*reply_to, "reply_to")) message.reply_to.push_back(std::move(*parsed));
  }

  // A string field: nullopt when absent; an error when present but not a string.
  std::optional<std::string> string_field(std::string_view name) {
    const json::value* value = field(body_, name);
    if (is_absent(value)) return std::nullopt;
    if (!value->is_string()) {
      error(quoted_field(name, " must be a string"));
      return std::nullopt;
    }
    std::string out(value->get_string());
    if (!text::is_valid_utf8(out)) {
      error(quoted_field(name, " must be valid UTF-8"));
      return std::nullopt;
    }
    return out;
  }

  void read_content(OutgoingMessage& message) {
    const json::value* template_uuid = field(body_, "template_uuid");
    if (!is_absent(template_uuid)) {
      if (!template_uuid->is_string() || template_uuid->get_string().empty()) {
        error("'template_uuid' must be a non-empty string");
      } else {
        message.template_uuid = std::string(template_uuid->get_string());
      }
      for (std::string_view forbidden : {"subject", "text", "html", "category"}) {
        if (!is_absent(field(body_, forbidden))) {
          error(quoted_field(forbidden, " is not allowed with 'template_uuid'"));
        }
      }
      if (const json::value* variables = field(body_, "template_variables"); !is_absent(variables)) {
        if (!variables->is_object()) {
          error("'template_variables' must be an object");
        } else {
          message.template_variables = json::serialize(*variables);
        }
      }
      return;
    }
    if (!is_absent(field(body_, "template_variables"))) {
      error("'template_variables' requires 'template_uuid'");
    }
    const json::value* subject_value = field(body_, "subject");
    if (is_absent(subject_value) || (subject_value->is_string() && subject_value->get_string().empty())) {
      error("'subject' is required");
    } else if (auto subject = string_field("subject")) {
      message.subject = std::move(*subject);
    }
    message.text = string_field("text");
    message.html = string_field("html");
    const bool has_text = message.text && !message.text->empty();
    const bool has_html = message.html && !message.html->empty();
    if (!has_text && !has_html) error("must specify either text or html body");
    if (!has_text) message.text.reset();
    if (!has_html) message.html.reset();
    if (auto category = string_field("category")) {
      if (utf8_length(*category) > kMaxCategoryLength) {
        error("'category' must not exceed " + std::to_string(kMaxCategoryLength) + " characters");
      } else if (category->find_first_of("\r\n") != std::string::npos) {
        error("'category' must not contain line breaks");
      } else {
        message.category = std::move(*category);
      }
    }
  }

  void read_attachments(OutgoingMessage& message) {
    const json::value* attachments = field(body_, "attachments");
    if (is_absent(attachments)) return;
    const json::array* array = attachments->if_array();
    if (!array) {
      error("'attachments' must be an array");
      return;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
      const std::string prefix = "'attachments[" + std::to_string(i) + "].";
      const json::object* object = (*array)[i].if_object();
      if (!object) {
        error("'attachments[" + std::to_string(i) + "]' must be an object");
        continue;
      }
      OutgoingAttachment attachment;
      const json::value* content = field(*object, "content");
      if (is_absent(content) || !content->is_string()) {
        error(prefix + "content' is required");
      } else if (!text::base64_decode(content->get_string(), attachment.content)) {
        error(prefix + "content' must be base64 encoded");
      }
      const json::value* filename = field(*object, "filename");
      if (is_absent(filename) || !filename->is_string() || filename->get_string().empty()) {
        error(prefix + "filename' is required");
      } else {
        attachment.filename = std::string(filename->get_string());
        if (!text::is_valid_utf8(attachment.filename) ||
            attachment.filename.find_first_of("\r\n") != std::string::npos) {
          error(prefix + "filename' is invalid");
        }
      }
      const auto optional_string = [&](std::string_view key, std::string& out) {
        const json::value* value = field(*object, key);
        if (is_absent(value)) return;
        if (!value->is_string()) {
          error(prefix + std::string(key) + "' must be a string");
          return;
        }
        out = std::string(value->get_string());
        if (out.find_first_of("\r\n") != std::string::npos) error(prefix + std::string(key) + "' is invalid");
      };
      optional_string("type", attachment.type);
      optional_string("disposition", attachment.disposition);
      optional_string("content_id", attachment.content_id);
      if (!attachment.disposition.empty() && attachment.disposition != "attachment" &&
          attachment.disposition != "inline") {
        error(prefix + "disposition' must be 'attachment' or 'inline'");
      }
      message.attachments.push_back(std::move(attachment));
    }
  }

  void read_headers(OutgoingMessage& message) {
    const json::value* headers = field(body_, "headers");
    if (is_absent(headers)) return;
    const json::object* object = headers->if_object();
    if (!object) {
      error("'headers' must be an object");
      return;
    }
    for (const auto& [key, value] : *object) {
      const std::string name(key);
      bool valid_name = !name.empty() && name.size() <= 200;
      for (unsigned char c : name) {
        if (c < 33 || c > 126 || c == ':') valid_name = false;
      }
      if (!valid_name) {
        error("header name '" + text::printable(name.substr(0, 100)) + "' is invalid");
        continue;
      }
      if (!value.is_string()) {
        error("header '" + name + "' must be a string");
        continue;
      }
      std::string text_value(value.get_string());
      // No header injection: a value cannot start a new header line.
      if (text_value.find_first_of("\r\n") != std::string::npos || text_value.find('\0') != std::string::npos) {
        error("header '" + name + "' must not contain line breaks");
        continue;
      }
      if (!text::is_valid_utf8(text_value)) {
        error("header '" + name + "' must be valid UTF-8");
        continue;
      }
      message.headers.emplace_back(name, std::move(text_value));
    }
  }

  void read_custom_variables(OutgoingMessage& message) {
    const json::value* variables = field(body_, "custom_variables");
    if (is_absent(variables)) return;
    const json::object* object = variables->if_object();
    if (!object) {
      error("'custom_variables' must be an object");
      return;
    }
    for (const auto& [key, value] : *object) {
      if (!(value.is_string() || value.is_number() || value.is_bool())) {
        error("'custom_variables' values must be strings, numbers or booleans");
        return;
      }
    }
    if (object->empty()) return;
    std::string compact = json::serialize(*object);
    if (compact.size() > kMaxCustomVariablesBytes) {
      error("'custom_variables' must not exceed " + std::to_string(kMaxCustomVariablesBytes) + " bytes");
      return;
    }
    message.custom_variables = std::move(compact);
  }

  const json::object& body_;
  std::vector<std::string> errors_;
};

}  // namespace

bool is_valid_email(std::string_view email) {
  if (email.size() < 3 || email.size() > 254) return false;
  const std::size_t at = email.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == email.size()) return false;
  const std::string_view local = email.substr(0, at);
  const std::string_view domain = email.substr(at + 1);
  if (local.size() > 64) return false;
  for (unsigned char c : local) {
    if (c <= 32 || c == 127 ||
        std::string_view("<>()[]\\,;:@\"").find(static_cast<char>(c)) != std::string_view::npos) {
      return false;
    }
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return false;
  if (domain.front() == '[') return domain.back() == ']' && domain.size() > 2;
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return false;
  }
  for (unsigned char c : domain) {
    // Letters, digits, hyphens and dots; bytes ≥ 0x80 for internationalized domain names.
    if (!(std::isalnum(c) || c == '-' || c == '.' || c >= 0x80)) return false;
  }
  return text::is_valid_utf8(email);
}

SendRequestResult parse_send_request(const json::value& body) {
  const json::object* object = body.if_object();
  if (!object) return {std::nullopt, {"request body must be a JSON object"}};
  return Validator(*object).run();
}

BatchRequestResult parse_batch_request(const json::value& body) {
  BatchRequestResult result;
  const json::object* object = body.if_object();
  if (!object) {
    result.errors.push_back("request body must be a JSON object");
    return result;
  }
  const json::value* requests = field(*object, "requests");
  if (is_absent(requests) || (requests->is_array() && requests->get_array().empty())) {
    result.errors.push_back("empty field: 'requests'");
  } else if (!requests->is_array()) {
    result.errors.push_back("'requests' must be an array");
  } else if (requests->get_array().size() > kMaxBatchRequests) {
    result.errors.push_back("'requests' must not contain more than " + std::to_string(kMaxBatchRequests) + " items");
  }
  const json::value* base = field(*object, "base");
  json::object base_fields;
  if (!is_absent(base)) {
    if (!base->is_object()) {
      result.errors.push_back("'base' must be an object");
    } else {
      base_fields = base->get_object();
      for (std::string_view recipients : {"to", "cc", "bcc"}) {
        if (!is_absent(field(base_fields, recipients))) {
          result.errors.push_back("'base' must not contain '" + std::string(recipients) + "'");
        }
      }
    }
  }
  if (!result.errors.empty()) return result;

  for (const json::value& request : requests->get_array()) {
    const json::object* fields = request.if_object();
    if (!fields) {
      result.requests.push_back({std::nullopt, {"request must be a JSON object"}});
      continue;
    }
    // Request fields override the base; a null in the request leaves the base value in place.
    json::object merged = base_fields;
    for (const auto& [key, value] : *fields) {
      if (!value.is_null()) merged[key] = value;
    }
    result.requests.push_back(Validator(merged).run());
  }
  return result;
}

}  // namespace postroom::mime
