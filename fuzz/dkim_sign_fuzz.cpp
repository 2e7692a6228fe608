// libFuzzer target for DKIM canonicalization and signing (src/dkim): any bytes as a message must sign or be
// refused with std::invalid_argument, and canonicalization must be idempotent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "dkim/dkim.h"

namespace {

const postroom::dkim::SigningKey& key() {
  static const auto k = postroom::dkim::SigningKey::ed25519_from_raw(std::string(32, '\x2a'));
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const std::string body = postroom::dkim::canonicalize_body_relaxed(input);
  if (postroom::dkim::canonicalize_body_relaxed(body) != body) std::abort();
  if (!body.empty() && body.substr(body.size() - 2) != "\r\n") std::abort();

  const auto eol = input.find('\n');
  const std::string_view first = input.substr(0, eol);
  const std::string header = postroom::dkim::canonicalize_header_relaxed(first);
  if (first.find(':') != std::string_view::npos && postroom::dkim::canonicalize_header_relaxed(header) != header) {
    std::abort();
  }

  postroom::dkim::SignOptions options;
  options.domain = "example.test";
  options.selector = "fuzz";
  options.timestamp = 1700000000;
  options.oversign_missing = size % 2 == 0;
  try {
    const std::string sig = postroom::dkim::sign(input, key(), options);
    if (sig.rfind("DKIM-Signature: v=1;", 0) != 0 || sig.back() != '\n') std::abort();
  } catch (const std::invalid_argument&) {
    // no From field
  }
  return 0;
}
