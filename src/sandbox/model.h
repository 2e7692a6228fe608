#pragma once
// Captured messages as the Email Sandbox stores and serves them. Plain data; the rules live in messages.h.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace postroom::sandbox {

// How a message reached the sandbox: the SMTP envelope, or the HTTP send API.
struct Envelope {
  std::string mail_from;
  std::vector<std::string> rcpt_to;
  std::string client_ip;
  std::string helo;
  bool tls = false;
  std::string auth_user;     // SMTP username, or "api token <id>" for the send API
  std::string via = "smtp";  // "smtp" or "api"
};

// The template that produced a message sent by template_uuid (shown in Tech Info).
struct TemplateUse {
  std::int64_t template_id = 0;
  std::string template_uuid;
  std::string variables_json;  // compact JSON object
};

// The summary row parsed once on arrival.
struct MessageSummary {
  std::int64_t id = 0;
  std::int64_t inbox_id = 0;
  std::int64_t account_id = 0;
  std::string subject;
  std::string from_email, from_name;
  std::string to_email, to_name;  // the first To recipient
  std::string recipients_json;    // {"to":[{email,name}],"cc":[…],"bcc":[…],"reply_to":[…]}
  std::string headers_json;       // [[name, decoded value], …] in message order
  std::string smtp_json;          // the envelope: {"mail_from_addr","rcpt_to_addrs",client_ip,helo,tls,auth,via}
  std::string message_id_header;
  std::int64_t sent_at = 0;  // Date header, or arrival when it has none
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  bool is_read = false;
  std::int64_t email_size = 0;
  std::optional<std::int64_t> html_body_size;  // empty: no HTML part
  std::optional<std::int64_t> text_body_size;  // empty: no text part
  std::int64_t attachments_count = 0;
  std::optional<std::int64_t> template_id;
  std::optional<std::string> template_variables;  // JSON object text
};

struct AttachmentSummary {
  std::int64_t id = 0;
  std::int64_t message_id = 0;
  std::int64_t inbox_id = 0;
  std::int64_t part_index = 0;  // mime::attachment_content index
  std::string filename;
  std::string attachment_type;  // "attachment" or "inline"
  std::string content_type;
  std::string content_id;
  std::string transfer_encoding;
  std::int64_t size = 0;
  std::int64_t created_at = 0;
};

struct InboxLimits {
  std::int64_t account_id = 0;
  std::int64_t max_messages = 0;      // 0: the installation default
  std::int64_t max_message_size = 0;  // 0: the installation default
};

// One term of a sandbox search (see search.h for the syntax).
struct SearchTerm {
  enum class Field { any, from, to, subject, has_attachment, is_unread, is_read };
  Field field = Field::any;
  std::string text;  // lower case
  bool negated = false;
};

struct SearchQuery {
  std::vector<SearchTerm> terms;
  bool empty() const { return terms.empty(); }
};

}  // namespace postroom::sandbox
