// The CSS Syntax Level 3 tokenizer behind the HTML Check (src/htmlcheck/css_tokenizer.*).
#include "htmlcheck/css_tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace postroom::htmlcheck::css;

namespace {

std::vector<TokenType> types(const std::vector<Token>& tokens) {
  std::vector<TokenType> out;
  for (const Token& t : tokens) out.push_back(t.type);
  return out;
}

std::vector<Token> without_whitespace(const std::string& css) {
  std::vector<Token> out;
  for (Token& t : tokenize(css)) {
    if (t.type != TokenType::whitespace) out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

TEST(CssTokenizer, RuleWithSelectorsAndDeclarations) {
  const auto tokens = without_whitespace("a.b > #id:hover{color:red!important;width:10px;margin:5%}");
  const std::vector<TokenType> expected = {
      TokenType::ident,      TokenType::delim,      TokenType::ident,      TokenType::delim,     TokenType::hash,
      TokenType::colon,      TokenType::ident,      TokenType::open_curly, TokenType::ident,     TokenType::colon,
      TokenType::ident,      TokenType::delim,      TokenType::ident,      TokenType::semicolon, TokenType::ident,
      TokenType::colon,      TokenType::dimension,  TokenType::semicolon,  TokenType::ident,     TokenType::colon,
      TokenType::percentage, TokenType::close_curly};
  ASSERT_EQ(types(tokens), expected);
  EXPECT_EQ(tokens[1].value, ".");
  EXPECT_EQ(tokens[4].value, "id");
  EXPECT_TRUE(tokens[4].hash_is_id);
  EXPECT_EQ(tokens[11].value, "!");
  EXPECT_EQ(tokens[16].number, 10);
  EXPECT_EQ(tokens[16].unit, "px");
  EXPECT_EQ(tokens[20].number, 5);
}

TEST(CssTokenizer, Numbers) {
  const auto tokens = without_whitespace("+.5e3PX -10% 1e 7 -.25em 0x");
  ASSERT_EQ(tokens.size(), 6u);
  EXPECT_EQ(tokens[0].type, TokenType::dimension);
  EXPECT_DOUBLE_EQ(tokens[0].number, 500);
  EXPECT_EQ(tokens[0].unit, "PX");
  EXPECT_EQ(tokens[1].type, TokenType::percentage);
  EXPECT_DOUBLE_EQ(tokens[1].number, -10);
  // "1e" is not an exponent: the number 1 with the unit "e".
  EXPECT_EQ(tokens[2].type, TokenType::dimension);
  EXPECT_EQ(tokens[2].unit, "e");
  EXPECT_EQ(tokens[3].type, TokenType::number);
  EXPECT_DOUBLE_EQ(tokens[4].number, -0.25);
  EXPECT_EQ(tokens[4].unit, "em");
  EXPECT_EQ(tokens[5].unit, "x");
}

TEST(CssTokenizer, UrlsAndFunctions) {
  auto tokens = without_whitespace("url(a.png) url( \"b.gif\" ) URL(  c d ) rgba(0,0,0,.5) url(e\\)f.jpg");
  ASSERT_GE(tokens.size(), 5u);
  EXPECT_EQ(tokens[0].type, TokenType::url);
  EXPECT_EQ(tokens[0].value, "a.png");
  // A quoted argument makes url( an ordinary function.
  EXPECT_EQ(tokens[1].type, TokenType::function);
  EXPECT_EQ(tokens[1].value, "url");
  EXPECT_EQ(tokens[2].type, TokenType::string);
  EXPECT_EQ(tokens[2].value, "b.gif");
  EXPECT_EQ(tokens[3].type, TokenType::close_paren);
  EXPECT_EQ(tokens[4].type, TokenType::bad_url);  // whitespace inside an unquoted URL
  EXPECT_EQ(tokens[5].type, TokenType::function);
  EXPECT_EQ(tokens[5].value, "rgba");
  EXPECT_EQ(tokens.back().type, TokenType::url);
  EXPECT_EQ(tokens.back().value, "e)f.jpg");
}

TEST(CssTokenizer, StringsAndEscapes) {
  auto tokens = without_whitespace("'it\\'s' \"a\\\nb\" \\66oo \\31 0px \"broken\nx");
  ASSERT_EQ(tokens.size(), 6u);
  EXPECT_EQ(tokens[0].type, TokenType::string);
  EXPECT_EQ(tokens[0].value, "it's");
  EXPECT_EQ(tokens[1].value, "ab");  // an escaped newline continues the string
  EXPECT_EQ(tokens[2].type, TokenType::ident);
  EXPECT_EQ(tokens[2].value, "foo");
  EXPECT_EQ(tokens[3].type, TokenType::ident);  // \31 is "1", then "0px": one identifier
  EXPECT_EQ(tokens[3].value, "10px");
  EXPECT_EQ(tokens[4].type, TokenType::bad_string);
  EXPECT_EQ(tokens[5].type, TokenType::ident);
  EXPECT_EQ(tokens[5].value, "x");
}

TEST(CssTokenizer, AtKeywordsHashesAndMarkupComments) {
  const auto tokens = without_whitespace("<!-- @media #1a #-x -->");
  ASSERT_EQ(types(tokens), (std::vector<TokenType>{TokenType::cdo, TokenType::at_keyword, TokenType::hash,
                                                   TokenType::hash, TokenType::cdc}));
  EXPECT_EQ(tokens[1].value, "media");
  EXPECT_FALSE(tokens[2].hash_is_id);  // #1a cannot be an ID selector
  EXPECT_TRUE(tokens[3].hash_is_id);
}

TEST(CssTokenizer, CommentsAndLines) {
  const auto tokens = without_whitespace("a\n/* x\ny */\r\nb\rc\fd");
  ASSERT_EQ(tokens.size(), 5u);
  EXPECT_EQ(tokens[0].line, 0u);
  EXPECT_EQ(tokens[1].type, TokenType::comment);
  EXPECT_EQ(tokens[1].value, " x\ny ");
  EXPECT_EQ(tokens[1].line, 1u);
  EXPECT_EQ(tokens[2].value, "b");
  EXPECT_EQ(tokens[2].line, 3u);  // CR LF is one line break
  EXPECT_EQ(tokens[3].line, 4u);  // a lone CR is one too
  EXPECT_EQ(tokens[4].line, 4u);  // a form feed is whitespace, not a line break in the source view
  EXPECT_EQ(tokens[2].offset, 13u);
}

TEST(CssTokenizer, UnterminatedInputEnds) {
  for (const std::string css : {"/* open", "\"open", "url(open", "a{b:c", "\\", "@", "#", "-", "u", "url(", "1e+"}) {
    const auto tokens = tokenize(css);
    EXPECT_FALSE(tokens.empty()) << css;
  }
  // A NUL byte becomes U+FFFD inside an identifier.
  const auto tokens = tokenize(std::string("a\0b", 3));
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].value,
            "a\xef\xbf\xbd"
            "b");
}
