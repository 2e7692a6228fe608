// The parser: recursive descent over handlebars.js's grammar (handlebars.yy), building the same AST its
// helpers build, then handlebars.js's WhitespaceControl pass (`~` stripping and standalone lines).
#include <fmt/format.h>

#include <cmath>

#include "templates/handlebars.h"
#include "templates/lexer.h"

namespace postroom::templates {

SyntaxError::SyntaxError(std::string why, ast::Position where)
    : std::runtime_error(fmt::format("{} - {}:{}", why, where.line, where.column)),
      reason(std::move(why)),
      line(where.line),
      column(where.column + 1) {}

namespace {

using ast::Expr;
using ast::ExprKind;
using ast::ExprPtr;
using ast::Program;
using ast::Stmt;
using ast::StmtKind;

// Deep enough for any real template, shallow enough that recursion never exhausts the stack.
constexpr int kMaxNesting = 200;

class Parser {
 public:
  Parser(std::string_view source) : lexer_(source) { current_ = lexer_.next(); }

  Program parse_root() {
    Program program = parse_program();
    if (current_.type != TokenType::eof) fail_unexpected();
    return program;
  }

 private:
  [[noreturn]] void fail_unexpected() {
    if (current_.type == TokenType::invalid) {
      throw SyntaxError(fmt::format("Parse error on line {}: unexpected '{}'", current_.start.line, current_.text),
                        current_.start);
    }
    throw SyntaxError(fmt::format("Parse error on line {}: unexpected {}", current_.start.line,
                                  current_.type == TokenType::eof ? "end of template" : token_name(current_.type)),
                      current_.start);
  }

  LexToken take() {
    LexToken token = std::move(current_);
    current_ = lexer_.next();
    return token;
  }
  LexToken expect(TokenType type) {
    if (current_.type != type) fail_unexpected();
    return take();
  }
  bool is(TokenType type) const { return current_.type == type; }

  struct DepthGuard {
    explicit DepthGuard(Parser& p) : parser(p) {
      if (++parser.depth_ > kMaxNesting) {
        throw SyntaxError("Template nesting is too deep", parser.current_.start);
      }
    }
    ~DepthGuard() { --parser.depth_; }
    Parser& parser;
  };

  static ast::Strip strip_flags(const std::string& open, const std::string& close) {
    return {open.size() > 2 && open[2] == '~', close.size() >= 3 && close[close.size() - 3] == '~'};
  }

  Program parse_program() {
    DepthGuard guard(*this);
    Program program;
    while (true) {
      switch (current_.type) {
        case TokenType::content: {
          Stmt stmt;
          stmt.kind = StmtKind::content;
          stmt.loc = current_.start;
          stmt.original = stmt.value = take().text;
          program.body.push_back(std::move(stmt));
          break;
        }
        case TokenType::comment: {
          Stmt stmt;
          stmt.kind = StmtKind::comment;
          stmt.loc = current_.start;
          const std::string text = take().text;
          stmt.strip = strip_flags(text, text);
          stmt.value = strip_comment(text);
          program.body.push_back(std::move(stmt));
          break;
        }
        case TokenType::open:
        case TokenType::open_unescaped:
          program.body.push_back(parse_mustache());
          break;
        case TokenType::open_block:
        case TokenType::open_inverse:
          program.body.push_back(parse_block());
          break;
        case TokenType::open_raw_block:
          program.body.push_back(parse_raw_block());
          break;
        case TokenType::open_partial:
          program.body.push_back(parse_partial());
          break;
        case TokenType::open_partial_block:
          program.body.push_back(parse_partial_block());
          break;
        default:
          for (const Stmt& stmt : program.body) {
            if (stmt.kind == StmtKind::decorator_block && stmt.path && !stmt.path->parts.empty() &&
                stmt.path->parts[0] == "inline") {
              program.has_inline_partials = true;
            }
          }
          return program;
      }
    }
  }

  static std::string strip_comment(const std::string& text) {
    // replace(/^\{\{~?!-?-?/, '').replace(/-?-?~?\}\}$/, '')
    std::size_t begin = 2;
    if (begin < text.size() && text[begin] == '~') ++begin;
    if (begin < text.size() && text[begin] == '!') ++begin;
    for (int i = 0; i < 2 && begin < text.size() && text[begin] == '-'; ++i) ++begin;
    std::size_t end = text.size() >= 2 ? text.size() - 2 : text.size();
    if (end > begin && text[end - 1] == '~') --end;
    for (int i = 0; i < 2 && end > begin && text[end - 1] == '-'; ++i) --end;
    return end > begin ? text.substr(begin, end - begin) : std::string();
  }

  static std::string id_of(const std::string& token) {
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') return token.substr(1, token.size() - 2);
    return token;
  }

  // pathSegments with preparePath's checks.
  ExprPtr parse_path(bool data, ast::Position loc) {
    auto path = std::make_unique<Expr>();
    path->kind = ExprKind::path;
    path->data = data;
    path->loc = loc;
    std::string original = data ? "@" : "";
    std::string separator;
    bool first = true;
    while (true) {
      LexToken id = expect(TokenType::id);
      const std::string part = id_of(id.text);
      const bool literal = part != id.text;
      original += separator + part;
      if (first && !literal && (part == "." || part == "this")) path->scoped = true;
      if (!literal && (part == ".." || part == "." || part == "this")) {
        if (!path->parts.empty()) throw SyntaxError("Invalid path: " + original, loc);
        if (part == "..") ++path->depth;
      } else {
        path->parts.push_back(part);
      }
      first = false;
      if (!is(TokenType::sep)) break;
      separator = take().text;
    }
    path->original = std::move(original);
    if (!data && !path->scoped && path->depth == 0 && path->parts.size() == 1) {
      static const std::pair<const char*, ast::Builtin> builtins[] = {
          {"if", ast::Builtin::if_},
          {"unless", ast::Builtin::unless},
          {"each", ast::Builtin::each},
          {"with", ast::Builtin::with},
          {"lookup", ast::Builtin::lookup},
          {"log", ast::Builtin::log},
          {"helperMissing", ast::Builtin::helper_missing},
          {"blockHelperMissing", ast::Builtin::block_helper_missing}};
      for (const auto& [name, builtin] : builtins) {
        if (path->parts[0] == name) path->builtin = builtin;
      }
    }
    return path;
  }

  ExprPtr literal(ExprKind kind, const LexToken& token) {
    auto expr = std::make_unique<Expr>();
    expr->kind = kind;
    expr->loc = token.start;
    expr->original = token.text;
    switch (kind) {
      case ExprKind::string:
        expr->literal = boost::json::string(token.text);
        break;
      case ExprKind::number: {
        const double number = std::strtod(token.text.c_str(), nullptr);
        if (std::floor(number) == number && std::fabs(number) < 9e15) {
          expr->literal = static_cast<std::int64_t>(number);
        } else {
          expr->literal = number;
        }
        break;
      }
      case ExprKind::boolean:
        expr->literal = token.text == "true";
        break;
      default:
        break;
    }
    return expr;
  }

  // helperName
  ExprPtr parse_helper_name() {
    switch (current_.type) {
      case TokenType::id:
        return parse_path(false, current_.start);
      case TokenType::data: {
        const ast::Position loc = take().start;
        return parse_path(true, loc);
      }
      case TokenType::string:
        return literal(ExprKind::string, take());
      case TokenType::number:
        return literal(ExprKind::number, take());
      case TokenType::boolean:
        return literal(ExprKind::boolean, take());
      case TokenType::undefined:
        return literal(ExprKind::undefined, take());
      case TokenType::null:
        return literal(ExprKind::null, take());
      default:
        fail_unexpected();
    }
  }

  ExprPtr parse_param() {
    if (is(TokenType::open_sexpr)) return parse_sexpr();
    return parse_helper_name();
  }

  ExprPtr parse_sexpr() {
    DepthGuard guard(*this);
    auto expr = std::make_unique<Expr>();
    expr->kind = ExprKind::sub;
    expr->loc = expect(TokenType::open_sexpr).start;
    expr->callee = parse_helper_name();
    parse_params_and_hash(expr->params, expr->hash);
    expect(TokenType::close_sexpr);
    return expr;
  }

  bool at_hash_segment() {
    // An ID directly followed by EQUALS starts the hash. Peeking needs a copy of the lexer.
    if (!is(TokenType::id)) return false;
    Lexer copy = lexer_;
    LexToken after = copy.next();
    return after.type == TokenType::equals;
  }

  bool starts_param() const {
    switch (current_.type) {
      case TokenType::id:
      case TokenType::data:
      case TokenType::string:
      case TokenType::number:
      case TokenType::boolean:
      case TokenType::undefined:
      case TokenType::null:
      case TokenType::open_sexpr:
        return true;
      default:
        return false;
    }
  }

  void parse_params_and_hash(std::vector<ExprPtr>& params, std::unique_ptr<ast::Hash>& hash) {
    while (starts_param() && !at_hash_segment()) params.push_back(parse_param());
    while (at_hash_segment()) {
      if (!hash) hash = std::make_unique<ast::Hash>();
      std::string key = id_of(take().text);
      expect(TokenType::equals);
      hash->pairs.emplace_back(std::move(key), parse_param());
    }
  }

  Stmt parse_mustache() {
    Stmt stmt;
    stmt.loc = current_.start;
    const LexToken open = take();
    stmt.path = parse_helper_name();
    parse_params_and_hash(stmt.params, stmt.hash);
    const LexToken close =
        expect(open.type == TokenType::open_unescaped ? TokenType::close_unescaped : TokenType::close);
    const char escape_flag = open.text.size() > 3 ? open.text[3] : (open.text.size() > 2 ? open.text[2] : '\0');
    stmt.escaped = escape_flag != '{' && escape_flag != '&';
    stmt.kind = open.text.find('*') != std::string::npos ? StmtKind::decorator : StmtKind::mustache;
    stmt.strip = strip_flags(open.text, close.text);
    return stmt;
  }

  struct OpenBlock {
    ast::Position loc;
    std::string open;
    ExprPtr path;
    std::vector<ExprPtr> params;
    std::unique_ptr<ast::Hash> hash;
    std::vector<std::string> block_params;
    bool has_block_params = false;
    ast::Strip strip;
  };

  OpenBlock parse_open_block(TokenType open_type, bool allow_block_params) {
    OpenBlock block;
    block.loc = current_.start;
    block.open = expect(open_type).text;
    block.path = parse_helper_name();
    parse_params_and_hash(block.params, block.hash);
    if (allow_block_params && is(TokenType::open_block_params)) {
      take();
      block.has_block_params = true;
      do {
        block.block_params.push_back(id_of(expect(TokenType::id).text));
      } while (is(TokenType::id));
      expect(TokenType::close_block_params);
    }
    block.strip = strip_flags(block.open, expect(TokenType::close).text);
    return block;
  }

  struct Close {
    std::string original;
    ast::Strip strip;
  };
  Close parse_close() {
    const std::string open = expect(TokenType::open_endblock).text;
    ExprPtr name = parse_helper_name();
    const std::string close = expect(TokenType::close).text;
    return {name->original, strip_flags(open, close)};
  }

  struct InverseAndProgram {
    ast::Strip strip;
    std::unique_ptr<Program> program;
    bool chain = false;
  };

  InverseAndProgram parse_inverse_chain() {
    DepthGuard guard(*this);
    if (is(TokenType::inverse)) {
      const std::string text = take().text;
      InverseAndProgram result;
      result.strip = strip_flags(text, text);
      result.program = std::make_unique<Program>(parse_program());
      return result;
    }
    // openInverseChain program inverseChain?
    OpenBlock open = parse_open_block(TokenType::open_inverse_chain, true);
    Program program = parse_program();
    std::optional<InverseAndProgram> rest;
    if (is(TokenType::inverse) || is(TokenType::open_inverse_chain)) rest = parse_inverse_chain();
    InverseAndProgram result;
    result.strip = open.strip;
    const ast::Position loc = open.loc;
    Stmt inner = prepare_block(std::move(open), std::move(program), rest ? &*rest : nullptr, nullptr, false);
    inner.loc = loc;
    if (rest) {
      inner.close_strip = rest->strip;
      inner.has_close_strip = true;
    }
    result.program = std::make_unique<Program>();
    result.program->body.push_back(std::move(inner));
    result.program->chained = true;
    result.chain = true;
    return result;
  }

  Stmt prepare_block(OpenBlock open, Program program, InverseAndProgram* inverse_and_program, const Close* close,
                     bool inverted) {
    if (close && open.path->original != close->original) {
      throw SyntaxError(open.path->original + " doesn't match " + close->original, open.loc);
    }
    const bool decorator = open.open.find('*') != std::string::npos;
    Stmt stmt;
    stmt.kind = decorator ? StmtKind::decorator_block : StmtKind::block;
    stmt.loc = open.loc;
    stmt.path = std::move(open.path);
    stmt.params = std::move(open.params);
    stmt.hash = std::move(open.hash);
    program.block_params = std::move(open.block_params);
    program.has_block_params = open.has_block_params;
    auto main = std::make_unique<Program>(std::move(program));
    std::unique_ptr<Program> inverse;
    if (inverse_and_program) {
      if (decorator) throw SyntaxError("Unexpected inverse block on decorator", stmt.loc);
      if (inverse_and_program->chain && close) {
        inverse_and_program->program->body[0].close_strip = close->strip;
        inverse_and_program->program->body[0].has_close_strip = true;
      }
      stmt.inverse_strip = inverse_and_program->strip;
      inverse = std::move(inverse_and_program->program);
    }
    if (inverted) std::swap(main, inverse);
    stmt.program = std::move(main);
    stmt.inverse = std::move(inverse);
    stmt.open_strip = open.strip;
    if (close) {
      stmt.close_strip = close->strip;
      stmt.has_close_strip = true;
    }
    return stmt;
  }

  Stmt parse_block() {
    DepthGuard guard(*this);
    const bool inverted = is(TokenType::open_inverse);
    OpenBlock open = parse_open_block(inverted ? TokenType::open_inverse : TokenType::open_block, true);
    Program program = parse_program();
    std::optional<InverseAndProgram> inverse;
    if (inverted) {
      if (is(TokenType::inverse)) inverse = parse_inverse_chain();
    } else if (is(TokenType::inverse) || is(TokenType::open_inverse_chain)) {
      inverse = parse_inverse_chain();
    }
    const Close close = parse_close();
    return prepare_block(std::move(open), std::move(program), inverse ? &*inverse : nullptr, &close, inverted);
  }

  Stmt parse_raw_block() {
    OpenBlock open;
    open.loc = current_.start;
    open.open = expect(TokenType::open_raw_block).text;
    open.path = parse_helper_name();
    parse_params_and_hash(open.params, open.hash);
    expect(TokenType::close_raw_block);
    Program program;
    do {
      Stmt content;
      content.kind = StmtKind::content;
      content.loc = current_.start;
      content.original = content.value = expect(TokenType::content).text;
      program.body.push_back(std::move(content));
    } while (is(TokenType::content));
    const std::string close = expect(TokenType::end_raw_block).text;
    if (open.path->original != close) throw SyntaxError(open.path->original + " doesn't match " + close, open.loc);
    Stmt stmt;
    stmt.kind = StmtKind::block;
    stmt.loc = open.loc;
    stmt.path = std::move(open.path);
    stmt.params = std::move(open.params);
    stmt.hash = std::move(open.hash);
    stmt.program = std::make_unique<Program>(std::move(program));
    stmt.has_close_strip = true;
    return stmt;
  }

  ExprPtr parse_partial_name() {
    if (is(TokenType::open_sexpr)) return parse_sexpr();
    return parse_helper_name();
  }

  Stmt parse_partial() {
    Stmt stmt;
    stmt.kind = StmtKind::partial;
    stmt.loc = current_.start;
    const std::string open = take().text;
    stmt.path = parse_partial_name();
    parse_params_and_hash(stmt.params, stmt.hash);
    stmt.strip = strip_flags(open, expect(TokenType::close).text);
    return stmt;
  }

  Stmt parse_partial_block() {
    DepthGuard guard(*this);
    Stmt stmt;
    stmt.kind = StmtKind::partial_block;
    stmt.loc = current_.start;
    const std::string open = take().text;
    stmt.path = parse_partial_name();
    parse_params_and_hash(stmt.params, stmt.hash);
    stmt.open_strip = strip_flags(open, expect(TokenType::close).text);
    stmt.program = std::make_unique<Program>(parse_program());
    const Close close = parse_close();
    if (stmt.path->original != close.original) {
      throw SyntaxError(stmt.path->original + " doesn't match " + close.original, stmt.loc);
    }
    stmt.close_strip = close.strip;
    stmt.has_close_strip = true;
    return stmt;
  }

  Lexer lexer_;
  LexToken current_;
  int depth_ = 0;
};

// ---- WhitespaceControl (handlebars.js compiler/whitespace-control.js) ----

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// /\r?\n\s*?$/ : the trailing whitespace contains a newline. `or_all_space` adds /(^|…)/: or it is all space.
bool ends_with_newline_space(const std::string& s, bool or_all_space) {
  std::size_t i = s.size();
  while (i > 0 && is_ws(s[i - 1])) {
    if (s[i - 1] == '\n') return true;
    --i;
  }
  return or_all_space && i == 0;
}
bool starts_with_space_newline(const std::string& s, bool or_all_space) {
  std::size_t i = 0;
  while (i < s.size() && is_ws(s[i])) {
    if (s[i] == '\n') return true;
    ++i;
  }
  return or_all_space && i == s.size();
}

struct StripResult {
  bool present = false;
  bool open = false, close = false;
  bool open_standalone = false, close_standalone = false, inline_standalone = false;
};

class WhitespaceControl {
 public:
  explicit WhitespaceControl(bool ignore_standalone) : do_standalone_(!ignore_standalone) {}

  void program(Program& program) {
    const bool is_root = !root_seen_;
    root_seen_ = true;
    auto& body = program.body;
    for (std::size_t i = 0; i < body.size(); ++i) {
      Stmt& current = body[i];
      const StripResult strip = accept(current);
      if (!strip.present) continue;
      const bool prev_ws = is_prev_whitespace(body, i, is_root);
      const bool next_ws = is_next_whitespace(body, static_cast<long>(i), is_root);
      const bool open_standalone = strip.open_standalone && prev_ws;
      const bool close_standalone = strip.close_standalone && next_ws;
      const bool inline_standalone = strip.inline_standalone && prev_ws && next_ws;
      if (strip.close) omit_right(body, static_cast<long>(i), true);
      if (strip.open) omit_left(body, static_cast<long>(i), true);
      if (do_standalone_ && inline_standalone) {
        omit_right(body, static_cast<long>(i), false);
        if (omit_left(body, static_cast<long>(i), false) && current.kind == StmtKind::partial) {
          const std::string& before = body[i - 1].original;
          std::size_t start = before.size();
          while (start > 0 && (before[start - 1] == ' ' || before[start - 1] == '\t')) --start;
          current.indent = before.substr(start);
        }
      }
      if (do_standalone_ && open_standalone) {
        Program& inner = current.program ? *current.program : *current.inverse;
        omit_right(inner.body, -1, false);
        omit_left(body, static_cast<long>(i), false);
      }
      if (do_standalone_ && close_standalone) {
        omit_right(body, static_cast<long>(i), false);
        Program& inner = current.inverse ? *current.inverse : *current.program;
        omit_left(inner.body, static_cast<long>(inner.body.size()), false);
      }
    }
  }

 private:
  StripResult accept(Stmt& stmt) {
    StripResult result;
    switch (stmt.kind) {
      case StmtKind::content:
        return result;
      case StmtKind::mustache:
      case StmtKind::decorator:
        result.present = true;
        result.open = stmt.strip.open;
        result.close = stmt.strip.close;
        return result;
      case StmtKind::partial:
      case StmtKind::comment:
        result.present = true;
        result.inline_standalone = true;
        result.open = stmt.strip.open;
        result.close = stmt.strip.close;
        return result;
      case StmtKind::block:
      case StmtKind::decorator_block:
      case StmtKind::partial_block:
        return block(stmt);
    }
    return result;
  }

  StripResult block(Stmt& block) {
    if (block.program) program(*block.program);
    if (block.inverse) program(*block.inverse);
    Program& main = block.program ? *block.program : *block.inverse;
    Program* inverse = block.program && block.inverse ? block.inverse.get() : nullptr;
    Program* first_inverse = inverse;
    Program* last_inverse = inverse;
    if (inverse && inverse->chained) {
      first_inverse = inverse->body[0].program.get();
      while (last_inverse->chained) last_inverse = last_inverse->body.back().program.get();
    }
    StripResult strip;
    strip.present = true;
    strip.open = block.open_strip.open;
    strip.close = block.close_strip.close;
    strip.open_standalone = is_next_whitespace(main.body, -1, false);
    Program& close_side = first_inverse ? *first_inverse : main;
    strip.close_standalone = is_prev_whitespace(close_side.body, close_side.body.size(), false);
    if (block.open_strip.close) omit_right(main.body, -1, true);
    if (inverse) {
      if (block.inverse_strip.open) omit_left(main.body, static_cast<long>(main.body.size()), true);
      if (block.inverse_strip.close) omit_right(first_inverse->body, -1, true);
      if (block.close_strip.open) omit_left(last_inverse->body, static_cast<long>(last_inverse->body.size()), true);
      if (do_standalone_ && is_prev_whitespace(main.body, main.body.size(), false) &&
          is_next_whitespace(first_inverse->body, -1, false)) {
        omit_left(main.body, static_cast<long>(main.body.size()), false);
        omit_right(first_inverse->body, -1, false);
      }
    } else if (block.close_strip.open) {
      omit_left(main.body, static_cast<long>(main.body.size()), true);
    }
    return strip;
  }

  static bool is_prev_whitespace(const std::vector<Stmt>& body, std::size_t i, bool is_root) {
    if (i == 0) return is_root;
    const Stmt& prev = body[i - 1];
    const bool sibling = i >= 2;
    if (prev.kind != StmtKind::content) return false;
    return ends_with_newline_space(prev.original, !(sibling || !is_root));
  }
  static bool is_next_whitespace(const std::vector<Stmt>& body, long i, bool is_root) {
    const auto next_index = static_cast<std::size_t>(i + 1);
    if (next_index >= body.size()) return is_root;
    const Stmt& next = body[next_index];
    const bool sibling = next_index + 1 < body.size();
    if (next.kind != StmtKind::content) return false;
    return starts_with_space_newline(next.original, !(sibling || !is_root));
  }

  // i == -1 means "the first child".
  static void omit_right(std::vector<Stmt>& body, long i, bool multiple) {
    const auto index = static_cast<std::size_t>(i + 1);
    if (index >= body.size()) return;
    Stmt& current = body[index];
    if (current.kind != StmtKind::content || (!multiple && current.right_stripped)) return;
    const std::size_t before = current.value.size();
    std::size_t cut = 0;
    if (multiple) {
      while (cut < current.value.size() && is_ws(current.value[cut])) ++cut;
    } else {
      while (cut < current.value.size() && (current.value[cut] == ' ' || current.value[cut] == '\t')) ++cut;
      if (cut < current.value.size() && current.value[cut] == '\r' && cut + 1 < current.value.size() &&
          current.value[cut + 1] == '\n') {
        cut += 2;
      } else if (cut < current.value.size() && current.value[cut] == '\n') {
        ++cut;
      }
    }
    current.value.erase(0, cut);
    current.right_stripped = current.value.size() != before;
  }

  // i == body.size() means "the last child".
  static bool omit_left(std::vector<Stmt>& body, long i, bool multiple) {
    if (i < 1 || static_cast<std::size_t>(i - 1) >= body.size()) return false;
    Stmt& current = body[static_cast<std::size_t>(i - 1)];
    if (current.kind != StmtKind::content || (!multiple && current.left_stripped)) return false;
    const std::size_t before = current.value.size();
    std::size_t keep = current.value.size();
    if (multiple) {
      while (keep > 0 && is_ws(current.value[keep - 1])) --keep;
    } else {
      while (keep > 0 && (current.value[keep - 1] == ' ' || current.value[keep - 1] == '\t')) --keep;
    }
    current.value.resize(keep);
    current.left_stripped = current.value.size() != before;
    return current.left_stripped;
  }

  bool do_standalone_;
  bool root_seen_ = false;
};

// Compile-time checks handlebars.js makes in its compiler rather than its parser.
void check_program(const Program& program, const CompileOptions& options);
// With knownHelpersOnly, a call with arguments must name a built-in helper.
void check_known_helper(const Expr& callee, ast::Position loc, const CompileOptions& options) {
  if (options.known_helpers_only && callee.kind == ExprKind::path && callee.builtin == ast::Builtin::none) {
    throw SyntaxError("You specified knownHelpersOnly, but used the unknown helper " + callee.original, loc);
  }
}
void check_expr(const Expr& expr, const CompileOptions& options) {
  if (expr.kind != ExprKind::sub) return;
  check_known_helper(*expr.callee, expr.loc, options);
  for (const auto& param : expr.params) check_expr(*param, options);
  if (expr.hash) {
    for (const auto& [key, value] : expr.hash->pairs) check_expr(*value, options);
  }
}
void check_program(const Program& program, const CompileOptions& options) {
  for (const Stmt& stmt : program.body) {
    if ((stmt.kind == StmtKind::partial || stmt.kind == StmtKind::partial_block) && stmt.params.size() > 1) {
      throw SyntaxError(fmt::format("Unsupported number of partial arguments: {}", stmt.params.size()), stmt.loc);
    }
    if ((stmt.kind == StmtKind::mustache || stmt.kind == StmtKind::block) && (!stmt.params.empty() || stmt.hash)) {
      check_known_helper(*stmt.path, stmt.loc, options);
    }
    for (const auto& param : stmt.params) check_expr(*param, options);
    if (stmt.hash) {
      for (const auto& [key, value] : stmt.hash->pairs) check_expr(*value, options);
    }
    if (stmt.path) check_expr(*stmt.path, options);
    if (stmt.program) check_program(*stmt.program, options);
    if (stmt.inverse) check_program(*stmt.inverse, options);
  }
}

}  // namespace

ast::Program parse(std::string_view source, const CompileOptions& options) {
  Parser parser(source);
  ast::Program program = parser.parse_root();
  WhitespaceControl(options.ignore_standalone).program(program);
  check_program(program, options);
  return program;
}

// ---- PrintVisitor (handlebars.js compiler/printer.js), padding quirks included ----

namespace {

class Printer {
 public:
  std::string program(const Program& program) {
    std::string out;
    if (program.has_block_params) {
      std::string params = "BLOCK PARAMS: [";
      for (const auto& name : program.block_params) params += " " + name;
      params += " ]";
      out += pad(params);
    }
    for (const Stmt& stmt : program.body) out += statement(stmt);
    --padding_;
    return out;
  }

 private:
  std::string pad(const std::string& text) const {
    std::string out;
    for (int i = 0; i < padding_; ++i) out += "  ";
    return out + text + "\n";
  }

  std::string statement(const Stmt& stmt) {
    switch (stmt.kind) {
      case StmtKind::content:
        return pad("CONTENT[ '" + stmt.value + "' ]");
      case StmtKind::comment:
        return pad("{{! '" + stmt.value + "' }}");
      case StmtKind::mustache:
        return pad("{{ " + call(*stmt.path, stmt.params, stmt.hash.get()) + " }}");
      case StmtKind::decorator:
        return pad("{{ DIRECTIVE " + call(*stmt.path, stmt.params, stmt.hash.get()) + " }}");
      case StmtKind::block:
      case StmtKind::decorator_block: {
        std::string out = pad(std::string(stmt.kind == StmtKind::decorator_block ? "DIRECTIVE " : "") + "BLOCK:");
        ++padding_;
        out += pad(call(*stmt.path, stmt.params, stmt.hash.get()));
        if (stmt.program) {
          out += pad("PROGRAM:");
          ++padding_;
          out += program(*stmt.program);
          --padding_;
        }
        if (stmt.inverse) {
          if (stmt.program) ++padding_;
          out += pad("{{^}}");
          ++padding_;
          out += program(*stmt.inverse);
          --padding_;
          if (stmt.program) --padding_;
        }
        --padding_;
        return out;
      }
      case StmtKind::partial:
      case StmtKind::partial_block: {
        const bool block = stmt.kind == StmtKind::partial_block;
        std::string content = std::string(block ? "PARTIAL BLOCK:" : "PARTIAL:") + partial_name(*stmt.path);
        if (!stmt.params.empty()) content += " " + expr(*stmt.params[0]);
        if (stmt.hash) content += " " + hash(*stmt.hash);
        if (block) {
          content += " " + pad("PROGRAM:");
          ++padding_;
          content += program(*stmt.program);
          --padding_;
        }
        return pad("{{> " + content + " }}");
      }
    }
    return {};
  }

  static std::string partial_name(const Expr& name) {
    if (name.kind == ExprKind::string) return std::string(name.literal.as_string());
    return name.original;
  }

  std::string call(const Expr& path, const std::vector<ExprPtr>& params, const ast::Hash* h) {
    std::string out = expr(path) + " [";
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (i) out += ", ";
      out += expr(*params[i]);
    }
    out += "]";
    if (h) {
      out += ' ';
      out += hash(*h);
    }
    return out;
  }

  std::string hash(const ast::Hash& h) {
    std::string out = "HASH{";
    for (std::size_t i = 0; i < h.pairs.size(); ++i) {
      if (i) out += ", ";
      out += h.pairs[i].first;
      out += '=';
      out += expr(*h.pairs[i].second);
    }
    return out + "}";
  }

  std::string expr(const Expr& e) {
    switch (e.kind) {
      case ExprKind::path: {
        std::string path;
        for (std::size_t i = 0; i < e.parts.size(); ++i) {
          if (i) path += '/';
          path += e.parts[i];
        }
        return std::string(e.data ? "@" : "") + "PATH:" + path;
      }
      case ExprKind::sub:
        return call(*e.callee, e.params, e.hash.get());
      case ExprKind::string:
        return "\"" + std::string(e.literal.as_string()) + "\"";
      case ExprKind::number: {
        std::string text;
        append_js_string(text, e.literal);
        return "NUMBER{" + text + "}";
      }
      case ExprKind::boolean:
        return std::string("BOOLEAN{") + (e.literal.as_bool() ? "true" : "false") + "}";
      case ExprKind::undefined:
        return "UNDEFINED";
      case ExprKind::null:
        return "NULL";
    }
    return {};
  }

  int padding_ = 0;
};

}  // namespace

std::string print(const ast::Program& program) { return Printer().program(program); }

}  // namespace postroom::templates
