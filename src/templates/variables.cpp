// Static analysis of a template: which variables it reads and which partials it calls ("Test Data").
#include <set>

#include "templates/handlebars.h"

namespace postroom::templates {
namespace {

using ast::Expr;
using ast::ExprKind;
using ast::Program;
using ast::Stmt;
using ast::StmtKind;

bool is_builtin(const Expr& path) {
  static const std::set<std::string, std::less<>> names = {"if", "unless", "each", "with", "lookup", "log"};
  return path.kind == ExprKind::path && path.parts.size() == 1 && !path.scoped && path.depth == 0 && !path.data &&
         names.count(path.parts[0]);
}

std::string join(const std::string& prefix, const std::vector<std::string>& parts) {
  std::string out = prefix;
  for (const auto& part : parts) out += (out.empty() ? "" : ".") + part;
  return out;
}

class Collector {
 public:
  std::set<std::string> variables;
  std::set<std::string> partials;

  void program(const Program& program) {
    for (const Stmt& stmt : program.body) statement(stmt);
  }

 private:
  struct Frame {
    std::string prefix;
    std::vector<std::pair<std::string, std::string>> block_params;  // name -> variable path
  };
  std::vector<Frame> frames_{Frame{}};

  // The variable path an expression refers to, or empty when it is not a variable.
  std::string path_of(const Expr& path) {
    if (path.kind != ExprKind::path || path.data) return {};
    if (path.depth == 0 && !path.scoped && !path.parts.empty()) {
      for (auto frame = frames_.rbegin(); frame != frames_.rend(); ++frame) {
        for (const auto& [name, target] : frame->block_params) {
          if (name == path.parts[0]) {
            return join(target, std::vector<std::string>(path.parts.begin() + 1, path.parts.end()));
          }
        }
      }
    }
    const auto level = static_cast<long>(frames_.size()) - 1 - path.depth;
    const std::string& prefix = level >= 0 ? frames_[static_cast<std::size_t>(level)].prefix : frames_[0].prefix;
    return join(prefix, path.parts);
  }

  void use(const Expr& expr) {
    if (expr.kind == ExprKind::sub) {
      call(*expr.callee, expr.params, expr.hash.get());
      return;
    }
    const std::string path = path_of(expr);
    if (!path.empty()) variables.insert(path);
  }

  void call(const Expr& callee, const std::vector<ast::ExprPtr>& params, const ast::Hash* hash) {
    if (!is_builtin(callee)) use(callee);
    for (const auto& param : params) use(*param);
    if (hash) {
      for (const auto& [key, value] : hash->pairs) use(*value);
    }
  }

  void nested(const Program* program, std::string prefix, std::vector<std::pair<std::string, std::string>> params) {
    if (!program) return;
    frames_.push_back({std::move(prefix), std::move(params)});
    this->program(*program);
    frames_.pop_back();
  }

  void statement(const Stmt& stmt) {
    switch (stmt.kind) {
      case StmtKind::content:
      case StmtKind::comment:
      case StmtKind::decorator:
        return;
      case StmtKind::mustache:
        call(*stmt.path, stmt.params, stmt.hash.get());
        return;
      case StmtKind::partial:
      case StmtKind::partial_block:
        if (stmt.path->kind != ExprKind::sub) {
          partials.insert(stmt.path->kind == ExprKind::string ? std::string(stmt.path->literal.as_string())
                                                              : stmt.path->original);
        } else {
          use(*stmt.path);
        }
        for (const auto& param : stmt.params) use(*param);
        if (stmt.hash) {
          for (const auto& [key, value] : stmt.hash->pairs) use(*value);
        }
        nested(stmt.program.get(), frames_.back().prefix, {});
        return;
      case StmtKind::decorator_block:
        nested(stmt.program.get(), frames_.back().prefix, {});
        return;
      case StmtKind::block:
        break;
    }
    call(*stmt.path, stmt.params, stmt.hash.get());
    const std::string here = frames_.back().prefix;
    std::string inner = here;
    std::vector<std::pair<std::string, std::string>> params;
    const auto& names = stmt.program ? stmt.program->block_params : std::vector<std::string>{};
    if (is_builtin(*stmt.path) && !stmt.params.empty()) {
      const std::string target = path_of(*stmt.params[0]);
      const std::string& name = stmt.path->parts[0];
      if (name == "each" && !target.empty()) inner = target + ".[]";
      if (name == "with" && !target.empty()) inner = target;
      if ((name == "each" || name == "with") && !names.empty()) params.emplace_back(names[0], inner);
    } else if (!is_builtin(*stmt.path) && stmt.params.empty()) {
      const std::string target = path_of(*stmt.path);
      if (!target.empty()) inner = target;
    }
    nested(stmt.program.get(), inner, params);
    nested(stmt.inverse.get(), here, {});
  }
};

}  // namespace

std::vector<std::string> Template::variables() const {
  Collector collector;
  collector.program(program_);
  return {collector.variables.begin(), collector.variables.end()};
}

std::vector<std::string> Template::partial_names() const {
  Collector collector;
  collector.program(program_);
  return {collector.partials.begin(), collector.partials.end()};
}

namespace {

// Whether `data` provides the dotted path parts[from…] (see Template::missing_variables).
bool provides(const boost::json::value& data, const std::vector<std::string>& parts, std::size_t from) {
  if (from == parts.size()) return true;
  if (parts[from] == "[]") {
    const auto* array = data.if_array();
    if (!array) return data.is_object() && provides(data, parts, from + 1);  // `each` over an object's values
    for (const auto& element : *array) {
      if (!provides(element, parts, from + 1)) return false;
    }
    return true;
  }
  if (const auto* object = data.if_object()) {
    const auto* value = object->if_contains(parts[from]);
    return value && provides(*value, parts, from + 1);
  }
  return false;
}

}  // namespace

std::vector<std::string> Template::missing_variables(const boost::json::value& data) const {
  std::vector<std::string> missing;
  for (const std::string& variable : variables()) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
      const std::size_t dot = variable.find('.', start);
      parts.push_back(variable.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (!provides(data, parts, 0)) missing.push_back(variable);
  }
  return missing;
}

}  // namespace postroom::templates
