// Email logs (WIRE-COMPATIBILITY §4.3): GET A/email_logs with the SDKs' filters[field][operator|value] query
// syntax and search_after cursors; GET A/email_logs/{message_id} with events and a raw_message_url that is
// signed and expires; GET of that URL returns the stored bytes; …/body.html and …/body.txt for the UI.
#include <map>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/api/serialize.h"
#include "http/json.h"
#include "mime/message.h"
#include "sending/service.h"

namespace postroom::http::api {
namespace {

constexpr std::int64_t kRawUrlLifetimeSeconds = 3600;

// filters[field][operator] / filters[field][value] / filters[field][value][N] / filters[field][value][] and
// filters[sent_after], decoded, without splitting values on commas (subjects contain commas).
struct RawFilter {
  std::string op;
  std::vector<std::string> values;
};
std::map<std::string, RawFilter> parse_filters(const Request& request) {
  std::map<std::string, RawFilter> out;
  for (const auto& [name, value] : request.query_pairs()) {
    if (!name.starts_with("filters[")) continue;
    const auto close = name.find(']');
    if (close == std::string::npos) throw BadRequest("malformed filter parameter '" + name + "'");
    const std::string field = name.substr(8, close - 8);
    const std::string tail = name.substr(close + 1);
    RawFilter& filter = out[field];
    if (tail.empty() || tail.starts_with("[value]"))
      filter.values.push_back(value);
    else if (tail == "[operator]")
      filter.op = value;
    else
      throw BadRequest("malformed filter parameter '" + name + "'");
  }
  return out;
}

store::LogQuery to_query(const std::map<std::string, RawFilter>& filters) {
  // field → (column, allowed operators)
  static const std::map<std::string, std::pair<std::string, std::vector<std::string>>> text_fields = {
      {"to", {"to_email", {"ci_contain", "ci_not_contain", "ci_equal", "ci_not_equal"}}},
      {"from", {"from_email", {"ci_contain", "ci_not_contain", "ci_equal", "ci_not_equal"}}},
      {"subject", {"subject", {"ci_contain", "ci_not_contain", "ci_equal", "ci_not_equal", "empty", "not_empty"}}},
      {"status", {"status", {"equal", "not_equal"}}},
      {"client_ip", {"client_ip", {"equal", "not_equal", "contain", "not_contain"}}},
      {"sending_ip", {"sending_ip", {"equal", "not_equal", "contain", "not_contain"}}},
      {"email_service_provider_response",
       {"last_response", {"ci_contain", "ci_not_contain", "ci_equal", "ci_not_equal"}}},
      {"email_service_provider", {"email_service_provider", {"equal", "not_equal"}}},
      {"recipient_mx", {"recipient_mx", {"ci_contain", "ci_not_contain", "ci_equal", "ci_not_equal"}}},
      {"category", {"category", {"equal", "not_equal"}}},
      {"sending_domain_id", {"domain_id", {"equal", "not_equal"}}},
      {"sending_stream", {"stream", {"equal", "not_equal"}}},
  };
  store::LogQuery query;
  for (const auto& [field, filter] : filters) {
    if (field == "sent_after" || field == "sent_before") {
      std::int64_t when = 0;
      if (filter.values.empty() || !parse_iso8601(filter.values.front(), when))
        throw BadRequest("'filters[" + field + "]' must be an ISO 8601 time");
      (field == "sent_after" ? query.sent_after : query.sent_before) = when;
      continue;
    }
    if (field == "opens_count" || field == "clicks_count") {
      if (filter.op != "equal" && filter.op != "greater_than" && filter.op != "less_than")
        throw BadRequest("unknown operator '" + filter.op + "' for filters[" + field + "]");
      std::int64_t value = 0;
      try {
        value = filter.values.empty() ? 0 : std::stoll(filter.values.front());
      } catch (const std::exception&) {
        throw BadRequest("'filters[" + field + "][value]' must be a number");
      }
      query.numbers.push_back({field, filter.op, value});
      continue;
    }
    if (field == "events") {
      if (filter.op != "include_event" && filter.op != "not_include_event")
        throw BadRequest("unknown operator '" + filter.op + "' for filters[events]");
      query.events.push_back({filter.op == "include_event", filter.values});
      continue;
    }
    const auto it = text_fields.find(field);
    if (it == text_fields.end()) throw BadRequest("unknown filter '" + field + "'");
    const auto& [column, operators] = it->second;
    if (std::find(operators.begin(), operators.end(), filter.op) == operators.end())
      throw BadRequest("unknown operator '" + filter.op + "' for filters[" + field + "]");
    query.text.push_back({column, filter.op, filter.values});
  }
  // Forwarded sandbox mail rides the same queue but is not the account's sending.
  query.text.push_back({"stream", "not_equal", {std::string(sending::to_string(sending::Stream::forward))}});
  return query;
}

json::value json_or_null(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  boost::system::error_code ec;
  json::value parsed = json::parse(*text, ec);
  return ec ? json::value(nullptr) : parsed;
}

json::object message_json(const sending::SentMessage& m) {
  return {
      {"message_id", m.uuid},
      {"status", m.status},
      {"rfc_message_id", m.rfc_message_id.empty() ? json::value(nullptr) : json::value("<" + m.rfc_message_id + ">")},
      {"in_reply_to", nullptr},
      {"references", json::array()},
      {"thread_id", nullptr},
      {"subject", m.subject},
      {"from", m.from},
      {"to", m.to},
      {"sent_at", iso8601(m.created_at)},
      {"client_ip", m.client_ip.empty() ? json::value(nullptr) : json::value(m.client_ip)},
      {"category", m.category.empty() ? json::value(nullptr) : json::value(m.category)},
      {"custom_variables", json_or_null(m.custom_variables)},
      {"sending_stream", sending::to_string(m.stream)},
      {"sending_domain_id", m.domain_id},
      {"template_id", m.template_id ? json::value(*m.template_id) : json::value(nullptr)},
      {"template_variables", json_or_null(m.template_variables)},
      {"opens_count", m.opens_count},
      {"clicks_count", m.clicks_count}};
}

// The signature of a raw message link: message id and expiry under a key only this process knows.
std::string sign_raw_link(const std::string& secret, const std::string& message_id, std::int64_t expires) {
  return crypto::sha256_hex(secret + ":" + message_id + ":" + std::to_string(expires)).substr(0, 40);
}

}  // namespace

void add_email_logs_routes(Router& router, Services& services) {
  if (!services.sending) return;
  auto& service = *services.sending;
  // Links stay valid for an hour within one process lifetime; a restart invalidates them (they are re-issued
  // by every GET of the message).
  const auto secret = std::make_shared<std::string>(crypto::random_hex(64));
  const std::string public_url = services.public_url;

  router.add_account_route("GET", "/email_logs", rules::account_viewer(), [&service](Context& context) {
    auto page = service.logs(context.account_id, to_query(parse_filters(context.request)),
                             context.request.query_value("search_after"));
    json::array messages;
    for (const auto& m : page.messages) messages.push_back(message_json(m));
    return json_response(
        200, json::object{{"messages", std::move(messages)},
                          {"total_count", page.total_count},
                          {"next_page_cursor",
                           page.next_page_cursor ? json::value(*page.next_page_cursor) : json::value(nullptr)}});
  });
  router.add_account_route("GET", "/email_logs/{message_id}", rules::account_viewer(),
                           [&service, secret, public_url](Context& context) {
                             const auto message = service.log(context.account_id, context.params.at("message_id"));
                             if (message.stream == sending::Stream::forward) throw NotFound();
                             json::object out = message_json(message);
                             const std::int64_t expires = SystemClock().now() + kRawUrlLifetimeSeconds;
                             out["raw_message_url"] = public_url + "/api/email_logs/raw/" + message.uuid +
                                                      "?expires=" + std::to_string(expires) +
                                                      "&signature=" + sign_raw_link(*secret, message.uuid, expires);
                             json::array events;
                             for (const auto& e : service.events(message))
                               events.push_back(json::object{{"event_type", e.event_type},
                                                             {"created_at", iso8601(e.created_at)},
                                                             {"details", json_or_null(e.details)}});
                             out["events"] = std::move(events);
                             return json_response(200, out);
                           });
  // The sent message's bodies for the UI's preview (Postroom extension): the HTML as a sandboxed document of its
  // own, the text as plain text; 409 when the message has no such part.
  for (const bool html : {true, false}) {
    router.add_account_route("GET", html ? "/email_logs/{message_id}/body.html" : "/email_logs/{message_id}/body.txt",
                             rules::account_viewer(), [&service, html](Context& context) {
                               const std::string id = context.params.at("message_id");
                               if (service.log(context.account_id, id).stream == sending::Stream::forward)
                                 throw NotFound();
                               const mime::ParsedMessage parsed =
                                   mime::parse_message(service.raw_message(context.account_id, id));
                               const std::optional<std::string>& body = html ? parsed.html_body : parsed.text_body;
                               if (!body) return json_response(409, {{"error", "This message has no such part"}});
                               if (html) return untrusted_html_response("text/html; charset=utf-8", *body);
                               Response response;
                               response.content_type = "text/plain; charset=utf-8";
                               response.headers.emplace_back("X-Content-Type-Options", "nosniff");
                               response.body = *body;
                               return response;
                             });
  }
  // The raw message behind raw_message_url: no token, the signature is the credential.
  router.add("GET", "/api/email_logs/raw/{message_id}", rules::open(), [&service, secret](Context& context) {
    const std::string id = context.params.at("message_id");
    std::int64_t expires = 0;
    try {
      expires = std::stoll(context.request.query_value("expires").value_or("0"));
    } catch (const std::exception&) {
      return not_found();
    }
    const std::string signature = context.request.query_value("signature").value_or("");
    if (expires < SystemClock().now() || !crypto::constant_time_equals(signature, sign_raw_link(*secret, id, expires)))
      return forbidden();
    const auto message = service.find_for_unsubscribe(id);
    if (!message) return not_found();
    Response response;
    response.content_type = "message/rfc822";
    response.body = service.raw_message(message->account_id, id);
    return response;
  });
}

}  // namespace postroom::http::api
