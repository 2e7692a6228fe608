// The renderer: interprets the AST with handlebars.js 4.x runtime semantics (lookups, the context stack for
// `../`, @data frames, block parameters, the built-in helpers, partials, partial blocks and inline partials).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <forward_list>
#include <map>

#include "templates/handlebars.h"

namespace postroom::templates {

namespace json = boost::json;
using ast::Expr;
using ast::ExprKind;
using ast::Program;
using ast::Stmt;
using ast::StmtKind;

// ---- JavaScript value conversions ----

namespace {

void append_js_number(std::string& out, double number) {
  if (std::isnan(number)) {
    out += "NaN";
    return;
  }
  if (std::isinf(number)) {
    out += number < 0 ? "-Infinity" : "Infinity";
    return;
  }
  if (number == 0) {
    out += '0';
    return;
  }
  if (std::floor(number) == number && std::fabs(number) < 1e21) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.0f", number);
    out += buffer;
    return;
  }
  // Shortest round-trip digits, laid out as Number.prototype.toString does.
  char buffer[40];
  int precision = 1;
  for (; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*e", precision - 1, number);
    if (std::strtod(buffer, nullptr) == number) break;
  }
  std::string text = buffer;
  const bool negative = text[0] == '-';
  if (negative) text.erase(0, 1);
  const std::size_t e = text.find('e');
  const int exponent = std::atoi(text.c_str() + e + 1);
  std::string digits;
  for (std::size_t i = 0; i < e; ++i) {
    if (text[i] != '.') digits += text[i];
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  if (negative) out += '-';
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n)) + "." + digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{}", n - 1 >= 0 ? "+" : "-", std::abs(n - 1));
  }
}

bool truthy(const json::value* value) {
  if (!value) return false;
  switch (value->kind()) {
    case json::kind::null:
      return false;
    case json::kind::bool_:
      return value->get_bool();
    case json::kind::int64:
      return value->get_int64() != 0;
    case json::kind::uint64:
      return value->get_uint64() != 0;
    case json::kind::double_:
      return value->get_double() != 0 && !std::isnan(value->get_double());
    case json::kind::string:
      return !value->get_string().empty();
    default:
      return true;
  }
}

// Utils.isEmpty
bool is_empty(const json::value* value) {
  if (!truthy(value)) {
    const bool zero = value && value->is_number() && value->to_number<double>() == 0;
    return !zero;
  }
  return value->is_array() && value->get_array().empty();
}

// JavaScript's `a != b` for the context-change test of handlebars.js's wrapProgram.
bool same_value(const json::value* a, const json::value* b) {
  if (a == b) return true;
  if (!a || !b) {
    const json::value* other = a ? a : b;
    return other->is_null();  // undefined == null
  }
  if (a->is_object() || a->is_array() || b->is_object() || b->is_array()) return false;
  if (a->is_string() && b->is_string()) return a->get_string() == b->get_string();
  if (a->is_number() && b->is_number()) return a->to_number<double>() == b->to_number<double>();
  if (a->is_bool() && b->is_bool()) return a->get_bool() == b->get_bool();
  return a->is_null() && b->is_null();
}

// A canonical array index ("0", "17"), which JavaScript enumerates first, in numeric order.
bool is_array_index(std::string_view key, std::uint32_t& index) {
  if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0')) return false;
  std::uint64_t value = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value >= 4294967295ULL) return false;
  index = static_cast<std::uint32_t>(value);
  return true;
}

}  // namespace

void append_escaped(std::string& out, std::string_view text) {
  // Most text needs no escaping: find the first character that does before doing any work per character.
  static constexpr auto special = [] {
    std::array<bool, 256> table{};
    for (const unsigned char c : {'&', '<', '>', '"', '\'', '`', '='}) table[c] = true;
    return table;
  }();
  std::size_t first = 0;
  while (first < text.size() && !special[static_cast<unsigned char>(text[first])]) ++first;
  if (first == text.size()) {
    out.append(text);
    return;
  }
  std::size_t start = 0;
  for (std::size_t i = first; i < text.size(); ++i) {
    const char* replacement = nullptr;
    switch (text[i]) {
      case '&':
        replacement = "&amp;";
        break;
      case '<':
        replacement = "&lt;";
        break;
      case '>':
        replacement = "&gt;";
        break;
      case '"':
        replacement = "&quot;";
        break;
      case '\'':
        replacement = "&#x27;";
        break;
      case '`':
        replacement = "&#x60;";
        break;
      case '=':
        replacement = "&#x3D;";
        break;
      default:
        continue;
    }
    out.append(text.data() + start, i - start);
    out += replacement;
    start = i + 1;
  }
  out.append(text.data() + start, text.size() - start);
}

void append_js_string(std::string& out, const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      return;
    case json::kind::int64:
    case json::kind::uint64: {
      char digits[24];
      const auto end = value.is_int64() ? std::to_chars(digits, digits + sizeof digits, value.get_int64()).ptr
                                        : std::to_chars(digits, digits + sizeof digits, value.get_uint64()).ptr;
      out.append(digits, end);
      return;
    }
    case json::kind::double_:
      append_js_number(out, value.get_double());
      return;
    case json::kind::string:
      out += value.get_string();
      return;
    case json::kind::array: {
      // Array.prototype.join(','): null and undefined elements are empty.
      bool first = true;
      for (const auto& element : value.get_array()) {
        if (!first) out += ',';
        first = false;
        if (!element.is_null()) append_js_string(out, element);
      }
      return;
    }
    case json::kind::object:
      out += "[object Object]";
      return;
  }
}

// ---- The interpreter ----

namespace {

struct Scope {
  const json::value* context;
  const Scope* parent;
};

struct BlockParams {
  const std::vector<std::string>* names;
  const json::value* values[2];
  const BlockParams* parent;
};

struct PartialScope;
struct DataFrame;

// Everything a program body sees: the context stack, block parameters and visible inline partials.
struct Env {
  const Scope* scope = nullptr;
  const BlockParams* block_params = nullptr;
  const PartialScope* partials = nullptr;
  const DataFrame* data = nullptr;
};

// The content of a `{{#> partial}}…{{/partial}}` call, rendered by `{{> @partial-block}}`.
struct PartialBlock {
  const Program* program;
  Env env;  // the caller's
  const PartialBlock* outer;
};

struct DataFrame {
  const DataFrame* parent = nullptr;
  const json::object* custom = nullptr;
  const json::value* root = nullptr;
  bool iteration = false;
  json::value index, key, first, last;
  bool has_partial_block = false;
  const PartialBlock* partial_block = nullptr;
};

// Inline partials declared in one program body, with the environment they close over.
struct PartialScope {
  const Program* program;
  Env env;
  const PartialScope* parent;
};

// handlebars.js calls helpers with `this` = the context, or this empty object when the context is null.
const json::value kNullContext = json::object();

// The built-in helper invoked by a call, with its block programs.
struct Call {
  const Expr* callee;  // path expression (literals are turned into paths)
  const std::vector<ast::ExprPtr>* params;
  const ast::Hash* hash;
  const Program* fn = nullptr;
  const Program* inverse = nullptr;
  ast::Position loc;
};

class Renderer {
 public:
  Renderer(const Template& root, std::string& out, const RenderOptions& options)
      : root_(root), options_(root.options()), render_options_(options), out_(out) {}

  void run(const json::value& context) {
    DataFrame top;
    if (render_options_.data) {
      top.custom = render_options_.data;
      const auto it = render_options_.data->find("root");
      top.root = it != render_options_.data->end() ? &it->value() : &context;
    } else {
      top.root = &context;
    }
    Env env;
    env.data = &top;
    render_program(root_.program(), &context, env, nullptr, nullptr);
  }

 private:
  // ---- programs and statements ----

  void render_program(const Program& program, const json::value* context, Env env, const json::value* bp0,
                      const json::value* bp1) {
    DepthGuard guard(*this);
    Scope scope{context, env.scope};
    if (!env.scope) {
      env.scope = &scope;
    } else if (context == &kNullContext && (!env.scope->context || env.scope->context->is_null())) {
      // handlebars.js keeps its depth stack when a helper passes its null context on: `this` becomes the
      // empty object while `../` still means the same parent.
      scope.parent = env.scope->parent;
      env.scope = &scope;
    } else if (!same_value(context, env.scope->context)) {
      env.scope = &scope;
    }
    BlockParams params{&program.block_params, {bp0, bp1}, env.block_params};
    if (program.has_block_params) env.block_params = &params;
    PartialScope inline_partials{&program, {}, env.partials};
    if (program.has_inline_partials) {
      env.partials = &inline_partials;
      inline_partials.env = env;
    }
    steps_ += program.body.size() + 1;
    if (steps_ > render_options_.max_steps) {
      throw RenderError(fmt::format("Rendering exceeds {} steps", render_options_.max_steps));
    }
    for (const Stmt& stmt : program.body) render_statement(stmt, env);
  }

  void render_statement(const Stmt& stmt, const Env& env) {
    switch (stmt.kind) {
      case StmtKind::content:
        append(stmt.value);
        return;
      case StmtKind::comment:
        return;
      case StmtKind::mustache:
        render_mustache(stmt, env);
        return;
      case StmtKind::block:
        render_block(stmt, env);
        return;
      case StmtKind::partial:
      case StmtKind::partial_block:
        render_partial(stmt, env);
        return;
      case StmtKind::decorator_block:
        if (is_inline_decorator(stmt)) return;  // registered when its program started
        throw RenderError(fmt::format("Missing decorator: \"{}\"", stmt.path->original));
      case StmtKind::decorator:
        throw RenderError(fmt::format("Missing decorator: \"{}\"", stmt.path->original));
    }
  }

  static bool is_inline_decorator(const Stmt& stmt) {
    return stmt.path->kind == ExprKind::path && stmt.path->parts.size() == 1 && stmt.path->parts[0] == "inline";
  }

  void append(std::string_view text) {
    out_.append(text);
    check_size();
  }
  void check_size() {
    if (out_.size() - start_size_ > render_options_.max_output_bytes) [[unlikely]]
      output_too_large();
  }
  [[noreturn, gnu::noinline]] void output_too_large() const {
    throw RenderError(fmt::format("Rendered output exceeds {} bytes", render_options_.max_output_bytes));
  }

  void append_value(const json::value* value, bool escaped) {
    if (!value || value->is_null()) return;
    if (value->is_string()) {
      if (escaped)
        append_escaped(out_, value->get_string());
      else
        out_.append(value->get_string());
    } else if (escaped && (value->is_array() || value->is_object())) {
      std::string text;
      append_js_string(text, *value);
      append_escaped(out_, text);
    } else {
      append_js_string(out_, *value);
    }
    check_size();
  }

  // ---- classification (handlebars.js compiler's classifySexpr) ----

  enum class Kind { helper, ambiguous, simple };

  static bool simple_id(const Expr& path) {
    return path.kind == ExprKind::path && path.parts.size() == 1 && !path.scoped && path.depth == 0 && !path.data;
  }

  // Literal callees (`{{"foo"}}`, `{{true}}`) behave as a path of that name.
  const Expr& callee_path(const Expr& callee) {
    if (callee.kind == ExprKind::path || callee.kind == ExprKind::sub) [[likely]]
      return callee;
    return literal_callee_path(callee);
  }
  [[gnu::noinline]] const Expr& literal_callee_path(const Expr& callee) {
    auto found = literal_paths_.find(&callee);
    if (found != literal_paths_.end()) return *found->second;
    auto path = std::make_unique<Expr>();
    path->kind = ExprKind::path;
    path->loc = callee.loc;
    std::string name;
    if (callee.kind == ExprKind::undefined)
      name = "undefined";
    else
      append_js_string(name, callee.literal);
    path->parts.push_back(name);
    path->original = name;
    const Expr& ref = *path;
    literal_paths_.emplace(&callee, std::move(path));
    return ref;
  }

  Kind classify(const Expr& path, bool has_args, const Env& env) {
    const bool simple = simple_id(path);
    const bool block_param = simple && find_block_param(env, path.parts[0]) != nullptr;
    if (block_param) return Kind::simple;
    if (has_args) return Kind::helper;
    if (simple) {
      if (path.builtin != ast::Builtin::none) return Kind::helper;
      if (options_.known_helpers_only) return Kind::simple;
      return Kind::ambiguous;
    }
    return Kind::simple;
  }

  const BlockParams* find_block_param(const Env& env, const std::string& name, int* index = nullptr) const {
    for (const BlockParams* frame = env.block_params; frame; frame = frame->parent) {
      for (std::size_t i = 0; i < frame->names->size() && i < 2; ++i) {
        if ((*frame->names)[i] == name) {
          if (index) *index = static_cast<int>(i);
          return frame;
        }
      }
      for (std::size_t i = 2; i < frame->names->size(); ++i) {
        if ((*frame->names)[i] == name) {
          if (index) *index = -1;  // a third block parameter is never given a value
          return frame;
        }
      }
    }
    return nullptr;
  }

  // ---- lookups ----

  static const json::value* helper_self(const Env& env) {
    const json::value* context = env.scope ? env.scope->context : nullptr;
    return context && !context->is_null() ? context : &kNullContext;
  }

  const json::value* store(json::value value) { return &arena_.emplace_front(std::move(value)); }

  [[noreturn]] void not_defined(const std::string& name, const json::value* object, ast::Position loc) {
    std::string shown = "undefined";
    if (object) {
      shown.clear();
      append_js_string(shown, *object);
    }
    throw RenderError(fmt::format("\"{}\" not defined in {} - {}:{}", name, shown, loc.line, loc.column));
  }

  // lookupProperty: own properties of objects, array elements and `length`, string `length`.
  const json::value* property(const json::value* parent, std::string_view name) {
    if (!parent) return nullptr;
    if (const json::object* object = parent->if_object()) {
      const auto it = object->find(name);
      return it == object->end() ? nullptr : &it->value();
    }
    if (const json::array* array = parent->if_array()) {
      if (name == "length") return store(static_cast<std::int64_t>(array->size()));
      std::uint32_t index = 0;
      if (is_array_index(name, index) && index < array->size()) return &(*array)[index];
      return nullptr;
    }
    if (const json::string* string = parent->if_string()) {
      if (name == "length") return store(static_cast<std::int64_t>(string->size()));
    }
    return nullptr;
  }

  bool has_property(const json::value* parent, std::string_view name) {
    if (!parent) return false;
    if (const json::object* object = parent->if_object()) return object->contains(name);
    return property(parent, name) != nullptr;
  }

  // Walks `parts[from…]`; `strict_terminal`: handlebars.js's strict lookup of a callee path.
  const json::value* resolve_parts(const json::value* value, const Expr& path, std::size_t from, bool strict_terminal) {
    const bool checked = options_.strict || options_.assume_objects;
    for (std::size_t i = from; i < path.parts.size(); ++i) {
      const bool last = i + 1 == path.parts.size();
      if (checked && (!value || value->is_null())) {
        throw RenderError(fmt::format("Cannot read property \"{}\" of {} - {}:{}", path.parts[i],
                                      value ? "null" : "undefined", path.loc.line, path.loc.column));
      }
      if (last && strict_terminal && options_.strict) {
        if (!truthy(value) || !has_property(value, path.parts[i])) not_defined(path.parts[i], value, path.loc);
      }
      if (!checked && (!value || value->is_null())) return nullptr;
      value = property(value, path.parts[i]);
    }
    return value;
  }

  const json::value* data_value(const DataFrame* frame, std::string_view name) {
    for (; frame; frame = frame->parent) {
      if (frame->iteration) {
        if (name == "index") return &frame->index;
        if (name == "key") return &frame->key;
        if (name == "first") return &frame->first;
        if (name == "last") return &frame->last;
      }
      if (name == "root" && frame->root) return frame->root;
      if (name == "partial-block" && frame->has_partial_block) {
        // A function in handlebars.js: all that can be observed of it here is that it is there.
        static const json::value present = true;
        return frame->partial_block ? &present : nullptr;
      }
      if (frame->custom) {
        const auto it = frame->custom->find(name);
        if (it != frame->custom->end()) return &it->value();
      }
    }
    return nullptr;
  }

  const json::value* resolve_path(const Expr& path, const Env& env, bool strict_terminal) {
    if (path.data) {
      const DataFrame* frame = env.data;
      for (int i = 0; i < path.depth && frame; ++i) frame = frame->parent;
      if (path.parts.empty()) return nullptr;
      const json::value* value = data_value(frame, path.parts[0]);
      if (strict_terminal && options_.strict && path.parts.size() == 1 && !value) {
        not_defined(path.parts[0], nullptr, path.loc);
      }
      if ((options_.strict || options_.assume_objects) && !value && path.parts.size() > 1) {
        throw RenderError(fmt::format("Cannot read property \"{}\" of undefined - {}:{}", path.parts[1], path.loc.line,
                                      path.loc.column));
      }
      return resolve_parts(value, path, 1, strict_terminal);
    }
    if (path.depth == 0 && !path.scoped && !path.parts.empty()) {
      int index = 0;
      if (const BlockParams* frame = find_block_param(env, path.parts[0], &index)) {
        return resolve_parts(index >= 0 ? frame->values[index] : nullptr, path, 1, strict_terminal);
      }
    }
    const Scope* scope = env.scope;
    for (int i = 0; i < path.depth && scope; ++i) scope = scope->parent;
    const json::value* context = scope ? scope->context : nullptr;
    if (path.parts.empty()) return context;
    if (options_.compat && !path.scoped && path.depth == 0) {
      // depthedLookup: the first context up the stack holding a non-null value.
      for (const Scope* s = scope; s; s = s->parent) {
        const json::value* found = property(s->context, path.parts[0]);
        if (found && !found->is_null()) return resolve_parts(found, path, 1, strict_terminal);
      }
      return resolve_parts(nullptr, path, 1, false);
    }
    return resolve_parts(context, path, 0, strict_terminal);
  }

  const json::value* evaluate(const Expr& expr, const Env& env) {
    switch (expr.kind) {
      case ExprKind::path:
        return resolve_path(expr, env, false);
      case ExprKind::sub: {
        const Expr& callee = callee_path(*expr.callee);
        Call call{&callee, &expr.params, expr.hash.get(), nullptr, nullptr, expr.loc};
        std::string text;
        const json::value* result = nullptr;
        if (invoke_helper(call, env, text, result)) return store(json::string(text));
        return result;
      }
      case ExprKind::undefined:
        return nullptr;
      default:
        return &expr.literal;
    }
  }

  const json::value* hash_value(const ast::Hash* hash, std::string_view key, const Env& env) {
    if (!hash) return nullptr;
    for (const auto& [name, value] : hash->pairs) {
      if (name == key) return evaluate(*value, env);
    }
    return nullptr;
  }

  // ---- helpers ----

  // Runs a built-in helper; returns true when it produced text in `text`, false when it produced `value`.
  // A callee that is not a built-in is handlebars.js's helperMissing: an error, since it was given arguments.
  bool invoke_helper(const Call& call, const Env& env, std::string& text, const json::value*& value) {
    const Expr& callee = *call.callee;
    const ast::Builtin helper = simple_id(callee) ? callee.builtin : ast::Builtin::none;
    if (helper == ast::Builtin::none) {
      // handlebars.js looks the callee up in the context first (strictly, in strict mode) and fails to call it.
      if (callee.kind == ExprKind::path) resolve_path(callee, env, true);
      throw RenderError(fmt::format("Missing helper: \"{}\" - {}:{}", callee.original, call.loc.line, call.loc.column));
    }
    std::vector<const json::value*> args;
    args.reserve(call.params->size());
    for (const auto& param : *call.params) args.push_back(evaluate(*param, env));
    const json::value* self = helper_self(env);
    const std::string& name = callee.parts[0];

    if (helper == ast::Builtin::if_ || helper == ast::Builtin::unless) {
      if (args.size() != 1) throw RenderError("#" + name + " requires exactly one argument");
      const bool include_zero = truthy(hash_value(call.hash, "includeZero", env));
      bool positive = !((!include_zero && !truthy(args[0])) || is_empty(args[0]));
      if (helper == ast::Builtin::unless) positive = !positive;
      text = render_to_string(positive ? call.fn : call.inverse, self, env, nullptr);
      return true;
    }
    if (helper == ast::Builtin::with) {
      if (args.size() != 1) throw RenderError("#with requires exactly one argument");
      if (!is_empty(args[0])) {
        text = render_to_string(call.fn, args[0], env, nullptr, args[0]);
      } else {
        text = render_to_string(call.inverse, self, env, nullptr);
      }
      return true;
    }
    if (helper == ast::Builtin::each) {
      if (args.empty()) throw RenderError("Must pass iterator to #each");
      text = each(args[0], call.fn, call.inverse, env, self);
      return true;
    }
    if (helper == ast::Builtin::lookup) {
      if (args.size() < 2) {
        value = nullptr;
        return false;
      }
      if (!truthy(args[0])) {
        value = args[0];
        return false;
      }
      std::string field;
      if (args[1])
        append_js_string(field, *args[1]);
      else
        field = "undefined";
      value = property(args[0], field);
      return false;
    }
    if (helper == ast::Builtin::log) {
      value = nullptr;
      return false;
    }
    if (helper == ast::Builtin::helper_missing) {
      if (!args.empty()) throw RenderError("Missing helper: \"helperMissing\"");
      value = nullptr;
      return false;
    }
    // blockHelperMissing called by name
    text = block_helper_missing(args.empty() ? nullptr : args[0], call.fn, call.inverse, env);
    return true;
  }

  std::string render_to_string(const Program* program, const json::value* context, const Env& env,
                               const DataFrame* data, const json::value* bp0 = nullptr,
                               const json::value* bp1 = nullptr) {
    if (!program) return {};
    const std::size_t mark = out_.size();
    Env inner = env;
    if (data) inner.data = data;
    render_program(*program, context, inner, bp0, bp1);
    std::string text = out_.substr(mark);
    out_.resize(mark);
    return text;
  }

  // Renders `program` straight into the output (the common path: no copy).
  void render_into(const Program* program, const json::value* context, const Env& env, const DataFrame* data,
                   const json::value* bp0 = nullptr, const json::value* bp1 = nullptr) {
    if (!program) return;
    Env inner = env;
    if (data) inner.data = data;
    render_program(*program, context, inner, bp0, bp1);
  }

  std::string each(const json::value* context, const Program* fn, const Program* inverse, const Env& env,
                   const json::value* self) {
    const std::size_t mark = out_.size();
    each_into(context, fn, inverse, env, self);
    std::string text = out_.substr(mark);
    out_.resize(mark);
    return text;
  }

  // `self` is the helper's `this`: what the inverse renders with when there is nothing to iterate.
  void each_into(const json::value* context, const Program* fn, const Program* inverse, const Env& env,
                 const json::value* self) {
    DataFrame frame;
    frame.parent = env.data;
    frame.iteration = true;
    std::size_t count = 0;
    // The frame's values are updated in place (no allocation per item, as handlebars.js reuses its frame).
    auto iterate = [&](const json::value& item, const json::key_value_pair* entry, std::size_t index, bool last) {
      if (entry)
        frame.key.emplace_string().assign(entry->key());
      else
        frame.key.emplace_int64() = static_cast<std::int64_t>(index);
      frame.index.emplace_int64() = static_cast<std::int64_t>(index);
      frame.first.emplace_bool() = index == 0;
      frame.last.emplace_bool() = last;
      render_into(fn, &item, env, &frame, &item, &frame.key);
      ++count;
    };
    if (context && context->is_array()) {
      const json::array& array = context->get_array();
      for (std::size_t i = 0; i < array.size(); ++i) {
        iterate(array[i], nullptr, i, i + 1 == array.size());
      }
    } else if (context && context->is_object()) {
      const json::object& object = context->get_object();
      // Object.keys order: array-index keys ascending, then the others in insertion order.
      std::vector<const json::key_value_pair*> order;
      order.reserve(object.size());
      bool any_index = false;
      for (const auto& entry : object) {
        std::uint32_t index = 0;
        any_index = any_index || is_array_index(entry.key(), index);
        order.push_back(&entry);
      }
      if (any_index) {
        std::stable_sort(order.begin(), order.end(), [](const json::key_value_pair* a, const json::key_value_pair* b) {
          std::uint32_t ia = 0, ib = 0;
          const bool a_index = is_array_index(a->key(), ia), b_index = is_array_index(b->key(), ib);
          if (a_index != b_index) return a_index;
          return a_index && ia < ib;
        });
      }
      for (std::size_t i = 0; i < order.size(); ++i) {
        iterate(order[i]->value(), order[i], i, i + 1 == order.size());
      }
    }
    if (count == 0) render_into(inverse, self, env, nullptr);
  }

  std::string block_helper_missing(const json::value* context, const Program* fn, const Program* inverse,
                                   const Env& env) {
    const std::size_t mark = out_.size();
    block_helper_missing_into(context, fn, inverse, env);
    std::string text = out_.substr(mark);
    out_.resize(mark);
    return text;
  }

  void block_helper_missing_into(const json::value* context, const Program* fn, const Program* inverse,
                                 const Env& env) {
    const json::value* self = env.scope ? env.scope->context : nullptr;
    if (context && context->is_bool() && context->get_bool()) {
      render_into(fn, self, env, nullptr);
    } else if (!context || context->is_null() || (context->is_bool() && !context->get_bool())) {
      render_into(inverse, self, env, nullptr);
    } else if (context->is_array()) {
      if (!context->get_array().empty())
        each_into(context, fn, inverse, env, self);
      else
        render_into(inverse, self, env, nullptr);
    } else {
      render_into(fn, context, env, nullptr);
    }
  }

  // ---- mustaches and blocks ----

  void render_mustache(const Stmt& stmt, const Env& env) {
    const Expr& path = callee_path(*stmt.path);
    const bool has_args = !stmt.params.empty() || stmt.hash;
    switch (classify(path, has_args, env)) {
      case Kind::helper: {
        Call call{&path, &stmt.params, stmt.hash.get(), nullptr, nullptr, stmt.loc};
        std::string text;
        const json::value* value = nullptr;
        if (invoke_helper(call, env, text, value)) {
          if (stmt.escaped)
            append_escaped(out_, text);
          else
            out_ += text;
          check_size();
        } else {
          append_value(value, stmt.escaped);
        }
        return;
      }
      case Kind::ambiguous:
      case Kind::simple:
        append_value(resolve_path(path, env, true), stmt.escaped);
        return;
    }
  }

  void render_block(const Stmt& stmt, const Env& env) {
    const Expr& path = callee_path(*stmt.path);
    const bool has_args = !stmt.params.empty() || stmt.hash;
    const Kind kind = classify(path, has_args, env);
    if (kind == Kind::helper) {
      const ast::Builtin helper = simple_id(path) ? path.builtin : ast::Builtin::none;
      Call call{&path, &stmt.params, stmt.hash.get(), stmt.program.get(), stmt.inverse.get(), stmt.loc};
      // The common built-ins render straight into the output.
      if ((helper == ast::Builtin::each || helper == ast::Builtin::if_ || helper == ast::Builtin::unless ||
           helper == ast::Builtin::with) &&
          !stmt.hash) {
        render_builtin_block(helper, call, env);
        return;
      }
      std::string text;
      const json::value* value = nullptr;
      if (invoke_helper(call, env, text, value)) {
        append(text);
      } else {
        append_value(value, false);
      }
      return;
    }
    const json::value* value = resolve_path(path, env, true);
    block_helper_missing_into(value, stmt.program.get(), stmt.inverse.get(), env);
    check_size();
  }

  void render_builtin_block(ast::Builtin helper, const Call& call, const Env& env) {
    if (call.params->size() != 1) {
      if (helper == ast::Builtin::each) throw RenderError("Must pass iterator to #each");
      throw RenderError("#" + call.callee->parts[0] + " requires exactly one argument");
    }
    const json::value* arg = evaluate(*(*call.params)[0], env);
    const json::value* self = helper_self(env);
    if (helper == ast::Builtin::each) {
      each_into(arg, call.fn, call.inverse, env, self);
    } else if (helper == ast::Builtin::with) {
      if (!is_empty(arg))
        render_into(call.fn, arg, env, nullptr, arg);
      else
        render_into(call.inverse, self, env, nullptr);
    } else {
      bool positive = truthy(arg) && !is_empty(arg);
      if (helper == ast::Builtin::unless) positive = !positive;
      render_into(positive ? call.fn : call.inverse, self, env, nullptr);
    }
    check_size();
  }

  // ---- partials ----

  struct ResolvedPartial {
    const Program* program = nullptr;     // a template's root program, or a partial block / inline body
    const Template* template_ = nullptr;  // set for registered partials
    const Env* closure = nullptr;         // set for inline partials and partial blocks
    const PartialBlock* partial_block = nullptr;
  };

  void render_partial(const Stmt& stmt, const Env& env) {
    std::string name;
    if (stmt.path->kind == ExprKind::sub) {
      const json::value* value = evaluate(*stmt.path, env);
      if (value)
        append_js_string(name, *value);
      else
        name = "undefined";
    } else if (stmt.path->kind == ExprKind::string) {
      name = std::string(stmt.path->literal.as_string());
    } else {
      name = stmt.path->original;
    }

    const json::value* context = nullptr;
    if (!stmt.params.empty()) {
      context = evaluate(*stmt.params[0], env);
    } else if (!options_.explicit_partial_context) {
      context = env.scope ? env.scope->context : nullptr;
    }
    if (stmt.hash) {
      json::object merged;
      if (context && context->is_object()) merged = context->get_object();
      for (const auto& [key, value] : stmt.hash->pairs) {
        const json::value* evaluated = evaluate(*value, env);
        merged[key] = evaluated ? *evaluated : json::value();
      }
      context = store(std::move(merged));
    }

    const PartialBlock* current_partial_block = nullptr;
    for (const DataFrame* frame = env.data; frame; frame = frame->parent) {
      if (frame->has_partial_block) {
        current_partial_block = frame->partial_block;
        break;
      }
    }

    // A partial block makes its content available as @partial-block inside the partial.
    PartialBlock block{stmt.program.get(), env, current_partial_block};
    DataFrame block_frame;
    Env call_env = env;
    PartialScope block_inlines{stmt.program.get(), env, env.partials};
    if (stmt.kind == StmtKind::partial_block) {
      block_frame.parent = env.data;
      block_frame.has_partial_block = true;
      block_frame.partial_block = &block;
      call_env.data = &block_frame;
      if (stmt.program->has_inline_partials) call_env.partials = &block_inlines;
    }

    const Template* registered = nullptr;
    const Program* inline_program = nullptr;
    const Env* inline_env = nullptr;
    const PartialBlock* invoked_block = nullptr;
    if (name == "@partial-block") {
      invoked_block = current_partial_block;
    } else {
      for (const PartialScope* scope = call_env.partials; scope && !inline_program; scope = scope->parent) {
        for (const Stmt& candidate : scope->program->body) {
          if (candidate.kind == StmtKind::decorator_block && is_inline_decorator(candidate) &&
              !candidate.params.empty() && inline_name(*candidate.params[0]) == name) {
            inline_program = candidate.program.get();
            inline_env = &scope->env;  // later declarations win
          }
        }
      }
      if (!inline_program && render_options_.partials) registered = render_options_.partials(name);
      if (!inline_program && !registered && stmt.kind == StmtKind::partial_block) invoked_block = &block;
    }
    if (!registered && !inline_program && !invoked_block) {
      throw RenderError("The partial " + name + " could not be found");
    }

    const bool indent = !stmt.indent.empty() && !options_.prevent_indent;
    if (!stmt.indent.empty() && options_.prevent_indent) append(stmt.indent);
    const std::size_t mark = out_.size();
    DepthGuard guard(*this);
    if (invoked_block) {
      // partialBlockWrapper: the caller's scope, with the outer @partial-block restored.
      DataFrame frame;
      frame.parent = call_env.data;
      frame.has_partial_block = true;
      frame.partial_block = invoked_block->outer;
      Env inner = invoked_block->env;
      inner.data = &frame;
      render_program(*invoked_block->program, context, inner, nullptr, nullptr);
    } else if (inline_program) {
      Env inner = *inline_env;
      inner.data = call_env.data;
      inner.partials = call_env.partials;
      render_program(*inline_program, context, inner, nullptr, nullptr);
    } else {
      Env inner;
      inner.data = call_env.data;
      inner.partials = call_env.partials;
      if (options_.compat) inner.scope = env.scope;
      render_program(registered->program(), context, inner, nullptr, nullptr);
    }
    if (indent) indent_lines(mark, stmt.indent);
  }

  static std::string inline_name(const Expr& expr) {
    std::string name;
    if (expr.kind == ExprKind::path) return expr.original;
    if (expr.kind != ExprKind::undefined) append_js_string(name, expr.literal);
    return name;
  }

  void indent_lines(std::size_t mark, const std::string& indent) {
    std::string result;
    const std::string_view text(out_.data() + mark, out_.size() - mark);
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t newline = text.find('\n', start);
      const std::size_t end = newline == std::string_view::npos ? text.size() : newline;
      if (start == text.size() && newline == std::string_view::npos) break;  // nothing after the last newline
      result += indent;
      result.append(text.substr(start, end - start));
      if (newline == std::string_view::npos) break;
      result += '\n';
      start = newline + 1;
    }
    out_.resize(mark);
    out_ += result;
    check_size();
  }

  struct DepthGuard {
    explicit DepthGuard(Renderer& r) : renderer(r) {
      if (++renderer.depth_ > renderer.render_options_.max_depth) {
        throw RenderError(fmt::format("Template nesting exceeds {} levels", renderer.render_options_.max_depth));
      }
    }
    ~DepthGuard() { --renderer.depth_; }
    Renderer& renderer;
  };

  const Template& root_;
  const CompileOptions& options_;
  const RenderOptions& render_options_;
  std::string& out_;
  std::size_t start_size_ = out_.size();
  int depth_ = 0;
  std::uint64_t steps_ = 0;
  std::forward_list<json::value> arena_;  // computed values; allocates nothing until one is needed
  std::map<const Expr*, std::unique_ptr<Expr>> literal_paths_;
};

}  // namespace

// ---- Template ----

TemplatePtr Template::compile(std::string_view source, const CompileOptions& options) {
  return TemplatePtr(new Template(parse(source, options), options));
}

std::string Template::render(const json::value& context, const RenderOptions& options) const {
  std::string out;
  render_to(out, context, options);
  return out;
}

void Template::render_to(std::string& out, const json::value& context, const RenderOptions& options) const {
  const std::size_t mark = out.size();
  try {
    Renderer(*this, out, options).run(context);
  } catch (...) {
    out.resize(mark);
    throw;
  }
}

}  // namespace postroom::templates
