// Feeds arbitrary bytes to the MIME parser as a captured message, then exercises what the sandbox does with
// the result: attachment extraction, the HTML preview sanitizer and the envelope Bcc computation. Inputs that
// happen to be JSON also go through the send-request validator and, when valid, the message builder, whose
// output must keep the wire rules (CRLF only, lines ≤ 998 octets) and parse back.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mime/build.h"
#include "mime/message.h"
#include "mime/send_request.h"

using namespace postroom::mime;

namespace {

void check_wire_rules(const std::string& raw) {
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\n') continue;
    if (i == 0 || raw[i - 1] != '\r' || i - 1 - line_start > 998) __builtin_trap();
    line_start = i + 1;
  }
}

void build_and_reparse(const OutgoingMessage& message) {
  BuildOptions options;
  options.date = 0;
  options.message_id = "fuzz@postroom.test";
  const std::string raw = build_message(message, options);
  check_wire_rules(raw);
  const ParsedMessage parsed = parse_message(raw);
  if (!parsed.from) __builtin_trap();
}

void exercise_json(std::string_view input) {
  boost::system::error_code error;
  const boost::json::value body = boost::json::parse(input, error);
  if (error) return;
  const SendRequestResult single = parse_send_request(body);
  if (single.ok()) build_and_reparse(*single.message);
  const BatchRequestResult batch = parse_batch_request(body);
  for (std::size_t i = 0; i < batch.requests.size() && i < 3; ++i) {
    if (batch.requests[i].ok()) build_and_reparse(*batch.requests[i].message);
  }
}

// The single-part shortcut (GMime reads the header section alone) must give what a whole parse gives.
void check_single_part_shortcut(std::string_view raw, const ParsedMessage& shortcut) {
  ParseOptions whole;
  whole.single_part_shortcut = false;
  if (!(parse_message(raw, whole) == shortcut)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const ParsedMessage parsed = parse_message(raw);
  check_single_part_shortcut(raw, parsed);
  // Attachment extraction re-parses; a few are enough to cover the path without slowing the run down.
  for (std::size_t i = 0; i < parsed.attachments.size() && i < 3; ++i) {
    const auto content = attachment_content(raw, parsed.attachments[i].index);
    if (!content || content->size() != parsed.attachments[i].size) __builtin_trap();
  }
  if (parsed.html_body) (void)sanitize_html_for_preview(*parsed.html_body);
  (void)sanitize_html_for_preview(raw.substr(0, 4096));
  (void)bcc_from_envelope({"a@example.com", std::string(raw.substr(0, 64))}, parsed);
  if (!raw.empty() && (raw.front() == '{' || raw.front() == '[')) exercise_json(raw);
  return 0;
}
