#pragma once
// Finds the CSS features caniemail tracks in a style sheet (a <style> element's text) or a declaration list (a
// style="" attribute): properties, property values (display:flex, units, functions, !important, system fonts),
// at-rules and media features, selector features (combinators, pseudo-classes and -elements), comments, nesting
// and image URLs. The text goes through the CSS Syntax Level 3 tokenizer, then a small rule/declaration parser.
#include <cstdint>
#include <string_view>

#include "htmlcheck/feature_map.h"

namespace postroom::htmlcheck::css {

// `first_line` is the 1-based line of the text's first byte in the HTML source; lines are clamped to `last_line`
// (an attribute's decoded value can hold more line breaks than its source, as "&#10;").
void scan_stylesheet(std::string_view text, std::uint32_t first_line, Detections& out,
                     std::uint32_t last_line = UINT32_MAX);
void scan_declarations(std::string_view text, std::uint32_t first_line, Detections& out,
                       std::uint32_t last_line = UINT32_MAX);

}  // namespace postroom::htmlcheck::css
