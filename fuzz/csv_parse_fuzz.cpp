// Feeds arbitrary bytes to the CSV reader, and checks that what it reads survives a round trip through the
// writer unchanged (apart from the formula guard, which only ever adds a leading apostrophe).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/csv.h"

using namespace postroom;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  csv::Limits limits;
  limits.max_rows = 2000;
  limits.max_fields = 200;
  limits.max_field_bytes = 4096;
  std::vector<csv::Row> rows;
  try {
    rows = csv::parse(text, limits);
  } catch (const csv::Error&) {
    return 0;
  }
  std::string written;
  for (const auto& row : rows) written += csv::row(row);
  const auto again = csv::parse(written, {});
  if (again.size() != rows.size()) __builtin_trap();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (again[r].size() != rows[r].size()) __builtin_trap();
    for (std::size_t f = 0; f < rows[r].size(); ++f) {
      const std::string& original = rows[r][f];
      const std::string& read = again[r][f];
      if (read != original && read != "'" + original) __builtin_trap();
    }
  }
  return 0;
}
