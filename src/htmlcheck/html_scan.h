#pragma once
// Parses an email's HTML with myhtml (HTML5 tree building) and reports where each caniemail feature occurs: the
// elements and attributes themselves, the CSS of <style> elements and style="" attributes (css_scan.h), image
// formats, the doctype and comments. Positions come from myhtml's byte offsets, mapped to 1-based lines.
//
// Hostile input is bounded: myhtml's tree building slows down quadratically with the depth of open elements
// (20,000 nested <div> take ~0.5 s, 100,000 ~12 s), and its memory grows with the node count. The input is cut at
// the byte cap; while myhtml parses, a tree-insertion callback counts nodes and depth, and at a cap tells myhtml to
// stop building the tree (the tokenizer finishes the input in linear time). The scan says what was cut. (Feeding
// myhtml in chunks instead was tried: its positions go wrong for tokens that span chunks.)
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::htmlcheck {

struct ScanLimits {
  std::size_t max_bytes = 5u << 20;  // 5 MiB
  std::size_t max_nodes = 200'000;   // elements, text and comment nodes
  std::size_t max_depth = 2'048;     // nested elements
};

struct HtmlScan {
  std::map<std::string_view, std::vector<std::uint32_t>> features;  // slug → sorted distinct 1-based lines
  bool truncated = false;
  std::vector<std::string> truncation_reasons;
  std::size_t bytes_analyzed = 0;
};

HtmlScan scan_html(std::string_view html, const ScanLimits& limits = {});

// Where a line starts, for byte offset → 1-based line. LF, CR LF and a lone CR end a line.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text);
  std::uint32_t line_of(std::size_t offset) const;

 private:
  std::vector<std::size_t> starts_;
};

}  // namespace postroom::htmlcheck
