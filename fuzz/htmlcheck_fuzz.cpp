// Feeds arbitrary bytes to the HTML Check as HTML, and to its CSS tokenizer and scanners as a style sheet and as
// a style attribute. Checks that every reported line exists in the input, that lines are ascending and distinct,
// that tokens move forward through the input, and that both JSON renderers accept the report.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "htmlcheck/css_scan.h"
#include "htmlcheck/css_tokenizer.h"
#include "htmlcheck/html_check.h"

using namespace postroom::htmlcheck;

namespace {

std::uint32_t line_count(std::string_view text) {
  std::uint32_t lines = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) ++lines;
  }
  return lines;
}

void check_lines(const std::vector<std::uint32_t>& lines, std::uint32_t max_line) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] < 1 || lines[i] > max_line) __builtin_trap();
    if (i > 0 && lines[i] <= lines[i - 1]) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::uint32_t max_line = line_count(text);

  const Report report = analyze(text);
  for (const Finding& finding : report.findings) {
    if (finding.lines.empty()) __builtin_trap();
    check_lines(finding.lines, max_line);
  }
  (void)mailtrap_json(report);
  (void)full_json(report);

  css::Tokenizer tokenizer(text);
  std::size_t last_offset = 0;
  std::uint32_t last_line = 0;
  for (bool first = true;; first = false) {
    const css::Token token = tokenizer.next();
    if (token.type == css::TokenType::eof) break;
    if (token.offset >= size || (!first && token.offset <= last_offset) || token.line < last_line) __builtin_trap();
    last_offset = token.offset;
    last_line = token.line;
  }

  for (const bool sheet : {true, false}) {
    Detections detections;
    if (sheet) {
      css::scan_stylesheet(text, 1, detections);
    } else {
      css::scan_declarations(text, 1, detections);
    }
    for (const auto& [slug, lines] : std::move(detections).finish()) check_lines(lines, max_line);
  }
  return 0;
}
