#pragma once
// CSV (RFC 4180) reading and writing for imports and exports (suppressions now, contacts later). Reading is
// strict about structure and bounded: CRLF or LF line ends, quoted fields with "" escapes and embedded line
// breaks, a leading UTF-8 BOM skipped, a final line break optional. Writing quotes when needed and defuses
// spreadsheet formulas.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::csv {

struct Limits {
  std::size_t max_rows = 1'000'000;
  std::size_t max_fields = 1000;  // per row
  std::size_t max_field_bytes = 64 * 1024;
};

struct Error : std::runtime_error {
  std::size_t line;  // 1-based line where the problem is
  Error(std::size_t line, const std::string& message)
      : std::runtime_error("CSV line " + std::to_string(line) + ": " + message), line(line) {}
};

using Row = std::vector<std::string>;

// Every row (a blank line is a row with one empty field, except a final one). Throws Error for an unterminated
// quoted field, text after a closing quote, a quote inside an unquoted field, or a limit.
std::vector<Row> parse(std::string_view text, const Limits& limits = {}, char delimiter = ',');

// One field: quoted when it holds the delimiter, a quote, CR or LF, starts/ends with a space or starts with a
// byte-order mark; a field that a
// spreadsheet would run as a formula (= + - @ tab CR first) gets a leading apostrophe (CSV injection).
std::string field(std::string_view value, char delimiter = ',');
// A row with CRLF at the end.
std::string row(const std::vector<std::string>& values, char delimiter = ',');

}  // namespace postroom::csv
