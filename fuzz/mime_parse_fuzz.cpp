// Feeds arbitrary bytes to the MIME parser as a captured message, then exercises what the sandbox does with
// the result: attachment extraction, the HTML preview sanitizer and the envelope Bcc computation.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mime/message.h"

using namespace postroom::mime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const ParsedMessage parsed = parse_message(raw);
  // Attachment extraction re-parses; a few are enough to cover the path without slowing the run down.
  for (std::size_t i = 0; i < parsed.attachments.size() && i < 3; ++i) {
    const auto content = attachment_content(raw, parsed.attachments[i].index);
    if (!content || content->size() != parsed.attachments[i].size) __builtin_trap();
  }
  if (parsed.html_body) (void)sanitize_html_for_preview(*parsed.html_body);
  (void)sanitize_html_for_preview(raw.substr(0, 4096));
  (void)bcc_from_envelope({"a@example.com", std::string(raw.substr(0, 64))}, parsed);
  return 0;
}
