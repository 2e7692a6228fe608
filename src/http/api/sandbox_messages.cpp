// Email Sandbox messages: list (search, pages), show, mark read, delete, bodies, headers, attachments, and the
// wait endpoint (long polling for the first message that matches).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "core/clock.h"
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/api/serialize.h"
#include "http/json.h"
#include "sandbox/analysis.h"
#include "sandbox/messages.h"

namespace postroom::http::api {

using accounts::level::admin;
using accounts::level::viewer;
using sandbox::MessageSummary;

// Rails' number_to_human_size with two significant digits, as the real API answers: "691 Bytes", "1.2 KB" (1213
// bytes), "12 KB" (11842), "1.9 MB" (2034337) in the recordings.
static std::string human_size(std::int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + (bytes == 1 ? " Byte" : " Bytes");
  static constexpr const char* units[] = {"KB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  // Rounded to two significant digits (half up), insignificant zeros dropped.
  const int integer_digits = static_cast<int>(std::floor(std::log10(value))) + 1;
  const double scale = std::pow(10.0, 2 - integer_digits);
  value = std::round(value * scale) / scale;
  const int decimals = std::max(0, 2 - integer_digits);
  std::string text = fmt::format("{:.{}f}", value, decimals);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text + " " + units[unit];
}

static std::string message_path(const Context& context, std::int64_t inbox_id, std::int64_t message_id) {
  return "/api/accounts/" + std::to_string(context.account_id) + "/inboxes/" + std::to_string(inbox_id) + "/messages/" +
         std::to_string(message_id);
}

// `blacklists`: the stored blacklist report of the message, when one was made (else the API's `false`).
static json::object message_json(const Context& context, const MessageSummary& m, json::value blacklists = false) {
  const std::string base = message_path(context, m.inbox_id, m.id);
  json::value template_variables = nullptr;
  if (m.template_variables) {
    boost::system::error_code ec;
    template_variables = json::parse(*m.template_variables, ec);
    if (ec) template_variables = nullptr;
  }
  json::object smtp_information{{"ok", false}};
  boost::system::error_code ec;
  const json::value envelope = json::parse(m.smtp_json, ec);
  if (!ec && envelope.is_object() && envelope.at("via") == "smtp") {
    smtp_information = {
        {"ok", true},
        {"data", {{"mail_from_addr", envelope.at("mail_from_addr")}, {"client_ip", envelope.at("client_ip")}}}};
  }
  return {{"id", m.id},
          {"inbox_id", m.inbox_id},
          {"subject", m.subject},
          {"sent_at", iso8601(m.sent_at)},
          {"from_email", m.from_email},
          {"from_name", m.from_name},
          {"to_email", m.to_email},
          {"to_name", m.to_name},
          {"email_size", m.email_size},
          {"is_read", m.is_read},
          {"created_at", iso8601(m.created_at)},
          {"updated_at", iso8601(m.updated_at)},
          {"template_id", m.template_id ? json::value(*m.template_id) : json::value(nullptr)},
          {"template_variables", std::move(template_variables)},
          {"html_body_size", m.html_body_size.value_or(0)},
          {"text_body_size", m.text_body_size.value_or(0)},
          {"human_size", human_size(m.email_size)},
          {"html_path", base + "/body.html"},
          {"txt_path", base + "/body.txt"},
          {"raw_path", base + "/body.raw"},
          {"download_path", base + "/body.eml"},
          {"html_source_path", base + "/body.htmlsource"},
          {"blacklists_report_info", std::move(blacklists)},
          {"smtp_information", std::move(smtp_information)}};
}

static std::map<std::int64_t, json::object> stored_blacklists(Services& services,
                                                              const std::vector<MessageSummary>& found) {
  if (!services.analysis) return {};
  std::vector<std::int64_t> ids;
  for (const MessageSummary& m : found) ids.push_back(m.id);
  return services.analysis->stored_blacklists(ids);
}

static json::object attachment_json(const Context& context, const sandbox::AttachmentSummary& a) {
  return {{"id", a.id},
          {"message_id", a.message_id},
          {"filename", a.filename},
          {"attachment_type", a.attachment_type},
          {"content_type", a.content_type},
          {"content_id", a.content_id},
          {"transfer_encoding", a.transfer_encoding},
          {"attachment_size", a.size},
          {"created_at", iso8601(a.created_at)},
          {"updated_at", iso8601(a.created_at)},
          {"attachment_human_size", human_size(a.size)},
          {"download_path",
           message_path(context, a.inbox_id, a.message_id) + "/attachments/" + std::to_string(a.id) + "/download"}};
}

static std::optional<std::int64_t> integer_query(const Request& request, std::string_view key) {
  const auto text = request.query_value(key);
  if (!text || text->empty()) return std::nullopt;
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr != text->data() + text->size())
    throw BadRequest("'" + std::string(key) + "' must be an integer");
  return value;
}

// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII fallback and the exact UTF-8 name.
static std::string attachment_disposition(std::string_view name) {
  std::string ascii, encoded;
  for (unsigned char c : name) {
    ascii.push_back(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? static_cast<char>(c) : '_');
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~')
      encoded.push_back(static_cast<char>(c));
    else
      encoded += fmt::format("%{:02X}", c);
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

// Captured content is hostile: bodies are served so a browser never runs or sniffs them on our origin.
static Response body_response(sandbox::Body body) {
  Response response = untrusted_html_response(std::move(body.content_type), std::move(body.content));
  if (!body.download_name.empty())
    response.headers.emplace_back("Content-Disposition", attachment_disposition(body.download_name));
  return response;
}

static Response part_missing() { return json_response(409, {{"error", "This message has no such part"}}); }

void add_sandbox_messages_routes(Router& router, Services& services) {
  if (!services.messages) return;
  sandbox::MessagesService& messages = *services.messages;
  const auto read = rules::inbox_level("inbox_id", viewer);
  const auto write = rules::inbox_level("inbox_id", admin);

  for (const std::string prefix : {"/inboxes/{inbox_id}", "/sandboxes/{inbox_id}"}) {
    router.add_account_route(
        "GET", prefix + "/messages/wait", read,
        [&messages, &services](Context& context) {
          const std::int64_t limit = services.max_wait_seconds;
          const std::int64_t timeout =
              std::clamp<std::int64_t>(integer_query(context.request, "timeout").value_or(30), 0, limit);
          const auto found = messages.wait(context.account_id, context.id_param("inbox_id"),
                                           context.request.query_value("search").value_or(""),
                                           integer_query(context.request, "after_id"), std::chrono::seconds(timeout));
          if (!found) return json_response(408, {{"error", "No matching message arrived in time"}});
          return json_response(200, message_json(context, *found));
        },
        RouteOptions{.blocks = true});
    router.add_account_route("GET", prefix + "/messages", read, [&messages, &services](Context& context) {
      const auto found = messages.list(
          context.account_id, context.id_param("inbox_id"), context.request.query_value("search").value_or(""),
          integer_query(context.request, "last_id"), integer_query(context.request, "page"));
      auto reports = stored_blacklists(services, found);
      json::array out;
      for (const MessageSummary& m : found) {
        const auto report = reports.find(m.id);
        out.push_back(message_json(
            context, m, report == reports.end() ? json::value(false) : json::value(std::move(report->second))));
      }
      return json_response(200, out);
    });
    const std::string one = prefix + "/messages/{message_id}";
    router.add_account_route("GET", one, read, [&messages, &services](Context& context) {
      const MessageSummary found =
          messages.get(context.account_id, context.id_param("inbox_id"), context.id_param("message_id"));
      auto reports = stored_blacklists(services, {found});
      return json_response(
          200, message_json(context, found,
                            reports.empty() ? json::value(false) : json::value(std::move(reports.begin()->second))));
    });
    router.add_account_route("PATCH", one, write, [&messages](Context& context) {
      const json::value body = parse_body(context.request);
      const json::object* message = optional_object(as_object(body, ""), "message", "");
      // A PATCH changes only what it names: without is_read (the Node SDK then sends {"message":{}}) nothing changes.
      const json::value* named = message ? message->if_contains("is_read") : nullptr;
      if (!named || named->is_null())
        return json_response(200, message_json(context, messages.get(context.account_id, context.id_param("inbox_id"),
                                                                     context.id_param("message_id"))));
      const bool is_read = optional_bool(*message, "is_read", "message");
      return json_response(200,
                           message_json(context, messages.set_read(context.account_id, context.id_param("inbox_id"),
                                                                   context.id_param("message_id"), is_read)));
    });
    router.add_account_route("DELETE", one, write, [&messages](Context& context) {
      return json_response(200, message_json(context, messages.remove(context.account_id, context.id_param("inbox_id"),
                                                                      context.id_param("message_id"))));
    });
    const std::pair<const char*, sandbox::BodyKind> bodies[] = {{"/body.html", sandbox::BodyKind::html},
                                                                {"/body.htmlsource", sandbox::BodyKind::html_source},
                                                                {"/body.txt", sandbox::BodyKind::text},
                                                                {"/body.raw", sandbox::BodyKind::raw},
                                                                {"/body.eml", sandbox::BodyKind::eml}};
    for (const auto& [suffix, kind] : bodies) {
      router.add_account_route("GET", one + suffix, read, [&messages, kind = kind](Context& context) {
        try {
          return body_response(
              messages.body(context.account_id, context.id_param("inbox_id"), context.id_param("message_id"), kind));
        } catch (const sandbox::PartMissing&) {
          return part_missing();
        }
      });
    }
    router.add_account_route("GET", one + "/mail_headers", read, [&messages](Context& context) {
      json::object headers;
      for (auto& [name, value] :
           messages.mail_headers(context.account_id, context.id_param("inbox_id"), context.id_param("message_id")))
        headers[name] = value;
      return json_response(200, {{"headers", std::move(headers)}});
    });
    router.add_account_route("GET", one + "/attachments", read, [&messages](Context& context) {
      json::array out;
      for (const auto& a :
           messages.attachments(context.account_id, context.id_param("inbox_id"), context.id_param("message_id"),
                                context.request.query_value("attachment_type")))
        out.push_back(attachment_json(context, a));
      return json_response(200, out);
    });
    router.add_account_route("GET", one + "/attachments/{attachment_id}", read, [&messages](Context& context) {
      return json_response(
          200, attachment_json(context,
                               messages.attachment(context.account_id, context.id_param("inbox_id"),
                                                   context.id_param("message_id"), context.id_param("attachment_id"))));
    });
    router.add_account_route("GET", one + "/attachments/{attachment_id}/download", read, [&messages](Context& context) {
      auto content = messages.attachment_content(context.account_id, context.id_param("inbox_id"),
                                                 context.id_param("message_id"), context.id_param("attachment_id"));
      Response response;
      response.status = 200;
      response.content_type =
          content.attachment.content_type.empty() ? "application/octet-stream" : content.attachment.content_type;
      response.body = std::move(content.content);
      response.headers.emplace_back(
          "Content-Disposition",
          attachment_disposition(content.attachment.filename.empty() ? "attachment" : content.attachment.filename));
      response.headers.emplace_back("X-Content-Type-Options", "nosniff");
      response.headers.emplace_back("Content-Security-Policy", "sandbox; default-src 'none'");
      return response;
    });
  }
}

}  // namespace postroom::http::api
