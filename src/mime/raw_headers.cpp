#include "mime/raw_headers.h"

#include <algorithm>
#include <cctype>

namespace postroom::mime {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Length of the header block including its terminating empty line (or the whole input when there is none).
std::size_t header_end(std::string_view raw) {
  std::size_t pos = 0;
  while (pos < raw.size()) {
    const std::size_t eol = raw.find('\n', pos);
    const std::size_t line_end = eol == std::string_view::npos ? raw.size() : eol + 1;
    std::string_view line = raw.substr(pos, line_end - pos);
    if (line == "\r\n" || line == "\n") return line_end;
    pos = line_end;
  }
  return raw.size();
}

// Calls f(name, whole field including continuation lines and line ends) for each field of the header block.
template <class F>
void for_each_field(std::string_view raw, F&& f) {
  const std::size_t end = header_end(raw);
  std::size_t pos = 0;
  while (pos < end) {
    std::size_t field_end = pos;
    do {
      const std::size_t eol = raw.find('\n', field_end);
      field_end = eol == std::string_view::npos || eol + 1 > end ? end : eol + 1;
    } while (field_end < end && (raw[field_end] == ' ' || raw[field_end] == '\t'));
    const std::string_view field = raw.substr(pos, field_end - pos);
    if (field == "\r\n" || field == "\n") break;
    const std::size_t colon = field.find(':');
    std::string_view name = colon == std::string_view::npos ? std::string_view() : field.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    f(name, field, pos);
    pos = field_end;
  }
}

std::string clean(std::string_view text) {
  std::string out;
  for (char c : text)
    if (c != '\r' && c != '\n') out += c;
  return out;
}

}  // namespace

std::optional<std::string> raw_header(std::string_view raw, std::string_view name) {
  std::optional<std::string> found;
  for_each_field(raw, [&](std::string_view field_name, std::string_view field, std::size_t) {
    if (found || !iequals(field_name, name)) return;
    std::string value;
    for (char c : field.substr(field.find(':') + 1))
      if (c != '\r' && c != '\n') value += c;
    const auto begin = value.find_first_not_of(" \t");
    const auto last = value.find_last_not_of(" \t");
    found = begin == std::string::npos ? std::string() : value.substr(begin, last - begin + 1);
  });
  return found;
}

std::string remove_headers(std::string_view raw, const std::vector<std::string>& names) {
  std::string out;
  out.reserve(raw.size());
  std::size_t copied = 0;
  for_each_field(raw, [&](std::string_view field_name, std::string_view field, std::size_t pos) {
    const bool drop =
        std::any_of(names.begin(), names.end(), [&](const std::string& n) { return iequals(n, field_name); });
    if (!drop) return;
    out.append(raw.substr(copied, pos - copied));
    copied = pos + field.size();
  });
  out.append(raw.substr(copied));
  return out;
}

std::string prepend_headers(std::string_view raw, const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) out += clean(name) + ": " + clean(value) + "\r\n";
  out.append(raw);
  return out;
}

}  // namespace postroom::mime
