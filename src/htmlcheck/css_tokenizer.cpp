#include "htmlcheck/css_tokenizer.h"

#include <charconv>

namespace postroom::htmlcheck::css {
namespace {

bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_hex(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_letter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// Bytes of non-ASCII code points (and NUL, which preprocessing turns into U+FFFD) count as ident code points.
bool is_ident_start(unsigned char c) { return is_letter(c) || c == '_' || c >= 0x80 || c == 0; }
bool is_ident_char(unsigned char c) { return is_ident_start(c) || is_digit(c) || c == '-'; }
bool is_newline(unsigned char c) { return c == '\n' || c == '\r' || c == '\f'; }
bool is_whitespace(unsigned char c) { return c == ' ' || c == '\t' || is_newline(c); }
bool is_non_printable(unsigned char c) { return c <= 0x08 || c == 0x0b || (c >= 0x0e && c <= 0x1f) || c == 0x7f; }
int hex_value(unsigned char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

constexpr std::uint32_t kReplacement = 0xfffd;

// One input byte appended to a name: NUL becomes U+FFFD as CSS preprocessing says.
void append_byte(std::string& out, unsigned char c) {
  if (c == 0) {
    append_utf8(out, kReplacement);
  } else {
    out += static_cast<char>(c);
  }
}

}  // namespace

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void Tokenizer::advance(std::size_t n) {
  for (; n > 0 && pos_ < in_.size(); --n, ++pos_) {
    const char c = in_[pos_];
    if (c == '\n' || (c == '\r' && (pos_ + 1 >= in_.size() || in_[pos_ + 1] != '\n'))) ++line_;
  }
}

bool Tokenizer::valid_escape(std::size_t ahead) const {
  return !at_end(ahead) && peek(ahead) == '\\' && !(!at_end(ahead + 1) && is_newline(peek(ahead + 1)));
}

bool Tokenizer::starts_ident(std::size_t ahead) const {
  if (at_end(ahead)) return false;
  const unsigned char c = peek(ahead);
  if (c == '-') {
    if (at_end(ahead + 1)) return false;
    const unsigned char d = peek(ahead + 1);
    return is_ident_start(d) || d == '-' || valid_escape(ahead + 1);
  }
  if (is_ident_start(c)) return true;
  return valid_escape(ahead);
}

bool Tokenizer::starts_number(std::size_t ahead) const {
  if (at_end(ahead)) return false;
  const unsigned char c = peek(ahead);
  if (c == '+' || c == '-') {
    if (at_end(ahead + 1)) return false;
    if (is_digit(peek(ahead + 1))) return true;
    return peek(ahead + 1) == '.' && !at_end(ahead + 2) && is_digit(peek(ahead + 2));
  }
  if (c == '.') return !at_end(ahead + 1) && is_digit(peek(ahead + 1));
  return is_digit(c);
}

// After the backslash has been checked to start a valid escape; consumes it.
void Tokenizer::consume_escape(std::string& out) {
  advance();  // the backslash
  if (at_end()) {
    append_utf8(out, kReplacement);
    return;
  }
  const unsigned char c = peek();
  if (is_hex(c)) {
    std::uint32_t cp = 0;
    for (int digits = 0; digits < 6 && !at_end() && is_hex(peek()); ++digits) {
      cp = cp * 16 + static_cast<std::uint32_t>(hex_value(peek()));
      advance();
    }
    if (!at_end() && is_whitespace(peek())) {
      // CR LF is one whitespace after an escape.
      if (peek() == '\r' && !at_end(1) && peek(1) == '\n') advance();
      advance();
    }
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) cp = kReplacement;
    append_utf8(out, cp);
    return;
  }
  append_byte(out, c);
  advance();
}

std::string Tokenizer::consume_ident_sequence() {
  std::string name;
  while (!at_end()) {
    const unsigned char c = peek();
    if (is_ident_char(c)) {
      append_byte(name, c);
      advance();
    } else if (valid_escape(0)) {
      consume_escape(name);
    } else {
      break;
    }
  }
  return name;
}

void Tokenizer::consume_numeric(Token& token) {
  const std::size_t start = pos_;
  if (peek() == '+' || peek() == '-') advance();
  while (!at_end() && is_digit(peek())) advance();
  if (!at_end(1) && peek() == '.' && is_digit(peek(1))) {
    advance();
    while (!at_end() && is_digit(peek())) advance();
  }
  if (!at_end(1) && (peek() == 'e' || peek() == 'E')) {
    const bool sign = peek(1) == '+' || peek(1) == '-';
    if ((sign && !at_end(2) && is_digit(peek(2))) || (!sign && is_digit(peek(1)))) {
      advance(sign ? 2 : 1);
      while (!at_end() && is_digit(peek())) advance();
    }
  }
  std::string_view text = in_.substr(start, pos_ - start);
  token.value = std::string(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);  // from_chars rejects a leading '+'
  double value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  token.number = result.ec == std::errc() ? value : 0;
  if (starts_ident(0)) {
    token.type = TokenType::dimension;
    token.unit = consume_ident_sequence();
  } else if (!at_end() && peek() == '%') {
    advance();
    token.type = TokenType::percentage;
  } else {
    token.type = TokenType::number;
  }
}

void Tokenizer::consume_bad_url_remnants() {
  while (!at_end()) {
    if (peek() == ')') {
      advance();
      return;
    }
    if (valid_escape(0)) {
      std::string ignored;
      consume_escape(ignored);
    } else {
      advance();
    }
  }
}

void Tokenizer::consume_url(Token& token) {
  token.type = TokenType::url;
  while (!at_end() && is_whitespace(peek())) advance();
  while (true) {
    if (at_end()) return;  // parse error: unterminated url, still a url token
    const unsigned char c = peek();
    if (c == ')') {
      advance();
      return;
    }
    if (is_whitespace(c)) {
      while (!at_end() && is_whitespace(peek())) advance();
      if (at_end()) return;
      if (peek() == ')') {
        advance();
        return;
      }
      token.type = TokenType::bad_url;
      consume_bad_url_remnants();
      return;
    }
    if (c == '"' || c == '\'' || c == '(' || is_non_printable(c)) {
      token.type = TokenType::bad_url;
      consume_bad_url_remnants();
      return;
    }
    if (c == '\\') {
      if (valid_escape(0)) {
        consume_escape(token.value);
        continue;
      }
      token.type = TokenType::bad_url;
      consume_bad_url_remnants();
      return;
    }
    append_byte(token.value, c);
    advance();
  }
}

void Tokenizer::consume_ident_like(Token& token) {
  std::string name = consume_ident_sequence();
  if (!at_end() && peek() == '(' && ascii_lower(name) == "url") {
    advance();
    // Skip whitespace but keep one in front of a quote: url( "x" ) is a function with a string argument.
    while (!at_end(1) && is_whitespace(peek()) && is_whitespace(peek(1))) advance();
    const unsigned char next = at_end() ? 0 : peek();
    const unsigned char after = at_end(1) ? 0 : peek(1);
    if (!at_end() && (next == '"' || next == '\'' || (is_whitespace(next) && (after == '"' || after == '\'')))) {
      token.type = TokenType::function;
      token.value = std::move(name);
      return;
    }
    consume_url(token);
    return;
  }
  if (!at_end() && peek() == '(') {
    advance();
    token.type = TokenType::function;
  } else {
    token.type = TokenType::ident;
  }
  token.value = std::move(name);
}

void Tokenizer::consume_string(Token& token, unsigned char quote) {
  advance();  // the opening quote
  token.type = TokenType::string;
  while (!at_end()) {
    const unsigned char c = peek();
    if (c == quote) {
      advance();
      return;
    }
    if (is_newline(c)) {
      token.type = TokenType::bad_string;  // the newline is not consumed
      return;
    }
    if (c == '\\') {
      if (at_end(1)) {
        advance();
        return;
      }
      if (is_newline(peek(1))) {  // an escaped newline continues the string
        advance();
        if (peek() == '\r' && !at_end(1) && peek(1) == '\n') advance();
        advance();
        continue;
      }
      consume_escape(token.value);
      continue;
    }
    append_byte(token.value, c);
    advance();
  }
}

Token Tokenizer::next() {
  Token token;
  token.offset = pos_;
  token.line = line_;
  if (at_end()) return token;  // eof
  const unsigned char c = peek();

  if (c == '/' && !at_end(1) && peek(1) == '*') {
    token.type = TokenType::comment;
    advance(2);
    const std::size_t start = pos_;
    const std::size_t end = in_.find("*/", pos_);
    if (end == std::string_view::npos) {
      token.value = std::string(in_.substr(start));
      advance(in_.size() - pos_);
    } else {
      token.value = std::string(in_.substr(start, end - start));
      advance(end + 2 - pos_);
    }
    return token;
  }
  if (is_whitespace(c)) {
    token.type = TokenType::whitespace;
    while (!at_end() && is_whitespace(peek())) advance();
    return token;
  }
  if (c == '"' || c == '\'') {
    consume_string(token, c);
    return token;
  }
  if (c == '#') {
    if (!at_end(1) && (is_ident_char(peek(1)) || valid_escape(1))) {
      token.type = TokenType::hash;
      token.hash_is_id = starts_ident(1);
      advance();
      token.value = consume_ident_sequence();
      return token;
    }
  } else if (c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}' || c == ',' || c == ':' || c == ';') {
    switch (c) {
      case '(':
        token.type = TokenType::open_paren;
        break;
      case ')':
        token.type = TokenType::close_paren;
        break;
      case '[':
        token.type = TokenType::open_square;
        break;
      case ']':
        token.type = TokenType::close_square;
        break;
      case '{':
        token.type = TokenType::open_curly;
        break;
      case '}':
        token.type = TokenType::close_curly;
        break;
      case ',':
        token.type = TokenType::comma;
        break;
      case ':':
        token.type = TokenType::colon;
        break;
      default:
        token.type = TokenType::semicolon;
        break;
    }
    advance();
    return token;
  } else if (c == '+' || c == '.') {
    if (starts_number(0)) {
      consume_numeric(token);
      return token;
    }
  } else if (c == '-') {
    if (starts_number(0)) {
      consume_numeric(token);
      return token;
    }
    if (!at_end(2) && peek(1) == '-' && peek(2) == '>') {
      token.type = TokenType::cdc;
      advance(3);
      return token;
    }
    if (starts_ident(0)) {
      consume_ident_like(token);
      return token;
    }
  } else if (c == '<') {
    if (in_.substr(pos_, 4) == "<!--") {
      token.type = TokenType::cdo;
      advance(4);
      return token;
    }
  } else if (c == '@') {
    if (starts_ident(1)) {
      token.type = TokenType::at_keyword;
      advance();
      token.value = consume_ident_sequence();
      return token;
    }
  } else if (c == '\\') {
    if (valid_escape(0)) {
      consume_ident_like(token);
      return token;
    }
  } else if (is_digit(c)) {
    consume_numeric(token);
    return token;
  } else if (is_ident_start(c)) {
    consume_ident_like(token);
    return token;
  }

  // Anything else is a delim holding one code point (a whole UTF-8 sequence for non-ASCII bytes).
  token.type = TokenType::delim;
  std::size_t length = 1;
  if (c >= 0xc0) {
    length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    while (length > 1 && at_end(length - 1)) --length;
  }
  token.value = std::string(in_.substr(pos_, length));
  advance(length);
  return token;
}

std::vector<Token> tokenize(std::string_view input) {
  std::vector<Token> tokens;
  tokens.reserve(input.size() / 4 + 1);
  Tokenizer tokenizer(input);
  while (true) {
    Token token = tokenizer.next();
    if (token.type == TokenType::eof) break;
    tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace postroom::htmlcheck::css
