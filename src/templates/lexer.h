#pragma once
// Internal: the tokenizer used by the parser (see handlebars.h for the public tokenize()).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "templates/handlebars.h"

namespace postroom::templates {

enum class TokenType {
  content,
  comment,
  open,
  open_unescaped,
  open_block,
  open_endblock,
  open_inverse,
  open_inverse_chain,
  open_partial,
  open_partial_block,
  open_raw_block,
  close_raw_block,
  end_raw_block,
  inverse,
  close,
  close_unescaped,
  open_sexpr,
  close_sexpr,
  open_block_params,
  close_block_params,
  equals,
  id,
  sep,
  data,
  string,
  number,
  boolean,
  undefined,
  null,
  invalid,
  eof,
};

const char* token_name(TokenType type);

struct LexToken {
  TokenType type;
  std::string text;
  ast::Position start;
};

class Lexer {
 public:
  explicit Lexer(std::string_view source);
  LexToken next();

 private:
  enum class State { initial, mu, emu, com, raw };
  std::optional<LexToken> next_mu();
  bool at(std::size_t pos, std::string_view text) const;
  std::size_t open_length(std::size_t pos) const;
  std::size_t closing(std::size_t open, char closer) const;
  LexToken make(TokenType type, std::size_t begin, std::size_t end, std::string text);
  void advance_to(std::size_t pos);

  std::string_view src_;
  std::size_t pos_ = 0;
  std::vector<State> states_;
  std::size_t scanned_ = 0;
  int line_ = 1;
  int column_ = 0;
};

}  // namespace postroom::templates
