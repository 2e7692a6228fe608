#pragma once
// A CSS Syntax Level 3 tokenizer (https://www.w3.org/TR/css-syntax-3/#tokenization), for the HTML Check's scan of
// <style> blocks and style="" attributes. It follows the specification's token types and consumption rules, with
// two additions the checker needs: comments come out as `comment` tokens (the specification drops them), and
// every token carries the byte offset and the line where it starts.
//
// Lines count like a source view does: LF, CR LF and a lone CR each end a line (form feed does not), so that
// lines inside a <style> block add up with the HTML document's own line numbers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::htmlcheck::css {

enum class TokenType : std::uint8_t {
  ident,
  function,    // value = the name before "("
  at_keyword,  // value = the name after "@"
  hash,        // value = the name after "#"; hash_is_id when it would be a valid ID selector
  string,      // value = contents, escapes decoded
  bad_string,
  url,  // value = the URL of an unquoted url(…)
  bad_url,
  delim,  // value = the code point, UTF-8
  number,
  percentage,
  dimension,  // number + unit
  whitespace,
  cdo,
  cdc,
  colon,
  semicolon,
  comma,
  open_square,
  close_square,
  open_paren,
  close_paren,
  open_curly,
  close_curly,
  comment,  // value = the text between /* and */
  eof,
};

struct Token {
  TokenType type = TokenType::eof;
  std::string value;
  std::string unit;  // dimension only, as written (escapes decoded)
  double number = 0;
  bool hash_is_id = false;
  std::size_t offset = 0;  // of the token's first byte in the tokenized text
  std::uint32_t line = 0;  // 0-based line of that byte within the tokenized text
};

class Tokenizer {
 public:
  explicit Tokenizer(std::string_view input) : in_(input) {}
  // The next token; `eof` (repeatedly) at the end.
  Token next();

 private:
  bool at_end(std::size_t ahead = 0) const { return pos_ + ahead >= in_.size(); }
  unsigned char peek(std::size_t ahead = 0) const {
    return at_end(ahead) ? 0 : static_cast<unsigned char>(in_[pos_ + ahead]);
  }
  void advance(std::size_t n = 1);
  bool valid_escape(std::size_t ahead) const;
  bool starts_ident(std::size_t ahead) const;
  bool starts_number(std::size_t ahead) const;
  void consume_escape(std::string& out);
  std::string consume_ident_sequence();
  void consume_numeric(Token& token);
  void consume_ident_like(Token& token);
  void consume_string(Token& token, unsigned char quote);
  void consume_url(Token& token);
  void consume_bad_url_remnants();

  std::string_view in_;
  std::size_t pos_ = 0;
  std::uint32_t line_ = 0;
};

// The whole input as tokens, without the final eof.
std::vector<Token> tokenize(std::string_view input);

// ASCII lower-case copy (CSS keywords, property and function names are ASCII case-insensitive).
std::string ascii_lower(std::string_view text);

}  // namespace postroom::htmlcheck::css
