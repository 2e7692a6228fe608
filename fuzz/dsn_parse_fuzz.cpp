// Feeds arbitrary bytes to the bounce readers: the RFC 3464 DSN parser, the plain-text bounce reader, and the
// Diagnostic-Code splitter on every recipient they return (and on the input itself). Checks the documented bounds:
// at most kMaxDsnRecipients recipients, human_readable ≤ 8 KB, field values ≤ 2 KB.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mime/dsn.h"

using namespace postroom::mime;

namespace {

void check(const std::optional<Dsn>& dsn) {
  if (!dsn) return;
  if (dsn->recipients.size() > kMaxDsnRecipients || dsn->human_readable.size() > 8192) __builtin_trap();
  for (const DsnRecipient& recipient : dsn->recipients) {
    if (recipient.diagnostic_code.size() > 2048 || recipient.final_recipient.size() > 2048) __builtin_trap();
    const SmtpReplyParts parts = parse_diagnostic_code(recipient.diagnostic_code);
    if (parts.code != 0 && (parts.code < 200 || parts.code > 599)) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  check(parse_dsn(raw));
  check(parse_plain_bounce(raw));
  const SmtpReplyParts parts = parse_diagnostic_code(raw.substr(0, 4096));
  if (parts.code != 0 && (parts.code < 200 || parts.code > 599)) __builtin_trap();
  return 0;
}
