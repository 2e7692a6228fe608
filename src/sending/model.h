#pragma once
// Live sending as data: each accepted message becomes one SentMessage per recipient (what the email logs call a
// message, with its own message_id, status and events); bodies are stored once and shared by the copies that
// read the same bytes. Plain data; no HTTP, sockets or storage.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::sending {

// `forward`: mail the platform sends for the Email Sandbox (forwarded messages and their address
// confirmations), delivered by the same engine but outside the account's sending (no domain, limits or logs).
enum class Stream { transactional, bulk, forward };
std::string_view to_string(Stream stream);
std::optional<Stream> parse_stream(std::string_view text);

// The email logs' status of a message (the seed's "Statuses and Events").
namespace status {
inline constexpr std::string_view enqueued = "enqueued";
inline constexpr std::string_view delivered = "delivered";
inline constexpr std::string_view not_delivered = "not_delivered";
inline constexpr std::string_view opted_out = "opted_out";
}  // namespace status

// Event types as the email logs API writes them.
namespace event {
inline constexpr std::string_view sending = "sending";  // accepted and queued (shown as "Sending")
inline constexpr std::string_view delivery = "delivery";
inline constexpr std::string_view soft_bounce = "soft_bounce";
inline constexpr std::string_view bounce = "bounce";
inline constexpr std::string_view suspension = "suspension";
inline constexpr std::string_view reject = "reject";
inline constexpr std::string_view unsubscribe = "unsubscribe";
inline constexpr std::string_view spam = "spam";
inline constexpr std::string_view open = "open";
inline constexpr std::string_view click = "click";
}  // namespace event

struct SentMessage {
  std::int64_t id = 0;
  std::string uuid;  // the API's message_id
  std::int64_t account_id = 0;
  std::int64_t domain_id = 0;
  std::string domain_name;
  Stream stream = Stream::transactional;
  std::string status{status::enqueued};
  std::string subject;
  std::string from;                   // header From address
  std::string mail_from;              // envelope sender (the return path)
  std::string to;                     // this copy's recipient
  std::string recipient_kind = "to";  // to | cc | bcc | auto_bcc
  std::string category;
  std::optional<std::string> custom_variables;  // compact JSON object text
  std::optional<std::int64_t> template_id;
  std::optional<std::string> template_variables;  // compact JSON object text
  std::string client_ip;
  std::string rfc_message_id;  // without <>
  std::int64_t body_id = 0;
  std::int64_t created_at = 0;  // sent_at
  // Delivery state.
  int attempts = 0;
  std::optional<std::int64_t> next_attempt_at;  // set while enqueued
  std::string last_response;                    // the last SMTP reply or local error
  std::string bounce_category;
  std::string sending_ip;
  std::string recipient_mx;
  std::string email_service_provider;
  std::int64_t opens_count = 0;
  std::int64_t clicks_count = 0;
  std::int64_t updated_at = 0;
};

struct MessageEvent {
  std::int64_t id = 0;
  std::int64_t message_id = 0;  // SentMessage::id
  std::string event_type;
  std::int64_t created_at = 0;
  std::string details;  // compact JSON object text
};

struct Suppression {
  std::string id;  // uuid
  std::int64_t account_id = 0;
  std::optional<std::int64_t> domain_id;  // empty: every domain of the account
  std::string domain_name;
  std::string email;                   // lowercase
  std::string type;                    // "hard bounce" | "spam complaint" | "unsubscription" | "manual import"
  std::string sending_stream = "any";  // transactional | bulk | any
  std::int64_t created_at = 0;
  // What caused it (empty for manual ones), as the list endpoint shows them.
  std::string message_bounce_category, message_category, message_client_ip, message_esp_response,
      message_esp_server_type, message_outgoing_ip, message_recipient_mx_name, message_sender_email, message_subject;
  std::optional<std::int64_t> message_created_at;
};

}  // namespace postroom::sending
