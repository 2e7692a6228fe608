#include "spamcheck/links.h"

#include <algorithm>
#include <cstdint>
#include <unordered_set>

namespace postroom::spamcheck {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hex_value(char c) { return is_digit(c) ? c - '0' : (lower(c) - 'a' + 10); }
// Browsers drop these anywhere in a URL ("ht\ttp://…" is http).
bool is_url_ignored(char c) { return c == '\t' || c == '\r' || c == '\n'; }

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

struct NamedReference {
  std::string_view name;
  char value;
};
// The named references that can spell a URL's punctuation.
constexpr NamedReference kNamed[] = {{"amp", '&'},   {"lt", '<'},  {"gt", '>'},     {"quot", '"'},   {"apos", '\''},
                                     {"colon", ':'}, {"sol", '/'}, {"bsol", '\\'},  {"period", '.'}, {"commat", '@'},
                                     {"quest", '?'}, {"num", '#'}, {"percnt", '%'}, {"Tab", '\t'},   {"NewLine", '\n'}};

// HTML character references decoded (numeric ones with or without ';', as browsers read them).
std::string decode_references(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size();) {
    if (in[i] != '&') {
      out += in[i++];
      continue;
    }
    if (i + 2 < in.size() && in[i + 1] == '#') {
      std::size_t j = i + 2;
      const bool hex = j < in.size() && (in[j] == 'x' || in[j] == 'X');
      if (hex) ++j;
      std::uint32_t cp = 0;
      const std::size_t digits_start = j;
      while (j < in.size() && (hex ? is_hex(in[j]) : is_digit(in[j]))) {
        cp = std::min<std::uint32_t>(cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(hex_value(in[j])), 0x110000);
        ++j;
      }
      if (j > digits_start) {
        if (j < in.size() && in[j] == ';') ++j;
        append_utf8(out, cp);
        i = j;
        continue;
      }
    } else {
      bool matched = false;
      for (const auto& named : kNamed) {
        if (in.substr(i + 1, named.name.size()) == named.name && i + 1 + named.name.size() < in.size() &&
            in[i + 1 + named.name.size()] == ';') {
          out += named.value;
          i += named.name.size() + 2;
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    out += in[i++];
  }
  return out;
}

// Characters that end a URL's authority part.
bool ends_authority(char c) {
  if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return true;
  switch (c) {
    case '/':
    case '\\':
    case '?':
    case '#':
    case '"':
    case '\'':
    case '<':
    case '>':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
    case '|':
    case '^':
    case '`':
    case ',':
    case ';':
    case '!':
      return true;
    default:
      return false;
  }
}

// Matches "http:" or "https:" (any case, tabs and newlines ignored) followed by at least one '/' or '\'
// starting at `pos`; returns the index after the slashes, or npos.
std::size_t match_scheme(const std::string& text, std::size_t pos) {
  constexpr std::string_view kHttp = "http";
  std::size_t i = pos;
  for (char expected : kHttp) {
    while (i > pos && i < text.size() && is_url_ignored(text[i])) ++i;
    if (i >= text.size() || lower(text[i]) != expected) return std::string::npos;
    ++i;
  }
  while (i < text.size() && is_url_ignored(text[i])) ++i;
  if (i < text.size() && lower(text[i]) == 's') ++i;
  while (i < text.size() && is_url_ignored(text[i])) ++i;
  if (i >= text.size() || text[i] != ':') return std::string::npos;
  ++i;
  std::size_t slashes = 0;
  while (i < text.size() && (text[i] == '/' || text[i] == '\\' || is_url_ignored(text[i]))) {
    if (!is_url_ignored(text[i])) ++slashes;
    ++i;
  }
  return slashes > 0 ? i : std::string::npos;
}

std::optional<std::string> host_of(std::string_view authority) {
  const auto at = authority.rfind('@');  // "trusted.com@evil.com" goes to evil.com
  std::string_view host = at == std::string_view::npos ? authority : authority.substr(at + 1);
  const auto colon = host.rfind(':');
  if (colon != std::string_view::npos) {
    const std::string_view port = host.substr(colon + 1);
    if (!std::all_of(port.begin(), port.end(), is_digit)) return std::nullopt;
    host = host.substr(0, colon);
  }
  std::string decoded;
  for (std::size_t i = 0; i < host.size(); ++i) {
    if (host[i] == '%' && i + 2 < host.size() && is_hex(host[i + 1]) && is_hex(host[i + 2])) {
      decoded += static_cast<char>(hex_value(host[i + 1]) * 16 + hex_value(host[i + 2]));
      i += 2;
    } else {
      decoded += host[i];
    }
  }
  return normalize_domain(decoded);
}

}  // namespace

std::optional<std::string> normalize_domain(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return std::nullopt;
  std::string out;
  out.reserve(name.size());
  std::size_t label_length = 0;
  std::size_t labels = 1;
  bool last_label_numeric = true;
  for (char c : name) {
    if (c == '.') {
      if (label_length == 0) return std::nullopt;
      ++labels;
      label_length = 0;
      last_label_numeric = true;
      out += c;
      continue;
    }
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_') return std::nullopt;
    if (!is_digit(c)) last_label_numeric = false;
    if (++label_length > 63) return std::nullopt;
    out += lower(c);
  }
  if (label_length == 0 || labels < 2 || last_label_numeric) return std::nullopt;
  return out;
}

std::optional<std::string> email_domain(std::string_view address) {
  const auto at = address.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view domain = address.substr(at + 1);
  const auto end = domain.find_first_of("> \t\r\n\"),;");
  return normalize_domain(domain.substr(0, end));
}

std::vector<std::string> link_domains(std::string_view html_or_text, std::size_t limit) {
  std::vector<std::string> domains;
  if (limit == 0) return domains;
  const std::string text = decode_references(html_or_text);
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < text.size();) {
    if (lower(text[i]) != 'h') {
      ++i;
      continue;
    }
    const std::size_t start = match_scheme(text, i);
    if (start == std::string::npos) {
      ++i;
      continue;
    }
    std::size_t end = start;
    while (end < text.size() && !ends_authority(text[end])) ++end;
    if (auto host = host_of(std::string_view(text).substr(start, end - start)); host && seen.insert(*host).second) {
      domains.push_back(std::move(*host));
      if (domains.size() >= limit) break;
    }
    i = std::max(end, i + 1);
  }
  return domains;
}

}  // namespace postroom::spamcheck
