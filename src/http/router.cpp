#include "http/router.h"

#include <charconv>

#include "core/errors.h"

namespace postroom::http {

static std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 1;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (!out.empty() && out.back().empty()) out.pop_back();  // tolerate one trailing slash
  return out;
}

std::int64_t Context::id_param(const std::string& name) const {
  const auto it = params.find(name);
  if (it == params.end()) throw NotFound();
  std::int64_t value = 0;
  const std::string& text = it->second;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value <= 0) throw NotFound();
  return value;
}

void Router::add(const std::string& method, const std::string& pattern, AccessRule rule, Handler handler,
                 RouteOptions options) {
  Route route{method,
              pattern,
              {},
              rule,
              std::move(handler),
              options.writes || options.blocks || (method != "GET" && method != "HEAD"),
              options.sending_errors,
              options.blocks,
              options.answers_later};
  for (std::string_view segment : split_path(pattern)) route.segments.emplace_back(segment);
  routes_.push_back(std::move(route));
}

void Router::add_account_route(const std::string& method, const std::string& suffix, AccessRule rule, Handler handler,
                               RouteOptions options) {
  add(method, "/api/accounts/{account_id}" + suffix, rule, handler, options);
  add(method, "/api" + suffix, rule, std::move(handler), options);
}

const Route* Router::match(std::string_view method, std::string_view path,
                           std::unordered_map<std::string, std::string>& params) const {
  if (path.empty() || path.front() != '/') return nullptr;
  const auto segments = split_path(path);
  for (const Route& route : routes_) {
    if (route.method != method || route.segments.size() != segments.size()) continue;
    params.clear();
    bool ok = true;
    for (std::size_t i = 0; i < segments.size() && ok; ++i) {
      const std::string& expected = route.segments[i];
      if (expected.size() > 2 && expected.front() == '{' && expected.back() == '}') {
        if (segments[i].empty())
          ok = false;
        else
          params.emplace(expected.substr(1, expected.size() - 2), std::string(segments[i]));
      } else {
        ok = expected == segments[i];
      }
    }
    if (ok) return &route;
  }
  return nullptr;
}

}  // namespace postroom::http
