#include "smtp/command.h"

#include <array>
#include <cstdint>

namespace postroom::smtp {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_high(char c) { return static_cast<unsigned char>(c) >= 0x80; }

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

// RFC 5322 atext.
bool is_atext(char c) {
  if (is_alpha(c) || is_digit(c) || is_high(c)) return true;
  constexpr std::string_view specials = "!#$%&'*+-/=?^_`{|}~";
  return specials.find(c) != std::string_view::npos;
}

bool valid_dot_string(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  char previous = 0;
  for (char c : text) {
    if (c == '.') {
      if (previous == '.') return false;
    } else if (!is_atext(c)) {
      return false;
    }
    previous = c;
  }
  return true;
}

// qtextSMTP / quoted-pairSMTP (RFC 5321 4.1.2), UTF-8 allowed by RFC 6531.
bool valid_quoted_string(std::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\') {
      ++i;
      if (i + 1 >= text.size()) return false;  // the escape would swallow the closing quote
      const char escaped = text[i];
      if (static_cast<unsigned char>(escaped) < 32 || escaped == 127) return false;
      continue;
    }
    if (c == '"') return false;
    if (!is_high(c) && (static_cast<unsigned char>(c) < 32 || c == 127)) return false;
  }
  return true;
}

bool valid_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  for (char c : label)
    if (!is_alpha(c) && !is_digit(c) && c != '-' && !is_high(c)) return false;
  return true;
}

bool valid_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > 255) return false;
  if (domain.front() == '[') {
    // Address literal: keep it simple but strict about the characters (RFC 5321 4.1.3 dcontent).
    if (domain.size() < 3 || domain.back() != ']') return false;
    for (char c : domain.substr(1, domain.size() - 2)) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 33 || u > 126 || c == '[' || c == ']' || c == '\\') return false;
    }
    return true;
  }
  std::size_t start = 0;
  while (true) {
    const auto dot = domain.find('.', start);
    const auto label = domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!valid_label(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool contains_high(std::string_view text) {
  for (char c : text)
    if (is_high(c)) return true;
  return false;
}

bool valid_keyword(std::string_view keyword) {
  if (keyword.empty() || !(is_alpha(keyword.front()) || is_digit(keyword.front()))) return false;
  for (char c : keyword)
    if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
  return true;
}

// esmtp-value: any printable except '=' and SP; UTF-8 allowed (RFC 6531).
bool valid_param_value(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) continue;
    if (u < 33 || u > 126 || c == '=') return false;
  }
  return valid_utf8(value);
}

}  // namespace

Command parse_command(std::string_view line) {
  static constexpr std::array<std::pair<std::string_view, Verb>, 13> kVerbs{{
      {"HELO", Verb::helo},
      {"EHLO", Verb::ehlo},
      {"MAIL", Verb::mail},
      {"RCPT", Verb::rcpt},
      {"DATA", Verb::data},
      {"RSET", Verb::rset},
      {"NOOP", Verb::noop},
      {"QUIT", Verb::quit},
      {"VRFY", Verb::vrfy},
      {"EXPN", Verb::expn},
      {"HELP", Verb::help},
      {"STARTTLS", Verb::starttls},
      {"AUTH", Verb::auth},
  }};
  Command command;
  const auto space = line.find(' ');
  const std::string_view verb = line.substr(0, space);
  std::string_view argument = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
  while (!argument.empty() && argument.front() == ' ') argument.remove_prefix(1);
  while (!argument.empty() && (argument.back() == ' ' || argument.back() == '\t')) argument.remove_suffix(1);
  command.argument = argument;
  for (const auto& [name, value] : kVerbs) {
    if (iequals(verb, name)) {
      command.verb = value;
      return command;
    }
  }
  // Cross-protocol requests (a browser or proxy pointed at the SMTP port) are never legitimate.
  for (std::string_view http : {"GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS", "DELETE"}) {
    if (verb == http && space != std::string_view::npos) {
      command.verb = Verb::http;
      return command;
    }
  }
  return command;
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and values beyond Unicode.
    if ((length == 2 && code < 0x80) || (length == 3 && code < 0x800) || (length == 4 && code < 0x10000) ||
        (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF)
      return false;
    i += length;
  }
  return true;
}

bool valid_xtext(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '+') {
      if (i + 2 >= text.size()) return false;
      for (std::size_t k = 1; k <= 2; ++k) {
        const char h = text[i + k];
        if (!is_digit(h) && !(h >= 'A' && h <= 'F')) return false;
      }
      i += 2;
      continue;
    }
    if (c < 33 || c > 126 || c == '=') return false;
  }
  return true;
}

std::optional<Address> parse_mailbox(std::string_view text, bool* non_ascii) {
  if (text.empty() || text.size() > 254) return std::nullopt;
  // The domain starts after the last '@' that is not inside the quoted local part.
  std::size_t at = std::string_view::npos;
  if (text.front() == '"') {
    std::size_t i = 1;
    for (; i < text.size(); ++i) {
      if (text[i] == '\\') {
        ++i;
        continue;
      }
      if (text[i] == '"') break;
    }
    if (i + 1 >= text.size() || text[i + 1] != '@') return std::nullopt;
    at = i + 1;
  } else {
    at = text.find('@');
    if (at == std::string_view::npos) return std::nullopt;
  }
  const std::string_view local = text.substr(0, at);
  const std::string_view domain = text.substr(at + 1);
  if (local.empty() || local.size() > 64) return std::nullopt;
  const bool local_ok = local.front() == '"' ? valid_quoted_string(local) : valid_dot_string(local);
  if (!local_ok || !valid_domain(domain) || !valid_utf8(text)) return std::nullopt;
  if (non_ascii) *non_ascii = contains_high(text);
  return Address{std::string(local), std::string(domain)};
}

PathArgument parse_path_argument(std::string_view argument, std::string_view keyword) {
  PathArgument out;
  if (!istarts_with(argument, keyword) || argument.size() <= keyword.size() || argument[keyword.size()] != ':') {
    out.error = PathError::syntax;
    return out;
  }
  std::string_view rest = argument.substr(keyword.size() + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);  // "MAIL FROM: <a@b>"
  if (rest.empty()) {
    out.error = PathError::syntax;
    return out;
  }
  std::string_view path;
  if (rest.front() == '<') {
    // The path ends at the first '>' outside a quoted local part.
    bool quoted = false;
    std::size_t i = 1;
    for (; i < rest.size(); ++i) {
      const char c = rest[i];
      if (quoted && c == '\\') {
        ++i;
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (!quoted && c == '>') break;
    }
    if (i >= rest.size()) {
      out.error = PathError::syntax;
      return out;
    }
    path = rest.substr(1, i - 1);
    rest.remove_prefix(i + 1);
    if (!rest.empty() && rest.front() != ' ') {
      out.error = PathError::syntax;
      return out;
    }
  } else {
    // Sloppy clients send the address without brackets; it cannot contain a space then.
    const auto space = rest.find(' ');
    path = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space);
  }

  if (path.empty()) {
    out.null_path = true;
  } else {
    if (path.front() == '@') {
      // A source route (RFC 5321 4.1.1.3, C.2): accept and ignore it.
      const auto colon = path.find(':');
      if (colon == std::string_view::npos) {
        out.error = PathError::address;
        return out;
      }
      path.remove_prefix(colon + 1);
    }
    if (iequals(path, "postmaster")) {
      out.postmaster = true;
      out.address = Address{std::string(path), ""};
    } else {
      auto mailbox = parse_mailbox(path, &out.non_ascii);
      if (!mailbox) {
        out.error = PathError::address;
        return out;
      }
      out.address = std::move(*mailbox);
    }
  }

  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) break;
    const auto space = rest.find(' ');
    const std::string_view item = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space);
    const auto equals = item.find('=');
    Parameter parameter;
    const std::string_view keyword_text = item.substr(0, equals);
    if (!valid_keyword(keyword_text)) {
      out.error = PathError::parameter;
      return out;
    }
    for (char c : keyword_text) parameter.keyword.push_back(upper(c));
    if (equals != std::string_view::npos) {
      const std::string_view value = item.substr(equals + 1);
      if (!valid_param_value(value)) {
        out.error = PathError::parameter;
        return out;
      }
      parameter.value = std::string(value);
    }
    out.params.push_back(std::move(parameter));
  }
  return out;
}

std::string Address::text() const {
  if (domain.empty()) return local_part;
  return local_part + "@" + domain;
}

std::string_view mechanism_name(AuthMechanism mechanism) {
  switch (mechanism) {
    case AuthMechanism::plain:
      return "PLAIN";
    case AuthMechanism::login:
      return "LOGIN";
    case AuthMechanism::cram_md5:
      return "CRAM-MD5";
  }
  return "PLAIN";
}

}  // namespace postroom::smtp
