#pragma once
// A Handlebars engine with handlebars.js 4.x semantics: tokenizer, parser to a positioned AST, and a renderer
// over Boost.JSON data. No user code runs: the helpers are the built-in ones (if, unless, each, with, lookup,
// log) and partials are other templates. Depth and output size are capped.
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "templates/ast.h"

namespace postroom::templates {

// A template that cannot be compiled (syntax error, invalid path). `what()` reads like handlebars.js's message.
struct SyntaxError : std::runtime_error {
  SyntaxError(std::string reason, ast::Position where);
  std::string reason;  // short, without the position
  int line;            // 1-based
  int column;          // 1-based
};

// A failure while rendering: missing partial or helper, strict-mode miss, limits exceeded.
struct RenderError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CompileOptions {
  bool strict = false;          // a missing variable is an error instead of an empty string
  bool assume_objects = false;  // looking into a missing object is an error
  bool compat = false;          // mustache-style recursive lookup up the context stack
  bool known_helpers_only = false;
  bool ignore_standalone = false;
  bool explicit_partial_context = false;
  bool prevent_indent = false;
};

struct Token {
  std::string name;  // handlebars.js token names: OPEN, ID, CONTENT, …
  std::string text;
  ast::Position start;
};

// The token stream, up to (not including) the first invalid input.
std::vector<Token> tokenize(std::string_view source);

// Parses and applies whitespace control; throws SyntaxError.
ast::Program parse(std::string_view source, const CompileOptions& options = {});

// The tree printed as handlebars.js's PrintVisitor does (used by the conformance tests).
std::string print(const ast::Program& program);

class Template;
using TemplatePtr = std::shared_ptr<const Template>;

// Finds a partial by name; null when there is none.
using PartialLookup = std::function<const Template*(std::string_view name)>;

struct RenderOptions {
  PartialLookup partials;
  const boost::json::object* data = nullptr;  // extra @data variables
  std::size_t max_output_bytes = 8 * 1024 * 1024;
  int max_depth = 64;  // nested blocks and partials together
  // Statements and block iterations executed: loops over loops that print nothing still end.
  std::uint64_t max_steps = 50'000'000;
};

class Template {
 public:
  // Throws SyntaxError.
  static TemplatePtr compile(std::string_view source, const CompileOptions& options = {});

  std::string render(const boost::json::value& context, const RenderOptions& options = {}) const;
  // Appends to `out`; on an error `out` is restored to its length on entry (never half-renders).
  void render_to(std::string& out, const boost::json::value& context, const RenderOptions& options = {}) const;

  // Every variable the template reads, as dotted paths from the root context; items of an `each` show as
  // `list.[].field`. Helpers, @data and block parameters are not variables.
  std::vector<std::string> variables() const;
  // The names of the partials the template calls by a static name.
  std::vector<std::string> partial_names() const;
  // The variables() that `data` does not provide ("Test Data": what a send would render as empty). A `[]`
  // segment must hold in every element of the array; an empty array provides everything below it.
  std::vector<std::string> missing_variables(const boost::json::value& data) const;

  const ast::Program& program() const { return program_; }
  const CompileOptions& options() const { return options_; }

 private:
  Template(ast::Program program, CompileOptions options) : program_(std::move(program)), options_(options) {}
  ast::Program program_;
  CompileOptions options_;
};

// handlebars.js's escapeExpression: & < > " ' ` =.
void append_escaped(std::string& out, std::string_view text);
// A JSON value as JavaScript's String() would show it.
void append_js_string(std::string& out, const boost::json::value& value);

}  // namespace postroom::templates
