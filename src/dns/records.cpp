#include "dns/records.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace postroom::dns {

namespace {

bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim_fws(std::string_view s) {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

void set_error(std::string* error, std::string text) {
  if (error) *error = std::move(text);
}

std::string normalize_domain(std::string_view d) {
  std::string out = lower(d);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool parse_int(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// "addr[/len]" → canonical text; the full-length prefix is dropped. Empty on error.
std::string normalize_ip(std::string_view value, bool v6) {
  std::string_view addr = value;
  int len = v6 ? 128 : 32;
  if (const auto slash = value.find('/'); slash != std::string_view::npos) {
    addr = value.substr(0, slash);
    if (!parse_int(value.substr(slash + 1), len) || len < 0 || len > (v6 ? 128 : 32)) return {};
  }
  unsigned char buf[16];
  const std::string a(addr);
  if (inet_pton(v6 ? AF_INET6 : AF_INET, a.c_str(), buf) != 1) return {};
  char text[INET6_ADDRSTRLEN];
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, buf, text, sizeof text)) return {};
  std::string out(text);
  if (len != (v6 ? 128 : 32)) {
    out.push_back('/');
    out += std::to_string(len);
  }
  return out;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> base64_decode(std::string_view s) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=' || is_fws(c)) continue;
    const int v = b64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::vector<std::string> split_list(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (true) {
    const auto pos = s.find(sep);
    const auto item = trim_fws(s.substr(0, pos));
    if (!item.empty()) out.emplace_back(item);
    if (pos == std::string_view::npos) break;
    s = s.substr(pos + 1);
  }
  return out;
}

}  // namespace

std::optional<std::vector<std::pair<std::string, std::string>>> parse_tag_list(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> tags;
  while (true) {
    const auto semi = text.find(';');
    const std::string_view spec = trim_fws(text.substr(0, semi));
    if (!spec.empty()) {
      const auto eq = spec.find('=');
      if (eq == std::string_view::npos) return std::nullopt;
      const std::string_view name = trim_fws(spec.substr(0, eq));
      if (name.empty() || !std::isalpha(static_cast<unsigned char>(name.front()))) return std::nullopt;
      for (char c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return std::nullopt;
      }
      for (const auto& t : tags) {
        if (t.first == name) return std::nullopt;
      }
      tags.emplace_back(std::string(name), std::string(trim_fws(spec.substr(eq + 1))));
    } else if (semi == std::string_view::npos && tags.empty() && !trim_fws(text).empty()) {
      return std::nullopt;
    }
    if (semi == std::string_view::npos) break;
    text = text.substr(semi + 1);
  }
  return tags;
}

// ---- SPF ----

bool SpfRecord::has_include(std::string_view domain) const {
  const std::string want = normalize_domain(domain);
  return std::any_of(terms.begin(), terms.end(),
                     [&](const SpfTerm& t) { return t.name == "include" && t.qualifier != '=' && t.value == want; });
}

char SpfRecord::all_qualifier() const {
  for (const auto& t : terms) {
    if (t.name == "all" && t.qualifier != '=') return t.qualifier;
  }
  return 0;
}

std::optional<SpfRecord> parse_spf(std::string_view record, std::string* error) {
  record = trim_fws(record);
  const auto first_space = record.find_first_of(" \t");
  if (!iequals(record.substr(0, first_space), "v=spf1")) {
    set_error(error, "not an SPF record (must start with v=spf1)");
    return std::nullopt;
  }
  SpfRecord out;
  std::string_view rest = first_space == std::string_view::npos ? std::string_view() : record.substr(first_space);
  while (true) {
    rest = trim_fws(rest);
    if (rest.empty()) break;
    const auto end = rest.find_first_of(" \t");
    std::string_view term = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);

    SpfTerm t;
    const auto eq = term.find('=');
    const auto colon = term.find_first_of(":/");
    if (eq != std::string_view::npos && (colon == std::string_view::npos || eq < colon)) {
      t.qualifier = '=';
      t.name = lower(term.substr(0, eq));
      if (t.name.empty() || !std::isalpha(static_cast<unsigned char>(t.name.front()))) {
        set_error(error, "bad SPF modifier: " + std::string(term));
        return std::nullopt;
      }
      t.value = (t.name == "redirect") ? normalize_domain(term.substr(eq + 1)) : std::string(term.substr(eq + 1));
      out.terms.push_back(std::move(t));
      continue;
    }
    if (!term.empty() && (term.front() == '+' || term.front() == '-' || term.front() == '~' || term.front() == '?')) {
      t.qualifier = term.front();
      term.remove_prefix(1);
    }
    const auto sep = term.find_first_of(":/");
    t.name = lower(term.substr(0, sep));
    std::string_view arg;
    bool has_colon = false;
    if (sep != std::string_view::npos) {
      has_colon = term[sep] == ':';
      arg = has_colon ? term.substr(sep + 1) : term.substr(sep);  // keep "/cidr" for a and mx
    }
    if (t.name == "all") {
      if (sep != std::string_view::npos) {
        set_error(error, "\"all\" takes no argument");
        return std::nullopt;
      }
    } else if (t.name == "include" || t.name == "exists") {
      if (!has_colon || arg.empty()) {
        set_error(error, t.name + " needs a domain");
        return std::nullopt;
      }
      t.value = normalize_domain(arg);
    } else if (t.name == "ip4" || t.name == "ip6") {
      t.value = has_colon ? normalize_ip(arg, t.name == "ip6") : std::string();
      if (t.value.empty()) {
        set_error(error, "bad address in " + std::string(term));
        return std::nullopt;
      }
    } else if (t.name == "a" || t.name == "mx" || t.name == "ptr") {
      if (has_colon && arg.empty()) {
        set_error(error, "empty domain in " + std::string(term));
        return std::nullopt;
      }
      std::string v(arg);
      if (has_colon) {
        const auto slash = v.find('/');
        v = normalize_domain(v.substr(0, slash)) + (slash == std::string::npos ? "" : v.substr(slash));
      }
      t.value = std::move(v);
    } else {
      set_error(error, "unknown SPF mechanism: " + std::string(term));
      return std::nullopt;
    }
    out.terms.push_back(std::move(t));
  }
  return out;
}

std::optional<std::string> select_spf(const std::vector<std::string>& txt_records, std::string* error) {
  std::optional<std::string> found;
  for (const auto& r : txt_records) {
    const std::string_view v = trim_fws(r);
    if (v.size() >= 6 && iequals(v.substr(0, 6), "v=spf1") && (v.size() == 6 || v[6] == ' ' || v[6] == '\t')) {
      if (found) {
        set_error(error, "more than one SPF record");
        return std::nullopt;
      }
      found = r;
    }
  }
  if (!found) set_error(error, "no SPF record");
  return found;
}

bool spf_equivalent(const SpfRecord& a, const SpfRecord& b) {
  auto split = [](const SpfRecord& r) {
    std::vector<std::tuple<char, std::string, std::string>> mechanisms, modifiers;
    char all = 0;
    for (const auto& t : r.terms) {
      if (t.qualifier == '=') {
        modifiers.emplace_back(t.qualifier, t.name, t.value);
      } else if (t.name == "all") {
        if (all == 0) all = t.qualifier;
      } else if (all == 0) {  // terms after "all" are never evaluated
        mechanisms.emplace_back(t.qualifier, t.name, t.value);
      }
    }
    std::sort(mechanisms.begin(), mechanisms.end());
    mechanisms.erase(std::unique(mechanisms.begin(), mechanisms.end()), mechanisms.end());
    std::sort(modifiers.begin(), modifiers.end());
    return std::make_tuple(mechanisms, modifiers, all);
  };
  return split(a) == split(b);
}

// ---- DKIM ----

std::optional<DkimKeyRecord> parse_dkim_key(std::string_view record, std::string* error) {
  auto tags = parse_tag_list(record);
  if (!tags) {
    set_error(error, "malformed tag list");
    return std::nullopt;
  }
  DkimKeyRecord out;
  bool has_p = false;
  for (std::size_t i = 0; i < tags->size(); ++i) {
    const auto& [name, value] = (*tags)[i];
    if (name == "v") {
      if (i != 0 || value != "DKIM1") {
        set_error(error, "v= must be first and equal DKIM1");
        return std::nullopt;
      }
      out.version = value;
    } else if (name == "k") {
      out.key_type = lower(value);
    } else if (name == "p") {
      has_p = true;
      for (char c : value) {
        if (!is_fws(c)) out.public_key.push_back(c);
      }
      if (!base64_decode(out.public_key)) {
        set_error(error, "p= is not base64");
        return std::nullopt;
      }
    } else if (name == "h") {
      for (auto& h : split_list(value, ':')) out.hash_algorithms.push_back(lower(h));
    } else if (name == "t") {
      for (auto& f : split_list(value, ':')) out.flags.push_back(lower(f));
    } else if (name == "s") {
      out.service = value;
    }
  }
  if (!has_p) {
    set_error(error, "no p= tag");
    return std::nullopt;
  }
  if (out.key_type != "rsa" && out.key_type != "ed25519") {
    set_error(error, "unknown key type: " + out.key_type);
    return std::nullopt;
  }
  out.tags = std::move(*tags);
  return out;
}

bool dkim_keys_equal(const DkimKeyRecord& a, const DkimKeyRecord& b) {
  if (a.key_type != b.key_type) return false;
  const auto ka = base64_decode(a.public_key);
  const auto kb = base64_decode(b.public_key);
  return ka && kb && *ka == *kb;
}

// ---- DMARC ----

std::optional<DmarcRecord> parse_dmarc(std::string_view record, std::string* error) {
  auto tags = parse_tag_list(record);
  if (!tags || tags->empty()) {
    set_error(error, "malformed tag list");
    return std::nullopt;
  }
  if ((*tags)[0].first != "v" || (*tags)[0].second != "DMARC1") {
    set_error(error, "v=DMARC1 must come first");
    return std::nullopt;
  }
  DmarcRecord out;
  auto valid_policy = [](const std::string& p) { return p == "none" || p == "quarantine" || p == "reject"; };
  for (std::size_t i = 1; i < tags->size(); ++i) {
    const std::string& name = (*tags)[i].first;
    const std::string value = lower((*tags)[i].second);
    if (name == "p") {
      out.policy = value;
      if (!valid_policy(out.policy)) {
        set_error(error, "invalid policy p=" + value);
        return std::nullopt;
      }
    } else if (name == "sp") {
      out.subdomain_policy = value;
      if (!valid_policy(value)) {
        set_error(error, "invalid subdomain policy sp=" + value);
        return std::nullopt;
      }
    } else if (name == "pct") {
      if (!parse_int(value, out.percent) || out.percent < 0 || out.percent > 100) {
        set_error(error, "pct must be 0-100");
        return std::nullopt;
      }
    } else if (name == "adkim" || name == "aspf") {
      if (value != "r" && value != "s") {
        set_error(error, name + " must be r or s");
        return std::nullopt;
      }
      (name == "adkim" ? out.adkim : out.aspf) = value;
    } else if (name == "rua") {
      out.rua = split_list((*tags)[i].second, ',');
    } else if (name == "ruf") {
      out.ruf = split_list((*tags)[i].second, ',');
    }
  }
  if (out.policy.empty()) {
    set_error(error, "no p= tag");
    return std::nullopt;
  }
  out.tags = std::move(*tags);
  return out;
}

}  // namespace postroom::dns
