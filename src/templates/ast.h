#pragma once
// The Handlebars syntax tree, shaped like handlebars.js's AST so its semantics carry over one to one.
#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace postroom::templates::ast {

struct Position {
  int line = 1;    // 1-based
  int column = 0;  // 0-based, as handlebars.js reports it
};

struct Hash;
struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind { path, sub, string, number, boolean, undefined, null };

// The built-in helper a simple path names (resolved once at parse time).
enum class Builtin : unsigned char { none, if_, unless, each, with, lookup, log, helper_missing, block_helper_missing };

struct Expr {
  ExprKind kind = ExprKind::path;
  Position loc;
  // path: `parts` holds the lookup segments with `this`/`.`/`..` removed; `depth` counts the `..`.
  bool data = false;
  bool scoped = false;  // starts with `.` or `this`: never a helper or block parameter
  int depth = 0;
  std::vector<std::string> parts;
  std::string original;
  Builtin builtin = Builtin::none;
  // literals: the value as handlebars.js would hold it (undefined is a null `literal` with kind undefined)
  boost::json::value literal;
  // sub: path(params… hash)
  ExprPtr callee;
  std::vector<ExprPtr> params;
  std::unique_ptr<Hash> hash;
};

struct Hash {
  std::vector<std::pair<std::string, ExprPtr>> pairs;
};

struct Strip {
  bool open = false;
  bool close = false;
};

enum class StmtKind { content, comment, mustache, decorator, block, decorator_block, partial, partial_block };

struct Program;

struct Stmt {
  StmtKind kind = StmtKind::content;
  Position loc;
  // content / comment
  std::string original;
  std::string value;
  bool left_stripped = false;
  bool right_stripped = false;
  // mustache / block / partial: the callee (or partial name), its params and hash
  ExprPtr path;
  std::vector<ExprPtr> params;
  std::unique_ptr<Hash> hash;
  bool escaped = true;
  Strip strip;  // mustache, comment, partial
  Strip open_strip, inverse_strip, close_strip;
  bool has_close_strip = false;
  std::unique_ptr<Program> program;
  std::unique_ptr<Program> inverse;
  std::string indent;  // standalone partials
};

struct Program {
  std::vector<Stmt> body;
  std::vector<std::string> block_params;
  bool has_block_params = false;
  bool chained = false;
  bool has_inline_partials = false;  // a `{{#*inline}}` sits directly in this body
};

}  // namespace postroom::templates::ast
