#include "spamcheck/blocklists.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <unordered_set>

#include "spamcheck/default_blocklists.h"
#include "spamcheck/links.h"

namespace postroom::spamcheck {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  in_addr addr{};
  if (::inet_pton(AF_INET, std::string(text).c_str(), &addr) != 1) return std::nullopt;
  return ntohl(addr.s_addr);
}

std::string ipv4_text(std::uint32_t value) {
  return std::to_string(value >> 24) + "." + std::to_string((value >> 16) & 0xff) + "." +
         std::to_string((value >> 8) & 0xff) + "." + std::to_string(value & 0xff);
}

// An IP address parsed from text; IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) count as IPv4.
struct Address {
  bool v6 = false;
  std::uint32_t v4 = 0;
  std::array<std::uint8_t, 16> bytes{};
  std::string text;  // canonical form
};

std::optional<Address> parse_address(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.substr(0, 5) == "IPv6:" || text.substr(0, 5) == "ipv6:") text.remove_prefix(5);  // RFC 5321 literal
  Address address;
  if (auto v4 = parse_ipv4(text)) {
    address.v4 = *v4;
    address.text = ipv4_text(*v4);
    return address;
  }
  if (text.empty() || text.size() > 45) return std::nullopt;
  in6_addr addr6{};
  if (::inet_pton(AF_INET6, std::string(text).c_str(), &addr6) != 1) return std::nullopt;
  std::memcpy(address.bytes.data(), addr6.s6_addr, 16);
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(address.bytes.data(), kMapped, 12) == 0) {
    address.v4 = (std::uint32_t{address.bytes[12]} << 24) | (std::uint32_t{address.bytes[13]} << 16) |
                 (std::uint32_t{address.bytes[14]} << 8) | address.bytes[15];
    address.text = ipv4_text(address.v4);
    return address;
  }
  address.v6 = true;
  char buffer[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, &addr6, buffer, sizeof buffer);
  address.text = buffer;
  return address;
}

bool in_v4(std::uint32_t address, std::uint32_t network, int prefix) {
  const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return (address & mask) == (network & mask);
}

std::string reason_v4(std::uint32_t a) {
  const auto net = [](int a1, int a2, int a3, int a4) {
    return (std::uint32_t(a1) << 24) | (std::uint32_t(a2) << 16) | (std::uint32_t(a3) << 8) | std::uint32_t(a4);
  };
  if (in_v4(a, net(10, 0, 0, 0), 8) || in_v4(a, net(172, 16, 0, 0), 12) || in_v4(a, net(192, 168, 0, 0), 16) ||
      in_v4(a, net(100, 64, 0, 0), 10)) {
    return "private address";
  }
  if (in_v4(a, net(127, 0, 0, 0), 8)) return "loopback address";
  if (in_v4(a, net(169, 254, 0, 0), 16)) return "link-local address";
  if (in_v4(a, net(224, 0, 0, 0), 4)) return "multicast address";
  if (in_v4(a, net(0, 0, 0, 0), 8) || in_v4(a, net(192, 0, 0, 0), 24) || in_v4(a, net(192, 0, 2, 0), 24) ||
      in_v4(a, net(198, 18, 0, 0), 15) || in_v4(a, net(198, 51, 100, 0), 24) || in_v4(a, net(203, 0, 113, 0), 24) ||
      in_v4(a, net(240, 0, 0, 0), 4)) {
    return "reserved address";
  }
  return {};
}

std::string reason_v6(const std::array<std::uint8_t, 16>& b) {
  const bool zero_prefix_96 = std::all_of(b.begin(), b.begin() + 12, [](std::uint8_t x) { return x == 0; });
  if (zero_prefix_96 && std::all_of(b.begin() + 12, b.begin() + 15, [](std::uint8_t x) { return x == 0; })) {
    return b[15] == 1 ? "loopback address" : "reserved address";  // ::1, ::
  }
  if ((b[0] & 0xfe) == 0xfc) return "private address";                     // fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local address";  // fe80::/10
  if (b[0] == 0xff) return "multicast address";
  if (zero_prefix_96) return "reserved address";                                                // ::/96
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return "reserved address";  // 2001:db8::/32
  if (b[0] == 0x01 && std::all_of(b.begin() + 1, b.begin() + 8, [](std::uint8_t x) { return x == 0; })) {
    return "reserved address";  // 100::/64 discard
  }
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) return "reserved address";  // NAT64
  return {};
}

std::string reversed_query(const Address& address, std::string_view zone) {
  std::string name;
  if (!address.v6) {
    const std::uint32_t a = address.v4;
    name = std::to_string(a & 0xff) + "." + std::to_string((a >> 8) & 0xff) + "." + std::to_string((a >> 16) & 0xff) +
           "." + std::to_string(a >> 24);
  } else {
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      if (!name.empty()) name += '.';
      name += kHex[address.bytes[i] & 0x0f];
      name += '.';
      name += kHex[address.bytes[i] >> 4];
    }
  }
  return name + "." + std::string(zone);
}

[[noreturn]] void config_error(std::size_t line, const std::string& what) {
  throw std::invalid_argument("blocklists line " + std::to_string(line) + ": " + what);
}

// "listed MEANING" / "error MEANING"
void parse_outcome(std::string_view value, std::size_t line, ReturnCode& code) {
  const auto space = value.find_first_of(" \t");
  const std::string_view verdict = value.substr(0, space);
  if (verdict == "listed") {
    code.verdict = ReturnCode::listed;
  } else if (verdict == "error") {
    code.verdict = ReturnCode::error;
  } else {
    config_error(line, "expected \"listed MEANING\" or \"error MEANING\", got \"" + std::string(value) + "\"");
  }
  code.meaning = space == std::string_view::npos ? std::string() : std::string(trim(value.substr(space)));
  if (code.meaning.empty()) config_error(line, "a return code needs a meaning");
}

void finish_list(std::vector<Blocklist>& lists, std::size_t line, bool have_kind) {
  if (lists.empty()) return;
  const Blocklist& list = lists.back();
  if (!have_kind) config_error(line, "list [" + list.name + "] has no kind (ip or domain)");
  if (list.zone.empty()) config_error(line, "list [" + list.name + "] has no zone");
  if (list.ipv6 && list.kind != Blocklist::ip) config_error(line, "list [" + list.name + "]: ipv6 is for ip lists");
}

struct Evaluation {
  CheckStatus status = CheckStatus::not_listed;
  std::vector<CodeHit> hits;
};

Evaluation evaluate(const Blocklist& list, const std::vector<std::string>& answers) {
  Evaluation result;
  bool listed = false;
  for (const auto& answer : answers) {
    const auto value = parse_ipv4(answer);
    if (!value || (*value >> 24) != 127) {
      result.hits.push_back(
          {answer, "unexpected answer outside 127.0.0.0/8 (a resolver that rewrites NXDOMAIN?)", true});
      continue;
    }
    const auto exact = std::find_if(list.codes.begin(), list.codes.end(), [&](const ReturnCode& code) {
      return code.bit == 0 && *value >= code.first && *value <= code.last;
    });
    std::vector<const ReturnCode*> matched;
    if (exact != list.codes.end()) {
      matched.push_back(&*exact);
    } else if ((*value & 0xffffff00u) == 0x7f000000u) {
      for (const auto& code : list.codes) {
        if (code.bit != 0 && (*value & code.bit) != 0) matched.push_back(&code);
      }
    }
    if (matched.empty()) {
      result.hits.push_back({answer, "listed (unrecognised return code)", false});
      listed = true;
    }
    for (const ReturnCode* code : matched) {
      result.hits.push_back({answer, code->meaning, code->verdict == ReturnCode::error});
      listed = listed || code->verdict == ReturnCode::listed;
    }
  }
  result.status = listed ? CheckStatus::listed : CheckStatus::error;
  return result;
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 255)) out += (c >= 0x20 && c < 0x7f) ? c : '?';  // ASCII: it goes into JSON
  return out;
}

}  // namespace

std::string_view default_blocklists_text() { return generated::kDefaultBlocklists; }

std::vector<Blocklist> default_blocklists() {
  static const std::vector<Blocklist> lists = parse_blocklists(default_blocklists_text());
  return lists;
}

std::vector<Blocklist> parse_blocklists(std::string_view config_text) {
  std::vector<Blocklist> lists;
  bool have_kind = false;
  std::size_t number = 0;
  while (!config_text.empty()) {
    const auto nl = config_text.find('\n');
    const std::string_view line = trim(config_text.substr(0, nl));
    config_text.remove_prefix(nl == std::string_view::npos ? config_text.size() : nl + 1);
    ++number;
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) config_error(number, "bad section header");
      finish_list(lists, number, have_kind);
      Blocklist list;
      list.name = std::string(trim(line.substr(1, line.size() - 2)));
      if (list.name.empty()) config_error(number, "a list needs a name");
      lists.push_back(std::move(list));
      have_kind = false;
      continue;
    }
    if (lists.empty()) config_error(number, "setting outside a [list] section");
    Blocklist& list = lists.back();
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) config_error(number, "expected KEY = VALUE");
    const std::string_view key = trim(line.substr(0, eq));
    const std::string_view value = trim(line.substr(eq + 1));
    if (key == "kind") {
      if (value == "ip") {
        list.kind = Blocklist::ip;
      } else if (value == "domain") {
        list.kind = Blocklist::domain;
      } else {
        config_error(number, "kind must be ip or domain");
      }
      have_kind = true;
    } else if (key == "zone") {
      auto zone = normalize_domain(value);
      if (!zone) config_error(number, "bad zone \"" + std::string(value) + "\"");
      list.zone = std::move(*zone);
    } else if (key == "url") {
      if (value.substr(0, 8) != "https://" && value.substr(0, 7) != "http://") {
        config_error(number, "url must be http:// or https://");
      }
      list.url = std::string(value);
    } else if (key == "ipv6") {
      if (value != "yes" && value != "no") config_error(number, "ipv6 must be yes or no");
      list.ipv6 = value == "yes";
    } else if (key.substr(0, 5) == "code " || key.substr(0, 5) == "code\t") {
      const std::string_view range = trim(key.substr(5));
      const auto dash = range.find('-');
      const auto first = parse_ipv4(trim(range.substr(0, dash)));
      const auto last = dash == std::string_view::npos ? first : parse_ipv4(trim(range.substr(dash + 1)));
      if (!first || !last || *last < *first) config_error(number, "bad return code \"" + std::string(range) + "\"");
      ReturnCode code;
      code.first = *first;
      code.last = *last;
      parse_outcome(value, number, code);
      list.codes.push_back(std::move(code));
    } else if (key.substr(0, 4) == "bit " || key.substr(0, 4) == "bit\t") {
      const std::string_view bit_text = trim(key.substr(4));
      unsigned bit = 0;
      auto [ptr, ec] = std::from_chars(bit_text.data(), bit_text.data() + bit_text.size(), bit);
      if (ec != std::errc() || ptr != bit_text.data() + bit_text.size() || bit == 0 || bit > 128 ||
          (bit & (bit - 1)) != 0) {
        config_error(number, "bit must be one of 1, 2, 4 … 128");
      }
      ReturnCode code;
      code.bit = static_cast<std::uint8_t>(bit);
      parse_outcome(value, number, code);
      list.codes.push_back(std::move(code));
    } else {
      config_error(number, "unknown setting \"" + std::string(key) + "\"");
    }
  }
  finish_list(lists, number, have_kind);
  return lists;
}

std::string_view to_string(CheckStatus status) {
  switch (status) {
    case CheckStatus::listed:
      return "listed";
    case CheckStatus::not_listed:
      return "not_listed";
    case CheckStatus::error:
      return "error";
    case CheckStatus::skipped:
      return "skipped";
  }
  return "error";
}

bool BlacklistReport::any_listed() const {
  return std::any_of(checks.begin(), checks.end(), [](const auto& c) { return c.status == CheckStatus::listed; });
}

bool BlacklistReport::all_failed() const {
  bool any_query = false;
  for (const auto& check : checks) {
    if (check.status == CheckStatus::skipped) continue;
    if (check.status != CheckStatus::error) return false;
    any_query = true;
  }
  return any_query;
}

std::vector<const BlocklistCheck*> BlacklistReport::for_list(std::string_view list_name) const {
  std::vector<const BlocklistCheck*> out;
  for (const auto& check : checks) {
    if (check.list_name == list_name) out.push_back(&check);
  }
  return out;
}

std::string reversed_ip_query(std::string_view ip, std::string_view zone) {
  const auto address = parse_address(ip);
  return address ? reversed_query(*address, zone) : std::string();
}

std::string non_public_reason(std::string_view ip) {
  const auto address = parse_address(ip);
  if (!address) return {};
  return address->v6 ? reason_v6(address->bytes) : reason_v4(address->v4);
}

BlacklistReport check_blacklists(const dns::Resolver& resolver, const std::vector<Blocklist>& lists,
                                 std::string_view client_ip, const std::vector<std::string>& domains) {
  BlacklistReport report;
  report.ip = std::string(trim(client_ip));

  // Items: the IP once, the domains normalized and deduplicated (a malformed one is reported as skipped).
  const auto address = parse_address(report.ip);
  std::string ip_skip;
  if (!report.ip.empty()) {
    if (!address) {
      ip_skip = "not checked: not an IP address";
    } else if (auto reason = address->v6 ? reason_v6(address->bytes) : reason_v4(address->v4); !reason.empty()) {
      ip_skip = "not checked: " + reason;
    }
  }
  struct DomainItem {
    std::string text;
    bool valid;
  };
  std::vector<DomainItem> domain_items;
  std::unordered_set<std::string> seen;
  for (const auto& raw : domains) {
    if (auto domain = normalize_domain(trim(raw))) {
      if (seen.insert(*domain).second) {
        report.domains.push_back(*domain);
        domain_items.push_back({std::move(*domain), true});
      }
    } else if (seen.insert(raw).second) {
      domain_items.push_back({printable(raw), false});
    }
  }

  std::vector<dns::Query> queries;
  std::vector<std::size_t> query_check;      // per query: its index in report.checks
  std::vector<const Blocklist*> query_list;  // per query: the list asked
  const auto add_check = [&](const Blocklist& list, std::string item) -> BlocklistCheck& {
    BlocklistCheck check;
    check.list_name = list.name;
    check.list_url = list.url;
    check.zone = list.zone;
    check.kind = list.kind;
    check.item = std::move(item);
    report.checks.push_back(std::move(check));
    return report.checks.back();
  };
  const auto ask = [&](const Blocklist& list, BlocklistCheck& check, std::string name) {
    if (name.size() > 253) {
      check.detail = "not checked: the query name is longer than 253 characters";
      return;
    }
    check.query = name;
    queries.push_back({std::move(name), dns::RecordType::a});
    query_check.push_back(report.checks.size() - 1);
    query_list.push_back(&list);
  };

  for (const auto& list : lists) {
    if (list.kind == Blocklist::ip) {
      if (report.ip.empty()) continue;
      BlocklistCheck& check = add_check(list, address ? address->text : printable(report.ip));
      if (!ip_skip.empty()) {
        check.detail = ip_skip;
      } else if (address->v6 && !list.ipv6) {
        check.detail = "not checked: the list does not answer IPv6 queries";
      } else {
        ask(list, check, reversed_query(*address, list.zone));
      }
    } else {
      for (const auto& item : domain_items) {
        BlocklistCheck& check = add_check(list, item.text);
        if (!item.valid) {
          check.detail = "not checked: not a domain name";
        } else {
          ask(list, check, item.text + "." + list.zone);
        }
      }
    }
  }

  const auto answers = resolver.resolve_all(queries);
  for (std::size_t i = 0; i < answers.size() && i < query_check.size(); ++i) {
    BlocklistCheck& check = report.checks[query_check[i]];
    const dns::Answer& answer = answers[i];
    switch (answer.status) {
      case dns::Status::ok: {
        Evaluation evaluation = evaluate(*query_list[i], answer.addresses);
        check.status = evaluation.status;
        check.codes = std::move(evaluation.hits);
        if (check.status == CheckStatus::error) check.detail = "the list refused the query";
        break;
      }
      case dns::Status::nxdomain:
      case dns::Status::nodata:
        check.status = CheckStatus::not_listed;
        break;
      default:
        check.status = CheckStatus::error;
        check.detail = std::string(dns::to_string(answer.status));
        if (!answer.error.empty()) check.detail += ": " + answer.error;
        break;
    }
  }
  return report;
}

boost::json::object to_json(const BlacklistReport& report) {
  boost::json::array entries;
  std::vector<std::string> order;  // list names in first-seen order
  for (const auto& check : report.checks) {
    if (std::find(order.begin(), order.end(), check.list_name) == order.end()) order.push_back(check.list_name);
  }
  for (const auto& name : order) {
    boost::json::array checks;
    bool listed = false;
    std::string url;
    for (const BlocklistCheck* check : report.for_list(name)) {
      url = check->list_url;
      listed = listed || check->status == CheckStatus::listed;
      boost::json::array codes;
      for (const auto& hit : check->codes) {
        codes.push_back(boost::json::object{{"code", hit.code}, {"meaning", hit.meaning}, {"error", hit.error}});
      }
      checks.push_back(boost::json::object{{"item", check->item},
                                           {"type", check->kind == Blocklist::ip ? "ip" : "domain"},
                                           {"zone", check->zone},
                                           {"query", check->query},
                                           {"status", to_string(check->status)},
                                           {"codes", std::move(codes)},
                                           {"detail", check->detail}});
    }
    entries.push_back(
        boost::json::object{{"name", name}, {"url", url}, {"in_black_list", listed}, {"checks", std::move(checks)}});
  }
  return boost::json::object{{"result", report.all_failed() ? "error" : "success"},
                             {"domain", report.domains.empty() ? std::string() : report.domains.front()},
                             {"ip", report.ip},
                             {"report", std::move(entries)}};
}

}  // namespace postroom::spamcheck
