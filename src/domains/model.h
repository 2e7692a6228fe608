#pragma once
// Sending domains: the records a domain owner publishes, their verification state, and the per-domain
// settings live sending reads. Plain data; knows nothing of HTTP, DNS transport or storage.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::domains {

// The wire values of dns_records[].status (the OpenAPI enum).
enum class RecordStatus { unchecked, pass, fail, missing, network_error };
std::string_view to_string(RecordStatus status);
std::optional<RecordStatus> parse_record_status(std::string_view text);

// Record keys, as the API names them.
namespace record_key {
inline constexpr std::string_view verification = "verification";
inline constexpr std::string_view spf = "spf";
inline constexpr std::string_view dkim1 = "dkim1";
inline constexpr std::string_view dkim2 = "dkim2";
inline constexpr std::string_view dkim_ed25519 = "dkim_ed25519";
inline constexpr std::string_view dmarc = "dmarc";
inline constexpr std::string_view return_path = "return_path";
inline constexpr std::string_view link_verification = "link_verification";
}  // namespace record_key

// One record the owner must publish, and what the last check found.
//
// How a record is judged depends on its key:
//   verification, link_verification: CNAME whose target equals `value` (case and trailing dot ignored);
//   spf: the one "v=spf1" TXT at `domain` must contain every include/ip4/ip6/a/mx term of `value` (other
//        terms are the owner's business) and must not end in "+all";
//   dkim1, dkim2, dkim_ed25519: a TXT key record at `domain` with the same key type and key bytes as `value`;
//   dmarc: exactly one valid "v=DMARC1" TXT at `domain` — any policy is accepted;
//   return_path: a CNAME to `value`, or an MX whose host is `value`.
struct DnsRecord {
  std::string key;     // record_key::…
  std::string domain;  // the name queried, fully qualified, no trailing dot
  std::string name;    // `domain` relative to the sending domain ("" for the apex), as registrars ask for it
  std::string type;    // "CNAME" | "TXT" | "MX"
  std::string value;   // what to publish
  RecordStatus status = RecordStatus::unchecked;
  std::string reason;    // why it is not `pass` (empty when pass or unchecked)
  std::string found;     // what DNS answered, condensed (for troubleshooting)
  bool required = true;  // counts toward dns_verified
};

// The seed's compliance states (OpenAPI enum of compliance_status).
namespace compliance {
inline constexpr std::string_view unverified_dns = "unverified_dns";
inline constexpr std::string_view missing_company_info = "missing_company_info";
inline constexpr std::string_view pending = "pending";  // awaiting an admin's approval (when configured)
inline constexpr std::string_view compliant = "compliant";
inline constexpr std::string_view non_compliant = "non_compliant";
inline constexpr std::string_view suspended = "suspended";
inline constexpr std::string_view demo = "demo";
}  // namespace compliance

struct DkimKey {
  std::int64_t id = 0;
  std::int64_t domain_id = 0;
  std::string selector;
  std::string algorithm;          // "rsa-sha256" | "ed25519-sha256"
  std::string public_txt;         // "v=DKIM1; k=…; p=…"
  std::string private_sealed;     // the PKCS#8 DER private key, sealed with the installation's key
  std::string state = "standby";  // "active" (signs) | "standby" (published, waiting) | "retired"
  std::int64_t created_at = 0;
};

struct AutoBcc {
  std::vector<std::string> emails;
  std::string header_name;  // optional X- header added to the BCC copies
  std::string header_value;
};

struct SendingDomain {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  std::string domain_name;
  bool demo = false;
  std::string verification_token;  // the label of the verification CNAME
  std::vector<DnsRecord> dns_records;
  bool dns_verified = false;
  std::optional<std::int64_t> dns_verified_at;  // unix seconds
  std::optional<std::int64_t> dns_checked_at;   // unix seconds of the last check
  bool dns_lost = false;  // was verified, and a required record has since failed (sending may look at this)
  std::string compliance_status{compliance::unverified_dns};
  bool compliance_approved = false;  // an admin's approval, when approval is required
  // Tracking settings.
  bool open_tracking_enabled = true;
  bool click_tracking_enabled = false;
  bool custom_domain_tracking_enabled = false;
  // Unsubscribe settings: the automatic footer for bulk mail is on by default; for transactional mail
  // (auto_unsubscribe_link_enabled, the recorded field) it is off.
  bool auto_unsubscribe_link_enabled = false;
  bool bulk_unsubscribe_footer_enabled = true;
  // Alerts.
  bool health_alerts_enabled = true;
  bool critical_alerts_enabled = true;
  std::optional<std::string> alert_recipient_email;
  bool inbound_enabled = false;
  AutoBcc auto_bcc;
  std::optional<std::int64_t> api_token_id;  // the token created with the domain
  std::int64_t created_at = 0;
  std::optional<std::int64_t> deleted_at;  // history is kept; deleted domains never send
};

// The account's company information (one per account; every domain's company_info shows it).
struct CompanyInfo {
  std::string name, address, city, country, zip_code, website_url, info_level;
  std::optional<std::string> phone, privacy_policy_url, terms_of_service_url;
};

}  // namespace postroom::domains
