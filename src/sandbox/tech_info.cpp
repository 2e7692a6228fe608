#include "sandbox/tech_info.h"

#include <boost/json.hpp>

#include <algorithm>

#include "mime/text.h"

namespace postroom::sandbox {
namespace json = boost::json;

namespace {

// The h= tag of a DKIM-Signature value, lower-cased names.
std::vector<std::string> signed_header_names(std::string_view signature) {
  std::vector<std::string> names;
  std::size_t pos = 0;
  while (pos < signature.size()) {
    std::size_t end = signature.find(';', pos);
    if (end == std::string_view::npos) end = signature.size();
    const std::string tag = mime::text::trim(signature.substr(pos, end - pos));
    pos = end + 1;
    const auto eq = tag.find('=');
    if (eq == std::string::npos || mime::text::trim(tag.substr(0, eq)) != "h") continue;
    std::string value;
    for (char c : tag.substr(eq + 1))
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') value += c;
    std::size_t start = 0;
    while (start <= value.size()) {
      std::size_t colon = value.find(':', start);
      if (colon == std::string::npos) colon = value.size();
      if (colon > start) names.push_back(mime::text::ascii_lower(value.substr(start, colon - start)));
      start = colon + 1;
    }
  }
  return names;
}

}  // namespace

ListUnsubscribeCheck check_list_unsubscribe(std::string_view list_unsubscribe, std::string_view list_unsubscribe_post,
                                            const std::vector<std::string>& dkim_signatures) {
  ListUnsubscribeCheck check;
  check.post = mime::text::trim(list_unsubscribe_post);
  const std::string header = mime::text::trim(list_unsubscribe);
  check.present = !header.empty();
  if (!check.present) {
    check.problems.push_back(
        "No List-Unsubscribe header: recipients cannot unsubscribe from the mailbox's own "
        "interface");
    if (!check.post.empty()) check.problems.push_back("List-Unsubscribe-Post without a List-Unsubscribe header");
    return check;
  }
  // RFC 2369: a comma-separated list of URIs, each in angle brackets.
  std::size_t pos = 0;
  bool syntax_ok = true;
  while (pos < header.size()) {
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == '\t' || header[pos] == ',')) ++pos;
    if (pos >= header.size()) break;
    if (header[pos] != '<') {
      syntax_ok = false;
      break;
    }
    const std::size_t close = header.find('>', pos);
    if (close == std::string::npos) {
      syntax_ok = false;
      break;
    }
    const std::string uri = mime::text::trim(header.substr(pos + 1, close - pos - 1));
    const std::string lower = mime::text::ascii_lower(uri);
    if (lower.starts_with("mailto:") && uri.size() > 7 && uri.find('@') != std::string::npos) {
      check.mailto_uris.push_back(uri);
    } else if (lower.starts_with("https://") || lower.starts_with("http://")) {
      check.https_uris.push_back(uri);
      if (lower.starts_with("http://"))
        check.problems.push_back("The unsubscribe URL " + uri + " is not HTTPS: one-click unsubscribe needs https");
    } else {
      check.problems.push_back("Unsupported unsubscribe URI <" + uri + ">: use mailto: or https:");
    }
    pos = close + 1;
  }
  if (!syntax_ok)
    check.problems.push_back(
        "List-Unsubscribe is malformed: each URI must be enclosed in angle brackets, separated by "
        "commas (RFC 2369)");
  const bool has_https = std::any_of(check.https_uris.begin(), check.https_uris.end(), [](const std::string& uri) {
    return mime::text::ascii_lower(uri).starts_with("https://");
  });
  bool post_ok = false;
  if (check.post.empty()) {
    check.problems.push_back("No List-Unsubscribe-Post header: one-click unsubscribe (RFC 8058) is not offered");
  } else if (check.post != "List-Unsubscribe=One-Click") {
    check.problems.push_back("List-Unsubscribe-Post must be exactly \"List-Unsubscribe=One-Click\" (RFC 8058)");
  } else {
    post_ok = true;
    if (!has_https) check.problems.push_back("One-click unsubscribe needs an https URI in List-Unsubscribe");
  }
  bool signed_both = false;
  for (const std::string& signature : dkim_signatures) {
    const auto names = signed_header_names(signature);
    const bool covers =
        std::find(names.begin(), names.end(), "list-unsubscribe") != names.end() &&
        (check.post.empty() || std::find(names.begin(), names.end(), "list-unsubscribe-post") != names.end());
    signed_both = signed_both || covers;
  }
  if (post_ok && !signed_both)
    check.problems.push_back(
        "No DKIM signature covers List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 section 4 requires it)");
  check.one_click = syntax_ok && post_ok && has_https && signed_both;
  return check;
}

json::object tech_info_json(const MessageSummary& message) {
  boost::system::error_code ec;
  // Headers as stored: [[name, decoded value], …] in message order.
  std::vector<std::pair<std::string, std::string>> headers;
  const json::value stored = json::parse(message.headers_json, ec);
  if (!ec && stored.is_array()) {
    for (const json::value& field : stored.as_array()) {
      if (!field.is_array() || field.as_array().size() != 2) continue;
      const auto& pair = field.as_array();
      if (!pair[0].is_string() || !pair[1].is_string()) continue;
      headers.emplace_back(std::string(pair[0].as_string()), std::string(pair[1].as_string()));
    }
  }
  auto first = [&](std::string_view name) -> const std::string* {
    for (const auto& [key, value] : headers)
      if (mime::text::equals_ignore_case(key, name)) return &value;
    return nullptr;
  };
  json::object shown;
  const std::pair<const char*, const char*> wanted[] = {{"message_id", "Message-ID"},
                                                        {"date", "Date"},
                                                        {"x_mailer", "X-Mailer"},
                                                        {"sender", "Sender"},
                                                        {"from", "From"},
                                                        {"to", "To"},
                                                        {"cc", "Cc"},
                                                        {"reply_to", "Reply-To"},
                                                        {"return_path", "Return-Path"}};
  for (const auto& [key, name] : wanted)
    if (const std::string* value = first(name)) shown[key] = *value;

  json::object out{{"headers", std::move(shown)}};
  json::array bcc;
  const json::value recipients = json::parse(message.recipients_json, ec);
  if (!ec && recipients.is_object()) {
    if (const json::value* list = recipients.as_object().if_contains("bcc"); list && list->is_array())
      bcc = list->as_array();
  }
  if (bcc.empty()) out["bcc_note"] = "There is no Bcc information in this email message";
  out["bcc"] = std::move(bcc);

  const json::value envelope = json::parse(message.smtp_json, ec);
  out["smtp"] = (!ec && envelope.is_object()) ? envelope : json::value(nullptr);

  if (message.template_id) {
    json::value variables = nullptr;
    if (message.template_variables) {
      variables = json::parse(*message.template_variables, ec);
      if (ec) variables = nullptr;
    }
    out["template"] = json::object{{"id", *message.template_id}, {"variables", std::move(variables)}};
  } else {
    out["template"] = nullptr;
  }

  std::vector<std::string> signatures;
  for (const auto& [key, value] : headers)
    if (mime::text::equals_ignore_case(key, "DKIM-Signature")) signatures.push_back(value);
  const std::string* list_unsubscribe = first("List-Unsubscribe");
  const std::string* list_unsubscribe_post = first("List-Unsubscribe-Post");
  const ListUnsubscribeCheck check = check_list_unsubscribe(
      list_unsubscribe ? *list_unsubscribe : "", list_unsubscribe_post ? *list_unsubscribe_post : "", signatures);
  json::array problems, https_uris, mailto_uris;
  for (const auto& p : check.problems) problems.emplace_back(p);
  for (const auto& u : check.https_uris) https_uris.emplace_back(u);
  for (const auto& u : check.mailto_uris) mailto_uris.emplace_back(u);
  out["list_unsubscribe"] = json::object{{"present", check.present},
                                         {"http_uris", std::move(https_uris)},
                                         {"mailto_uris", std::move(mailto_uris)},
                                         {"post", check.post.empty() ? json::value(nullptr) : json::value(check.post)},
                                         {"one_click", check.one_click},
                                         {"problems", std::move(problems)}};
  return out;
}

}  // namespace postroom::sandbox
