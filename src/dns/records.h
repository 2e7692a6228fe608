#pragma once
// Parsers for the TXT records that sending-domain verification compares: SPF (RFC 7208), DKIM key records
// (RFC 6376 §3.6.1, RFC 8463) and DMARC (RFC 7489). Pure functions, no I/O.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::dns {

// RFC 6376 §3.2 tag=value lists. Tag names are kept as written (case-sensitive); values have FWS trimmed at
// both ends. Returns nullopt on a syntax error or a duplicated tag.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_tag_list(std::string_view text);

// ---- SPF ----
struct SpfTerm {
  char qualifier = '+';  // + - ~ ?  (modifiers: '=')
  std::string name;      // lowercased mechanism or modifier: all include a mx ptr ip4 ip6 exists redirect exp …
  std::string value;     // the argument after ':' or '=' (may include a "/cidr" suffix); domains lowercased,
                         // without a trailing dot; IPs in canonical text form
  bool operator==(const SpfTerm&) const = default;
};

struct SpfRecord {
  std::vector<SpfTerm> terms;  // in order

  bool has_include(std::string_view domain) const;
  // The qualifier of "all", or 0 when there is none.
  char all_qualifier() const;
};

// Parses one SPF record ("v=spf1 …"). Returns nullopt (and a reason in *error) when it is not SPF or malformed.
std::optional<SpfRecord> parse_spf(std::string_view record, std::string* error = nullptr);

// Picks the SPF record among a name's TXT records (joined strings). RFC 7208 §4.5: none or several is an error.
std::optional<std::string> select_spf(const std::vector<std::string>& txt_records, std::string* error = nullptr);

// Semantic equality: the same mechanisms with the same qualifiers (implicit '+' equals explicit '+', case and
// trailing dots ignored, "ip4:1.2.3.4/32" equals "ip4:1.2.3.4"), the same modifiers, the same "all"; the
// order of mechanisms before "all" does not matter.
bool spf_equivalent(const SpfRecord& a, const SpfRecord& b);

// ---- DKIM key records ----
struct DkimKeyRecord {
  std::string version;  // "DKIM1" or empty when absent
  std::string key_type = "rsa";
  std::string public_key;                                 // p= with whitespace removed (base64); empty means revoked
  std::vector<std::string> hash_algorithms;               // h=, empty: all
  std::vector<std::string> flags;                         // t=
  std::string service = "*";                              // s=
  std::vector<std::pair<std::string, std::string>> tags;  // everything as parsed

  bool revoked() const { return public_key.empty(); }
};

std::optional<DkimKeyRecord> parse_dkim_key(std::string_view record, std::string* error = nullptr);

// The same key type and the same decoded key bytes (whitespace and base64 padding layout ignored).
bool dkim_keys_equal(const DkimKeyRecord& a, const DkimKeyRecord& b);

// ---- DMARC ----
struct DmarcRecord {
  std::string policy;            // none | quarantine | reject
  std::string subdomain_policy;  // sp=, empty when absent
  int percent = 100;             // pct=
  std::string adkim = "r";
  std::string aspf = "r";
  std::vector<std::string> rua;
  std::vector<std::string> ruf;
  std::vector<std::pair<std::string, std::string>> tags;
};

// "v=DMARC1" must come first and p= must be a valid policy (RFC 7489 §6.3-6.4).
std::optional<DmarcRecord> parse_dmarc(std::string_view record, std::string* error = nullptr);

}  // namespace postroom::dns
