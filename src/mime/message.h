#pragma once
// Reading captured mail: one parse at ingest turns raw RFC 5322 bytes into the summary the sandbox stores and
// serves (addresses, decoded subject, bodies, attachment metadata, headers). Never throws; malformed input is
// parsed as well as possible and what went wrong is listed in ParsedMessage::problems.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::mime {

struct Address {
  std::string name;   // decoded display name, UTF-8; empty when absent
  std::string email;  // addr-spec as written (local@domain); may be empty for garbage input
  bool operator==(const Address&) const = default;
};

struct Header {
  std::string name;   // as written
  std::string value;  // unfolded, RFC 2047 decoded to UTF-8
  bool operator==(const Header&) const = default;
};

struct AttachmentInfo {
  std::size_t index = 0;               // position in ParsedMessage::attachments; stable for attachment_content()
  std::string filename;                // decoded (RFC 2231 / RFC 2047); may be empty
  std::string content_type;            // lowercase "type/subtype"
  std::string content_id;              // without the angle brackets; empty when absent
  std::string disposition;             // "attachment" or "inline"
  std::string transfer_encoding;       // lowercase, "7bit" when absent
  std::size_t size = 0;                // decoded size in bytes
  std::optional<std::string> content;  // decoded bytes, only with ParseOptions::keep_attachment_content
  bool operator==(const AttachmentInfo&) const = default;
};

struct ParseOptions {
  // Hostile input guards: parts deeper than max_depth or beyond max_parts are not examined.
  std::size_t max_depth = 64;
  std::size_t max_parts = 1000;
  bool keep_attachment_content = false;
  // A message that is one leaf part with an identity transfer encoding (7bit, 8bit, binary or none: most mail
  // from applications) has the bytes after its header section as its content. GMime then parses the header
  // section alone and the body is taken as it is, instead of being scanned line by line for boundaries that a
  // single part cannot have. The summary is the same either way (a differential test and the fuzz target
  // compare both); false makes GMime read every message whole.
  bool single_part_shortcut = true;
};

struct ParsedMessage {
  std::optional<Address> from;  // first From mailbox
  std::vector<Address> to;
  std::vector<Address> cc;
  std::vector<Address> bcc;  // from a Bcc header, when the message carries one
  std::vector<Address> reply_to;
  std::vector<Address> sender;
  std::string subject;               // decoded, UTF-8
  std::optional<std::int64_t> date;  // unix seconds, when the Date header parses
  std::string message_id;            // without angle brackets
  std::string in_reply_to;           // as decoded from the header
  std::string x_mailer;
  std::size_t size = 0;                  // raw size in bytes
  std::optional<std::string> text_body;  // first text/plain part that is not an attachment, UTF-8
  std::optional<std::string> html_body;  // first text/html part that is not an attachment, UTF-8
  std::size_t text_body_size = 0;        // bytes of text_body
  std::size_t html_body_size = 0;        // bytes of html_body
  std::vector<AttachmentInfo> attachments;
  std::vector<Header> headers;        // top-level headers in order
  std::vector<std::string> problems;  // parser warnings and our own findings, human-readable
  bool operator==(const ParsedMessage&) const = default;
};

ParsedMessage parse_message(std::string_view raw, const ParseOptions& options = {});

// Decoded bytes of attachment `index` as numbered by parse_message(raw) with default limits; nullopt when
// there is no such attachment.
std::optional<std::string> attachment_content(std::string_view raw, std::size_t index);

// Envelope recipients (RCPT TO) that appear in neither To nor Cc: the blind copies. Case-insensitive compare,
// order of the envelope kept, duplicates dropped.
std::vector<Address> bcc_from_envelope(const std::vector<std::string>& envelope_recipients,
                                       const ParsedMessage& parsed);

// The HTML body for a preview pane: <script> and other active elements removed, on* event attributes and
// javascript:/vbscript: URLs dropped. Parsed with libxml2's HTML parser and re-serialized, so the markup is
// normalized. Returns an empty string when nothing can be parsed.
std::string sanitize_html_for_preview(std::string_view html);

}  // namespace postroom::mime
