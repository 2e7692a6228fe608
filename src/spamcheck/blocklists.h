#pragma once
// The blacklists report: is the message's client IP, its From domain or a linked domain listed on public DNS
// blocklists? IP lists (DNSBL) are asked for the reversed address (d.c.b.a.zone, or 32 reversed nibbles for
// IPv6), domain lists (URI blocklists) for domain.zone. What each list's answers mean is data (Blocklist::codes,
// the defaults below or a config file in the format of config/blocklists.conf), including the answers that mean
// "your query was refused" (e.g. Spamhaus 127.255.255.254 for queries through public resolvers): those are
// errors, never "listed". No HTTP or storage; DNS goes through postroom::dns::Resolver.
#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.h"

namespace postroom::spamcheck {

// One answer a list may give and what it means.
struct ReturnCode {
  enum Verdict { listed, error };
  // Matches the IPv4 answers first..last (host byte order; first == last for one code), or, when `bit` is not
  // zero, the answers 127.0.0.X whose last octet has that bit set (SURBL and URIBL encode sub-lists as bits).
  std::uint32_t first = 0;
  std::uint32_t last = 0;
  std::uint8_t bit = 0;
  Verdict verdict = listed;
  std::string meaning;
  bool operator==(const ReturnCode&) const = default;
};

struct Blocklist {
  enum Kind { ip, domain };
  std::string name;  // shown in the report: "Spamhaus ZEN"
  std::string zone;  // "zen.spamhaus.org"
  std::string url;   // lookup and delisting page
  Kind kind = ip;
  bool ipv6 = false;  // IP lists: the zone answers IPv6 (nibble-format) queries
  // Exact codes and ranges are tried first, then bits. An answer in 127.0.0.0/8 that matches nothing still
  // means listed ("unrecognised return code"); an answer outside 127.0.0.0/8 is an error (a resolver that
  // rewrites NXDOMAIN, or a wildcard).
  std::vector<ReturnCode> codes;
  bool operator==(const Blocklist&) const = default;
};

// Spamhaus ZEN, SpamCop, Barracuda, PSBL, Mailspike (IP); Spamhaus DBL, SURBL, URIBL (domain). The same text
// as config/blocklists.conf. Note that Spamhaus refuses queries that come through public resolvers and
// Barracuda wants the querying resolver registered: run the checks through your own recursive resolver.
std::vector<Blocklist> default_blocklists();
std::string_view default_blocklists_text();

// Parses the configuration format (see config/blocklists.conf):
//   [Display name]                        one section per list
//   kind = ip | domain
//   zone = zen.spamhaus.org
//   url = https://check.spamhaus.org/
//   ipv6 = yes | no                       (ip lists; default no)
//   code 127.0.0.2 = listed SBL: Spamhaus SBL Data
//   code 127.0.0.4-127.0.0.7 = listed XBL: …
//   code 127.255.255.254 = error query refused: …
//   bit 8 = listed PH: phishing           (127.0.0.X with bit 8 of X set)
// '#' starts a comment line. Throws std::invalid_argument("blocklists line N: …").
std::vector<Blocklist> parse_blocklists(std::string_view config_text);

enum class CheckStatus { listed, not_listed, error, skipped };
std::string_view to_string(CheckStatus status);

struct CodeHit {
  std::string code;     // the answer, "127.0.0.2"
  std::string meaning;  // "SBL: Spamhaus SBL Data"
  bool error = false;   // the code means the query was refused, not that the item is listed
};

// One (list, item) pair.
struct BlocklistCheck {
  std::string list_name, list_url, zone;
  Blocklist::Kind kind = Blocklist::ip;
  std::string item;   // the IP or domain checked, normalized ("2001:db8::1", "example.com")
  std::string query;  // the name asked ("2.0.0.127.zen.spamhaus.org"); empty when skipped
  CheckStatus status = CheckStatus::skipped;
  std::vector<CodeHit> codes;
  std::string detail;  // why skipped or error ("not checked: private address", "timeout: …")
};

struct BlacklistReport {
  std::string ip;                      // the client IP as given (may be empty)
  std::vector<std::string> domains;    // normalized, deduplicated, in the order given
  std::vector<BlocklistCheck> checks;  // list by list (in list order), items in input order

  bool any_listed() const;
  // Every query that was made failed (nothing definite could be said).
  bool all_failed() const;
  // The checks of one list.
  std::vector<const BlocklistCheck*> for_list(std::string_view list_name) const;
};

// Checks client_ip against the IP lists and each domain against the domain lists, all queries at once
// (Resolver::resolve_all). Private, loopback and reserved addresses are skipped ("not checked: private
// address"), as are malformed items. By convention domains[0] is the From address's domain.
BlacklistReport check_blacklists(const dns::Resolver& resolver, const std::vector<Blocklist>& lists,
                                 std::string_view client_ip, const std::vector<std::string>& domains);

// The DNS name asked for an IP on a list: "2.0.0.127.zen.spamhaus.org", or the nibble form for IPv6. Empty when
// the text is not an IP address.
std::string reversed_ip_query(std::string_view ip, std::string_view zone);

// "private address", "loopback address", … when the address is not a public unicast one (then it is not
// looked up); empty for a public address or a non-address.
std::string non_public_reason(std::string_view ip);

// Mailtrap's `blacklists_report_info` object:
//   {"result":"success"|"error","domain":"<domains[0]>","ip":"<ip>",
//    "report":[{"name","url","in_black_list",
//               "checks":[{"item","type","zone","query","status","codes":[{"code","meaning","error"}],"detail"}]}]}
// One report entry per list that has checks (Mailtrap's keys, plus "checks" with the detail; SDKs ignore unknown
// keys); "result" is "error" when all queries failed.
boost::json::object to_json(const BlacklistReport& report);

}  // namespace postroom::spamcheck
