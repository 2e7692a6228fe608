#include "core/csv.h"

namespace postroom::csv {

std::vector<Row> parse(std::string_view text, const Limits& limits, char delimiter) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<Row> rows;
  if (text.empty()) return rows;
  Row current;
  std::string field_value;
  std::size_t line = 1;
  std::size_t row_line = 1;
  std::size_t i = 0;
  bool field_started = false;  // something (even an empty quoted field) was read for the current field
  auto end_field = [&] {
    if (current.size() >= limits.max_fields)
      throw Error(row_line, "more than " + std::to_string(limits.max_fields) + " fields");
    current.push_back(std::move(field_value));
    field_value.clear();
    field_started = false;
  };
  auto end_row = [&] {
    end_field();
    if (rows.size() >= limits.max_rows) throw Error(row_line, "more than " + std::to_string(limits.max_rows) + " rows");
    rows.push_back(std::move(current));
    current.clear();
  };
  auto append = [&](char c) {
    if (field_value.size() >= limits.max_field_bytes)
      throw Error(line, "a field is longer than " + std::to_string(limits.max_field_bytes) + " bytes");
    field_value += c;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') {
      if (field_started || !field_value.empty()) throw Error(line, "a quote inside an unquoted field");
      field_started = true;
      ++i;
      while (true) {
        if (i >= text.size()) throw Error(row_line, "unterminated quoted field");
        const char q = text[i];
        if (q == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            append('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (q == '\n') ++line;
        append(q);
        ++i;
      }
      // After the closing quote: a delimiter, a line end or the end.
      if (i < text.size() && text[i] != delimiter && text[i] != '\n' && text[i] != '\r')
        throw Error(line, "text after a closing quote");
      continue;
    }
    if (c == delimiter) {
      end_field();
      ++i;
      continue;
    }
    if (c == '\r' || c == '\n') {
      end_row();
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++i;
      ++line;
      row_line = line;
      continue;
    }
    if (field_started) throw Error(line, "text after a closing quote");
    append(c);
    ++i;
  }
  // The last row, unless the text ended with its line break.
  if (!current.empty() || field_started || !field_value.empty()) end_row();
  return rows;
}

std::string field(std::string_view value, char delimiter) {
  std::string text;
  if (!value.empty() && (value.front() == '=' || value.front() == '+' || value.front() == '-' || value.front() == '@' ||
                         value.front() == '\t' || value.front() == '\r'))
    text = "'";
  text += value;
  // A leading byte-order mark is quoted so that a reader's BOM skipping cannot eat it.
  const bool quote = text.find_first_of(std::string("\"\r\n") + delimiter) != std::string::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' ')) || text.starts_with("\xEF\xBB\xBF");
  if (!quote) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string row(const std::vector<std::string>& values, char delimiter) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += delimiter;
    out += field(values[i], delimiter);
  }
  return out + "\r\n";
}

}  // namespace postroom::csv
