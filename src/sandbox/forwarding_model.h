#pragma once
// A sandbox's forwarding targets as data: confirmed email addresses (for manual forwarding and for automatic
// forwarding) and domains proven by a TXT record (automatic forwarding only).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postroom::sandbox {

namespace forward_kind {
inline constexpr std::string_view email = "email";
inline constexpr std::string_view domain = "domain";
}  // namespace forward_kind

namespace forward_purpose {
inline constexpr std::string_view manual = "manual";
inline constexpr std::string_view automatic = "auto";
}  // namespace forward_purpose

namespace forward_status {
inline constexpr std::string_view pending = "pending";
inline constexpr std::string_view active = "active";
}  // namespace forward_status

struct ForwardRule {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  std::int64_t inbox_id = 0;
  std::string kind;                               // forward_kind
  std::string purpose;                            // forward_purpose
  std::string value;                              // lower-case address or domain
  std::string status;                             // forward_status
  std::optional<std::string> token_hash;          // SHA-256 hex of an address's confirmation token
  std::optional<std::string> verification_value;  // a domain's expected TXT record
  std::optional<std::int64_t> confirmation_sent_at;
  std::optional<std::int64_t> confirmed_at;
  std::int64_t created_at = 0;
};

// The From address of mail forwarded out of a sandbox: "<smtp username>-i<inbox id>@<forward domain>".
std::string forward_from_address(const std::string& smtp_username, std::int64_t inbox_id,
                                 const std::string& forward_domain);

}  // namespace postroom::sandbox
