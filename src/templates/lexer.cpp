// The tokenizer: a hand-written copy of handlebars.js's Jison lexer (handlebars.l). Rules are tried in the
// same order with the same first-match semantics, so token boundaries agree with handlebars.js exactly.
#include "templates/lexer.h"

#include <cstring>

namespace postroom::templates {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Characters that cannot appear in an ID: [\s!"#%-,\.\/;->@\[-\^`\{-~]
bool is_id_char(char c) {
  if (is_space(c)) return false;
  const auto u = static_cast<unsigned char>(c);
  if (u == '!' || u == '"' || u == '#') return false;
  if (u >= '%' && u <= ',') return false;
  if (u == '.' || u == '/') return false;
  if (u >= ';' && u <= '>') return false;
  if (u == '@') return false;
  if (u >= '[' && u <= '^') return false;
  if (u == '`') return false;
  if (u >= '{' && u <= '~') return false;
  return true;
}

// LOOKAHEAD [=~}\s\/.)|]
bool is_id_lookahead(char c) {
  return c == '=' || c == '~' || c == '}' || is_space(c) || c == '/' || c == '.' || c == ')' || c == '|';
}
// LITERAL_LOOKAHEAD [~}\s)]
bool is_literal_lookahead(char c) { return c == '~' || c == '}' || is_space(c) || c == ')'; }

}  // namespace

Lexer::Lexer(std::string_view source) : src_(source) { states_.push_back(State::initial); }

bool Lexer::at(std::size_t pos, std::string_view text) const {
  return pos + text.size() <= src_.size() && src_.compare(pos, text.size(), text) == 0;
}

void Lexer::advance_to(std::size_t pos) {
  for (; scanned_ < pos; ++scanned_) {
    if (src_[scanned_] == '\n') {
      ++line_;
      column_ = 0;
    } else {
      ++column_;
    }
  }
}

LexToken Lexer::make(TokenType type, std::size_t begin, std::size_t end, std::string text) {
  advance_to(begin);
  LexToken token{type, std::move(text), {line_, column_}};
  pos_ = end;
  return token;
}

// The length of "{{" "~"? at pos (0 when absent).
std::size_t Lexer::open_length(std::size_t pos) const {
  if (!at(pos, "{{")) return 0;
  return at(pos + 2, "~") ? 3 : 2;
}

LexToken Lexer::next() {
  while (true) {
    if (states_.empty()) states_.push_back(State::initial);
    switch (states_.back()) {
      case State::initial: {
        if (pos_ >= src_.size()) return make(TokenType::eof, pos_, pos_, "");
        const std::size_t open = src_.find("{{", pos_);
        if (open == std::string_view::npos) {
          return make(TokenType::content, pos_, src_.size(), std::string(src_.substr(pos_)));
        }
        std::string text(src_.substr(pos_, open - pos_));
        const std::size_t begin = pos_;
        if (text.size() >= 2 && text.compare(text.size() - 2, 2, "\\\\") == 0) {
          text.pop_back();
          states_.push_back(State::mu);
        } else if (!text.empty() && text.back() == '\\') {
          text.pop_back();
          states_.push_back(State::emu);
        } else {
          states_.push_back(State::mu);
        }
        if (!text.empty()) return make(TokenType::content, begin, open, std::move(text));
        pos_ = open;
        continue;
      }
      case State::emu: {
        // [^\x00]{2,}?/("{{"|"\\{{"|"\\\\{{"|<<EOF>>)
        for (std::size_t end = pos_ + 2; end <= src_.size(); ++end) {
          if (end == src_.size() || at(end, "{{") || at(end, "\\{{") || at(end, "\\\\{{")) {
            states_.pop_back();
            return make(TokenType::content, pos_, end, std::string(src_.substr(pos_, end - pos_)));
          }
        }
        return make(TokenType::invalid, pos_, pos_, "");
      }
      case State::raw: {
        if (at(pos_, "{{{{") && !at(pos_ + 4, "/")) {
          states_.push_back(State::raw);
          return make(TokenType::content, pos_, pos_ + 4, "{{{{");
        }
        if (at(pos_, "{{{{/")) {
          std::size_t end = pos_ + 5;
          while (end < src_.size() && is_id_char(src_[end])) ++end;
          if (end > pos_ + 5 && at(end, "}}}}")) {
            states_.pop_back();
            if (!states_.empty() && states_.back() == State::raw) {
              return make(TokenType::content, pos_, end + 4, std::string(src_.substr(pos_, end + 4 - pos_)));
            }
            return make(TokenType::end_raw_block, pos_, end + 4, std::string(src_.substr(pos_ + 5, end - pos_ - 5)));
          }
        }
        // [^\x00]+?/("{{{{")
        const std::size_t next_open = src_.find("{{{{", pos_ + 1);
        if (next_open == std::string_view::npos || pos_ >= src_.size()) {
          return make(TokenType::invalid, pos_, pos_, "");
        }
        return make(TokenType::content, pos_, next_open, std::string(src_.substr(pos_, next_open - pos_)));
      }
      case State::com: {
        // [\s\S]*?"--"~?"}}"
        for (std::size_t dash = src_.find("--", pos_); dash != std::string_view::npos;
             dash = src_.find("--", dash + 1)) {
          std::size_t end = 0;
          if (at(dash + 2, "}}"))
            end = dash + 4;
          else if (at(dash + 2, "~}}"))
            end = dash + 5;
          if (end != 0) {
            states_.pop_back();
            return make(TokenType::comment, pos_, end, std::string(src_.substr(pos_, end - pos_)));
          }
        }
        return make(TokenType::invalid, pos_, pos_, "");
      }
      case State::mu:
        if (auto token = next_mu()) return *token;
        continue;
    }
  }
}

std::optional<LexToken> Lexer::next_mu() {
  const std::size_t p = pos_;
  if (p >= src_.size()) return make(TokenType::eof, p, p, "");
  auto simple = [&](TokenType type, std::size_t length) {
    return make(type, p, p + length, std::string(src_.substr(p, length)));
  };
  const char c = src_[p];
  if (c == '(') return simple(TokenType::open_sexpr, 1);
  if (c == ')') return simple(TokenType::close_sexpr, 1);
  if (at(p, "{{{{")) return simple(TokenType::open_raw_block, 4);
  if (at(p, "}}}}")) {
    states_.pop_back();
    states_.push_back(State::raw);
    return simple(TokenType::close_raw_block, 4);
  }
  if (const std::size_t open = open_length(p)) {
    const std::size_t q = p + open;
    if (at(q, ">")) return simple(TokenType::open_partial, open + 1);
    if (at(q, "#>")) return simple(TokenType::open_partial_block, open + 2);
    if (at(q, "#")) return simple(TokenType::open_block, open + 1 + (at(q + 1, "*") ? 1 : 0));
    if (at(q, "/")) return simple(TokenType::open_endblock, open + 1);
    if (at(q, "^")) {
      std::size_t r = q + 1;
      while (r < src_.size() && is_space(src_[r])) ++r;
      if (at(r, "~")) ++r;
      if (at(r, "}}")) {
        states_.pop_back();
        return simple(TokenType::inverse, r + 2 - p);
      }
    }
    {
      std::size_t r = q;
      while (r < src_.size() && is_space(src_[r])) ++r;
      if (at(r, "else")) {
        std::size_t s = r + 4;
        while (s < src_.size() && is_space(src_[s])) ++s;
        if (at(s, "~")) ++s;
        if (at(s, "}}")) {
          states_.pop_back();
          return simple(TokenType::inverse, s + 2 - p);
        }
      }
    }
    if (at(q, "^")) return simple(TokenType::open_inverse, open + 1);
    {
      std::size_t r = q;
      while (r < src_.size() && is_space(src_[r])) ++r;
      if (at(r, "else")) return simple(TokenType::open_inverse_chain, r + 4 - p);
    }
    if (at(q, "{")) return simple(TokenType::open_unescaped, open + 1);
    if (at(q, "&")) return simple(TokenType::open, open + 1);
    if (at(q, "!--")) {
      states_.pop_back();
      states_.push_back(State::com);
      return std::nullopt;
    }
    if (at(q, "!")) {
      const std::size_t close = src_.find("}}", q + 1);
      if (close != std::string_view::npos) {
        states_.pop_back();
        return simple(TokenType::comment, close + 2 - p);
      }
    }
    return simple(TokenType::open, open + (at(q, "*") ? 1 : 0));
  }
  if (c == '=') return simple(TokenType::equals, 1);
  if (at(p, "..")) return simple(TokenType::id, 2);
  if (c == '.' && p + 1 < src_.size() && is_id_lookahead(src_[p + 1])) return simple(TokenType::id, 1);
  if (c == '.' || c == '/') return simple(TokenType::sep, 1);
  if (is_space(c)) {
    std::size_t r = p;
    while (r < src_.size() && is_space(src_[r])) ++r;
    pos_ = r;
    return std::nullopt;
  }
  if (at(p, "}~}}")) {
    states_.pop_back();
    return simple(TokenType::close_unescaped, 4);
  }
  if (at(p, "}}}")) {
    states_.pop_back();
    return simple(TokenType::close_unescaped, 3);
  }
  if (at(p, "~}}")) {
    states_.pop_back();
    return simple(TokenType::close, 3);
  }
  if (at(p, "}}")) {
    states_.pop_back();
    return simple(TokenType::close, 2);
  }
  if (c == '"' || c == '\'') {
    // '"'("\\"["]|[^"])*'"' : an escaped quote may also end the string when nothing else does.
    if (const std::size_t end = closing(p, c); end != std::string_view::npos) {
      std::string text;
      const std::string_view inner = src_.substr(p + 1, end - p - 1);
      for (std::size_t i = 0; i < inner.size(); ++i) {
        if (inner[i] == '\\' && i + 1 < inner.size() && inner[i + 1] == c) continue;
        text += inner[i];
      }
      return make(TokenType::string, p, end + 1, std::move(text));
    }
  }
  if (c == '@') return simple(TokenType::data, 1);
  for (const auto& [word, type] : {std::pair<std::string_view, TokenType>{"true", TokenType::boolean},
                                   {"false", TokenType::boolean},
                                   {"undefined", TokenType::undefined},
                                   {"null", TokenType::null}}) {
    if (at(p, word) && p + word.size() < src_.size() && is_literal_lookahead(src_[p + word.size()])) {
      return simple(type, word.size());
    }
  }
  {
    std::size_t r = p;
    if (src_[r] == '-') ++r;
    const std::size_t digits = r;
    while (r < src_.size() && src_[r] >= '0' && src_[r] <= '9') ++r;
    if (r > digits) {
      std::size_t end = r;
      if (r < src_.size() && src_[r] == '.') {
        std::size_t f = r + 1;
        while (f < src_.size() && src_[f] >= '0' && src_[f] <= '9') ++f;
        if (f > r + 1) end = f;
      }
      if (end < src_.size() && is_literal_lookahead(src_[end])) return simple(TokenType::number, end - p);
    }
  }
  if (at(p, "as")) {
    std::size_t r = p + 2;
    while (r < src_.size() && is_space(src_[r])) ++r;
    if (r > p + 2 && at(r, "|")) return simple(TokenType::open_block_params, r + 1 - p);
  }
  if (c == '|') return simple(TokenType::close_block_params, 1);
  if (is_id_char(c)) {
    std::size_t r = p;
    while (r < src_.size() && is_id_char(src_[r])) ++r;
    if (r < src_.size() && is_id_lookahead(src_[r])) return simple(TokenType::id, r - p);
  }
  if (c == '[') {
    // '['('\\]'|[^\]])*']' with JavaScript's backtracking: greedy, falling back to the last escaped bracket.
    if (const std::size_t end = closing(p, ']'); end != std::string_view::npos) {
      std::string text;
      const std::string_view raw = src_.substr(p, end + 1 - p);
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\\' && i + 1 < raw.size() && (raw[i + 1] == '\\' || raw[i + 1] == ']')) {
          text += raw[++i];
        } else {
          text += raw[i];
        }
      }
      return make(TokenType::id, p, end + 1, std::move(text));
    }
  }
  return make(TokenType::invalid, p, p + 1, std::string(1, c));
}

// Where a run opened at `open` ends: the first `closer` not escaped by a backslash or, as the JavaScript
// regular expressions backtrack, the last escaped one when no unescaped one follows. npos when neither exists.
std::size_t Lexer::closing(std::size_t open, char closer) const {
  std::size_t last_escaped = std::string_view::npos;
  for (std::size_t r = open + 1; r < src_.size(); ++r) {
    if (src_[r] == closer) return r;
    if (src_[r] == '\\' && r + 1 < src_.size() && src_[r + 1] == closer) last_escaped = ++r;
  }
  return last_escaped;
}

const char* token_name(TokenType type) {
  switch (type) {
    case TokenType::content:
      return "CONTENT";
    case TokenType::comment:
      return "COMMENT";
    case TokenType::open:
      return "OPEN";
    case TokenType::open_unescaped:
      return "OPEN_UNESCAPED";
    case TokenType::open_block:
      return "OPEN_BLOCK";
    case TokenType::open_endblock:
      return "OPEN_ENDBLOCK";
    case TokenType::open_inverse:
      return "OPEN_INVERSE";
    case TokenType::open_inverse_chain:
      return "OPEN_INVERSE_CHAIN";
    case TokenType::open_partial:
      return "OPEN_PARTIAL";
    case TokenType::open_partial_block:
      return "OPEN_PARTIAL_BLOCK";
    case TokenType::open_raw_block:
      return "OPEN_RAW_BLOCK";
    case TokenType::close_raw_block:
      return "CLOSE_RAW_BLOCK";
    case TokenType::end_raw_block:
      return "END_RAW_BLOCK";
    case TokenType::inverse:
      return "INVERSE";
    case TokenType::close:
      return "CLOSE";
    case TokenType::close_unescaped:
      return "CLOSE_UNESCAPED";
    case TokenType::open_sexpr:
      return "OPEN_SEXPR";
    case TokenType::close_sexpr:
      return "CLOSE_SEXPR";
    case TokenType::open_block_params:
      return "OPEN_BLOCK_PARAMS";
    case TokenType::close_block_params:
      return "CLOSE_BLOCK_PARAMS";
    case TokenType::equals:
      return "EQUALS";
    case TokenType::id:
      return "ID";
    case TokenType::sep:
      return "SEP";
    case TokenType::data:
      return "DATA";
    case TokenType::string:
      return "STRING";
    case TokenType::number:
      return "NUMBER";
    case TokenType::boolean:
      return "BOOLEAN";
    case TokenType::undefined:
      return "UNDEFINED";
    case TokenType::null:
      return "NULL";
    case TokenType::invalid:
      return "INVALID";
    case TokenType::eof:
      return "EOF";
  }
  return "?";
}

std::vector<Token> tokenize(std::string_view source) {
  std::vector<Token> out;
  Lexer lexer(source);
  while (true) {
    LexToken token = lexer.next();
    if (token.type == TokenType::eof || token.type == TokenType::invalid) break;
    out.push_back({token_name(token.type), std::move(token.text), token.start});
  }
  return out;
}

}  // namespace postroom::templates
