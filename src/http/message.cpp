#include "http/message.h"

namespace postroom::http {

void DeferredResponse::settle(Response response, std::exception_ptr error) {
  Next next;
  {
    std::lock_guard lock(mutex_);
    if (settled_) return;  // settled already: the first outcome stands
    settled_ = true;
    if (!next_) {
      response_ = std::move(response);
      error_ = std::move(error);
      return;
    }
    next = std::move(next_);
  }
  next(std::move(response), std::move(error));
}

void DeferredResponse::then(Next next) {
  {
    std::lock_guard lock(mutex_);
    if (!settled_) {
      next_ = std::move(next);
      return;
    }
  }
  next(std::move(response_), std::move(error_));
}

Response deferred_response(std::shared_ptr<DeferredResponse> deferred) {
  Response response;
  response.deferred = std::move(deferred);
  return response;
}

Response then_finish(Response response, std::function<Response(Response)> finish) {
  if (!response.deferred) return finish(std::move(response));
  auto outer = std::make_shared<DeferredResponse>();
  response.deferred->then([outer, finish = std::move(finish)](Response arrived, std::exception_ptr error) {
    if (error) return outer->fail(std::move(error));
    try {
      outer->complete(finish(std::move(arrived)));
    } catch (...) {
      outer->fail(std::current_exception());
    }
  });
  return deferred_response(std::move(outer));
}

std::optional<std::string_view> Request::header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::string> Request::cookie(std::string_view wanted) const {
  for (const auto& [name, value] : headers) {
    if (name != "cookie") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const auto semicolon = rest.find(';');
      std::string_view pair = rest.substr(0, semicolon);
      rest = semicolon == std::string_view::npos ? std::string_view() : rest.substr(semicolon + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      while (!pair.empty() && pair.back() == ' ') pair.remove_suffix(1);
      const auto equals = pair.find('=');
      if (equals == std::string_view::npos || pair.substr(0, equals) != wanted) continue;
      std::string_view cookie_value = pair.substr(equals + 1);
      if (cookie_value.size() >= 2 && cookie_value.front() == '"' && cookie_value.back() == '"')
        cookie_value = cookie_value.substr(1, cookie_value.size() - 2);
      return std::string(cookie_value);
    }
  }
  return std::nullopt;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi << 4 | lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

bool split_target(std::string_view target, std::string& path, std::string& query) {
  const auto question = target.find('?');
  const std::string_view raw_path = target.substr(0, question);
  query = question == std::string_view::npos ? std::string() : std::string(target.substr(question + 1));
  if (raw_path.empty() || raw_path.front() != '/') return false;
  // Contacts are addressed by e-mail in the path and SDKs send '+' raw: a path '+' stays a '+'.
  path = percent_decode(raw_path, false);
  return path.find('\0') == std::string::npos;
}

std::vector<std::pair<std::string, std::string>> Request::query_pairs() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view rest = query;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    out.emplace_back(percent_decode(pair.substr(0, eq), true),
                     eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true));
  }
  return out;
}

std::vector<std::string> Request::query_values(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [name, value] : query_pairs()) {
    bool matches = name == key;
    if (!matches && name.size() > key.size() + 1 && name.compare(0, key.size(), key) == 0 && name[key.size()] == '[' &&
        name.back() == ']') {
      const std::string_view inside = std::string_view(name).substr(key.size() + 1, name.size() - key.size() - 2);
      matches = inside.find_first_not_of("0123456789") == std::string_view::npos;
    }
    if (!matches) continue;
    // Comma lists (key=1,2) are accepted too.
    std::size_t start = 0;
    while (start <= value.size()) {
      const auto comma = value.find(',', start);
      std::string item = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) out.push_back(std::move(item));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

std::optional<std::string> Request::query_value(std::string_view key) const {
  auto values = query_values(key);
  if (values.empty()) return std::nullopt;
  return values.front();
}

}  // namespace postroom::http
