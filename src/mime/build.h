#pragma once
// Writing outgoing mail: an OutgoingMessage (what the send API and templates produce) becomes RFC 5322 bytes
// with CRLF line ends, lines of at most 998 octets, RFC 2047 encoded headers and a MIME tree chosen from the
// content (alternative for text+html, related for inline parts with a Content-ID, mixed for attachments).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mime/message.h"

namespace postroom::mime {

struct OutgoingAttachment {
  std::string content;  // raw (decoded) bytes
  std::string filename;
  std::string type;         // MIME type; application/octet-stream when empty
  std::string disposition;  // "attachment" (default when empty) or "inline"
  std::string content_id;   // without angle brackets
};

struct OutgoingMessage {
  Address from;
  std::vector<Address> to;
  std::vector<Address> cc;
  std::vector<Address> bcc;  // envelope only: never written into the headers
  std::vector<Address> reply_to;
  std::string subject;
  std::optional<std::string> text;
  std::optional<std::string> html;
  std::vector<OutgoingAttachment> attachments;
  // Custom headers in request order. Names that are not RFC 5322 field names, and names of headers the
  // builder owns (From, To, Cc, Bcc, Subject, Date, Message-ID, MIME-Version, Content-*), are skipped;
  // CR and LF are removed from values. Reply-To is written only when reply_to is empty.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string category;          // X-MT-Category when not empty
  std::string custom_variables;  // compact JSON object text for X-MT-Custom-Variables; empty when none
  // Template mode: carried for the caller, who renders the template before building.
  std::string template_uuid;
  std::string template_variables;  // compact JSON object text; empty when none
};

struct BuildOptions {
  std::string message_id_domain = "postroom.localhost";
  std::string message_id;            // without brackets; generated from message_id_domain when empty
  std::optional<std::int64_t> date;  // unix seconds; now when absent
  std::string boundary_seed;         // when set, boundaries derive from it (reproducible output for tests)
};

std::string build_message(const OutgoingMessage& message, const BuildOptions& options = {});

// A fresh Message-ID value (no brackets): random hex @ domain.
std::string new_message_id(const std::string& domain);
// A Date header value ("Mon, 23 Nov 2026 03:28:22 +0000") for a unix time.
std::string rfc5322_date(std::int64_t unix_seconds);

// "Name <email>" with the display name quoted or RFC 2047 encoded as needed; just the email when no name.
std::string format_address(const Address& address);

}  // namespace postroom::mime
