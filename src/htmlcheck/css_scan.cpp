#include "htmlcheck/css_scan.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "htmlcheck/css_tokenizer.h"

namespace postroom::htmlcheck::css {
namespace {

// Blocks nested deeper than this are skipped: real style sheets nest a few levels; hostile ones must not recurse.
constexpr int kMaxDepth = 32;

bool is_image_property(std::string_view property) {
  for (std::string_view prefix : {"background", "list-style", "border-image", "mask", "content"}) {
    if (property.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

bool is_system_font(std::string_view name) {
  return name == "system-ui" || name == "ui-serif" || name == "ui-sans-serif" || name == "ui-rounded" ||
         name == "ui-monospace";
}

bool opens_block(TokenType type) {
  return type == TokenType::open_curly || type == TokenType::open_square || type == TokenType::open_paren ||
         type == TokenType::function;
}

class Scanner {
 public:
  Scanner(std::string_view text, std::uint32_t first_line, std::uint32_t last_line, Detections& out)
      : first_line_(first_line), last_line_(last_line), out_(out) {
    tokens_ = tokenize(text);
    // Comments are reported, then dropped as the specification's tokenizer does.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      if (tokens_[i].type == TokenType::comment) {
        out_.add("css-comments", line(i));
        continue;
      }
      if (kept != i) tokens_[kept] = std::move(tokens_[i]);
      ++kept;
    }
    tokens_.resize(kept);
    match_blocks();
  }

  void stylesheet() { rule_list(0, tokens_.size(), 0, true); }
  void declarations() { declaration_list(0, tokens_.size(), 0, false); }

 private:
  // For every token opening a block ({ [ ( or a function), the index of its closing token, or the end of input
  // when it is never closed. A closing token of the wrong kind inside a block is an ordinary token.
  void match_blocks() {
    match_.assign(tokens_.size(), tokens_.size());
    std::vector<std::pair<std::size_t, TokenType>> open;
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      const TokenType type = tokens_[i].type;
      if (type == TokenType::open_curly) {
        open.emplace_back(i, TokenType::close_curly);
      } else if (type == TokenType::open_square) {
        open.emplace_back(i, TokenType::close_square);
      } else if (type == TokenType::open_paren || type == TokenType::function) {
        open.emplace_back(i, TokenType::close_paren);
      } else if (!open.empty() && open.back().second == type) {
        match_[open.back().first] = i;
        open.pop_back();
      }
    }
  }

  std::uint32_t line(std::size_t i) const {
    const std::uint64_t line = std::uint64_t{first_line_} + tokens_[i].line;
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(line, last_line_));
  }
  TokenType type(std::size_t i) const { return tokens_[i].type; }
  bool is_delim(std::size_t i, char c) const {
    return tokens_[i].type == TokenType::delim && tokens_[i].value.size() == 1 && tokens_[i].value[0] == c;
  }
  void add(const features::Slugs& slugs, std::size_t i) {
    for (std::string_view slug : slugs) out_.add(slug, line(i));
  }
  // Index after the block opened at i.
  std::size_t after_block(std::size_t i) const { return match_[i] < tokens_.size() ? match_[i] + 1 : tokens_.size(); }
  std::size_t skip_whitespace(std::size_t i, std::size_t end) const {
    while (i < end && type(i) == TokenType::whitespace) ++i;
    return i;
  }

  // The first top-level `{` (or, when stop_at_semicolon, `;`) at or after i; `end` when there is none.
  std::size_t find_block(std::size_t i, std::size_t end, bool stop_at_semicolon) const {
    while (i < end) {
      const TokenType t = type(i);
      if (t == TokenType::open_curly) return i;
      if (stop_at_semicolon && t == TokenType::semicolon) return i;
      i = opens_block(t) ? after_block(i) : i + 1;
    }
    return end;
  }

  void rule_list(std::size_t i, std::size_t end, int depth, bool top_level) {
    while (i < end) {
      const TokenType t = type(i);
      if (t == TokenType::whitespace || t == TokenType::semicolon ||
          (top_level && (t == TokenType::cdo || t == TokenType::cdc))) {
        ++i;
      } else if (t == TokenType::at_keyword) {
        i = at_rule(i, end, depth);
      } else {
        i = qualified_rule(i, end, depth, false);
      }
    }
  }

  std::size_t at_rule(std::size_t i, std::size_t end, int depth) {
    const std::string name = ascii_lower(features::strip_vendor_prefix(ascii_lower(tokens_[i].value)));
    add(features::for_at_rule(name), i);
    const std::size_t prelude = i + 1;
    const std::size_t block = find_block(prelude, end, true);
    if (name == "media") media_prelude(prelude, block);
    if (block >= end) return end;
    if (type(block) == TokenType::semicolon) return block + 1;
    const std::size_t inner_end = std::min(match_[block], end);
    if (depth < kMaxDepth) {
      if (name == "media" || name == "supports" || name == "document" || name == "container" || name == "layer" ||
          name == "scope" || name == "starting-style") {
        rule_list(block + 1, inner_end, depth + 1, false);
      } else if (name == "keyframes") {
        keyframe_list(block + 1, inner_end, depth + 1);
      } else if (name == "font-face" || name == "page" || name == "counter-style" || name == "property" ||
                 name == "viewport") {
        declaration_list(block + 1, inner_end, depth + 1, false);
      }
    }
    return std::min(after_block(block), end);
  }

  void media_prelude(std::size_t i, std::size_t end) {
    for (; i < end; ++i) {
      if (type(i) == TokenType::ident) add(features::for_media_feature(ascii_lower(tokens_[i].value)), i);
    }
  }

  // Keyframe selectors (from, to, 50%) are not selectors; only the declarations count.
  void keyframe_list(std::size_t i, std::size_t end, int depth) {
    while (i < end) {
      const std::size_t block = find_block(i, end, false);
      if (block >= end) return;
      const std::size_t inner_end = std::min(match_[block], end);
      if (depth < kMaxDepth) declaration_list(block + 1, inner_end, depth + 1, false);
      i = std::min(after_block(block), end);
    }
  }

  std::size_t qualified_rule(std::size_t i, std::size_t end, int depth, bool nested) {
    const std::size_t block = find_block(i, end, nested);
    if (block >= end) return end;  // a prelude without a block is dropped
    if (type(block) == TokenType::semicolon) return block + 1;
    selector(i, block, 0);
    const std::size_t inner_end = std::min(match_[block], end);
    if (depth < kMaxDepth) declaration_list(block + 1, inner_end, depth + 1, true);
    return std::min(after_block(block), end);
  }

  void declaration_list(std::size_t i, std::size_t end, int depth, bool allow_nesting) {
    while (i < end) {
      const TokenType t = type(i);
      if (t == TokenType::whitespace || t == TokenType::semicolon) {
        ++i;
        continue;
      }
      if (t == TokenType::at_keyword && allow_nesting) {
        out_.add("css-nesting", line(i));
        i = at_rule(i, end, depth);
        continue;
      }
      if (t == TokenType::ident) {
        const std::size_t colon = skip_whitespace(i + 1, end);
        if (colon < end && type(colon) == TokenType::colon) {
          const std::size_t stop = find_block(colon + 1, end, true);
          const bool custom = tokens_[i].value.size() > 2 && tokens_[i].value.substr(0, 2) == "--";
          // `a:hover { … }` inside a rule is a nested rule, not a declaration.
          if (!(allow_nesting && !custom && stop < end && type(stop) == TokenType::open_curly)) {
            std::size_t value_end = stop;
            // A custom property's value may hold {} blocks: it runs to the next top-level `;`.
            while (custom && value_end < end && type(value_end) == TokenType::open_curly) {
              value_end = find_block(after_block(value_end), end, true);
            }
            declaration(i, colon + 1, std::min(value_end, end));
            i = value_end < end ? value_end + 1 : end;
            continue;
          }
        }
      }
      if (!allow_nesting) {  // junk in a declaration list: skip to the next `;`
        const std::size_t stop = find_block(i, end, true);
        i = stop < end && type(stop) == TokenType::open_curly ? std::min(after_block(stop), end) : stop + 1;
        continue;
      }
      out_.add("css-nesting", line(i));
      i = qualified_rule(i, end, depth, true);
    }
  }

  void declaration(std::size_t name_index, std::size_t begin, std::size_t end) {
    const std::string& name = tokens_[name_index].value;
    if (name.size() > 2 && name.substr(0, 2) == "--") {
      out_.add("css-variables", line(name_index));
      return;
    }
    const std::string lowered = ascii_lower(name);
    const std::string_view property = features::strip_vendor_prefix(lowered);
    add(features::for_property(property), name_index);

    // `!important` at the end of the value.
    std::size_t last = end;
    while (last > begin && type(last - 1) == TokenType::whitespace) --last;
    if (last > begin && type(last - 1) == TokenType::ident && ascii_lower(tokens_[last - 1].value) == "important") {
      std::size_t bang = last - 1;
      while (bang > begin && type(bang - 1) == TokenType::whitespace) --bang;
      if (bang > begin && is_delim(bang - 1, '!')) {
        out_.add("css-important", line(bang - 1));
        end = bang - 1;
      }
    }
    value(property, begin, end);
  }

  void value(std::string_view property, std::size_t begin, std::size_t end) {
    bool first_keyword = true;
    for (std::size_t i = begin; i < end; ++i) {
      const Token& token = tokens_[i];
      switch (token.type) {
        case TokenType::function: {
          const std::string function = ascii_lower(features::strip_vendor_prefix(ascii_lower(token.value)));
          add(features::for_function(function), i);
          if (function == "url" && is_image_property(property)) {
            const std::size_t argument = skip_whitespace(i + 1, end);
            if (argument < end && type(argument) == TokenType::string) image_url(tokens_[argument].value, i);
          }
          break;
        }
        case TokenType::url:
          if (is_image_property(property)) image_url(token.value, i);
          break;
        case TokenType::dimension:
          add(features::for_unit(ascii_lower(token.unit)), i);
          break;
        case TokenType::percentage:
          out_.add("css-unit-percent", line(i));
          break;
        case TokenType::ident: {
          const std::string keyword = ascii_lower(token.value);
          if (keyword == "initial") out_.add("css-unit-initial", line(i));
          if (keyword == "fit-content" || keyword == "min-content" || keyword == "max-content") {
            out_.add("css-intrinsic-size", line(i));
          }
          if ((property == "font-family" || property == "font") && is_system_font(keyword)) {
            out_.add("css-sytem-ui", line(i));
          }
          if (property == "display" && first_keyword) display_value(keyword, i);
          if ((property == "flex-direction" || property == "flex-flow") && keyword.substr(0, 6) == "column") {
            out_.add("css-flex-direction", line(i));
          }
          if ((property == "flex-wrap" || property == "flex-flow") && keyword.substr(0, 4) == "wrap") {
            out_.add("css-flex-wrap", line(i));
          }
          first_keyword = false;
          break;
        }
        default:
          break;
      }
    }
  }

  void display_value(std::string_view keyword, std::size_t i) {
    const std::string_view plain = features::strip_vendor_prefix(keyword);
    if (plain == "none") {
      out_.add("css-display-none", line(i));
    } else if (plain == "flex" || plain == "inline-flex") {
      out_.add("css-display-flex", line(i));
    } else if (plain == "grid" || plain == "inline-grid") {
      out_.add("css-display-grid", line(i));
    } else {
      out_.add("css-display", line(i));
    }
  }

  void image_url(std::string_view url, std::size_t i) {
    features::Slugs slugs;
    features::for_image_url(url, slugs);
    add(slugs, i);
  }

  // A selector list: combinators, simple selectors, pseudo-classes and -elements, chaining and grouping.
  void selector(std::size_t i, std::size_t end, int depth) {
    int chained = 0;  // class, ID and attribute selectors in the current compound selector
    std::size_t compound_start = i;
    bool in_compound = false;
    bool pending_whitespace = false;
    const auto end_compound = [&] {
      if (chained >= 2) out_.add("css-selector-chaining", line(compound_start));
      chained = 0;
      in_compound = false;
      pending_whitespace = false;
    };
    while (i < end) {
      const Token& token = tokens_[i];
      const TokenType t = token.type;
      if (t == TokenType::whitespace) {
        if (in_compound) pending_whitespace = true;
        ++i;
        continue;
      }
      if (t == TokenType::comma) {
        out_.add("css-selector-grouping", line(i));
        end_compound();
        ++i;
        continue;
      }
      if (is_delim(i, '>') || is_delim(i, '+') || is_delim(i, '~')) {
        out_.add(is_delim(i, '>')   ? "css-selector-child"
                 : is_delim(i, '+') ? "css-selector-adjacent-sibling"
                                    : "css-selector-general-sibling",
                 line(i));
        end_compound();
        ++i;
        continue;
      }
      if (pending_whitespace) {
        out_.add("css-selector-descendant", line(i));
        end_compound();
      }
      if (!in_compound) {
        in_compound = true;
        compound_start = i;
      }
      if (t == TokenType::ident) {
        out_.add("css-selector-type", line(i));
        ++i;
      } else if (is_delim(i, '*')) {
        out_.add("css-selector-universal", line(i));
        ++i;
      } else if (is_delim(i, '.') && i + 1 < end && type(i + 1) == TokenType::ident) {
        out_.add("css-selector-class", line(i));
        ++chained;
        i += 2;
      } else if (t == TokenType::hash) {
        out_.add("css-selector-id", line(i));
        ++chained;
        ++i;
      } else if (t == TokenType::open_square) {
        out_.add("css-selector-attribute", line(i));
        ++chained;
        i = after_block(i);
      } else if (is_delim(i, '&')) {
        out_.add("css-nesting", line(i));
        ++i;
      } else if (t == TokenType::colon) {
        i = pseudo(i, end, depth);
      } else {
        i = opens_block(t) ? after_block(i) : i + 1;
      }
    }
    end_compound();
  }

  // At a colon in a selector; returns the index after the pseudo-class or pseudo-element.
  std::size_t pseudo(std::size_t i, std::size_t end, int depth) {
    const bool element = i + 1 < end && type(i + 1) == TokenType::colon;
    const std::size_t name_index = i + (element ? 2 : 1);
    if (name_index >= end) return end;
    const Token& name = tokens_[name_index];
    if (name.type != TokenType::ident && name.type != TokenType::function) return name_index;
    const std::string lowered = ascii_lower(name.value);
    add(element ? features::for_pseudo_element(lowered) : features::for_pseudo_class(lowered), name_index);
    if (name.type == TokenType::ident) return name_index + 1;
    // Selector arguments are scanned too: :not(.a > b) uses a class and a child combinator.
    if (!element && depth < kMaxDepth &&
        (lowered == "not" || lowered == "has" || lowered == "is" || lowered == "where" || lowered == "matches")) {
      selector(name_index + 1, std::min(match_[name_index], end), depth + 1);
    }
    return after_block(name_index);
  }

  std::vector<Token> tokens_;
  std::vector<std::size_t> match_;
  std::uint32_t first_line_;
  std::uint32_t last_line_;
  Detections& out_;
};

}  // namespace

void scan_stylesheet(std::string_view text, std::uint32_t first_line, Detections& out, std::uint32_t last_line) {
  Scanner(text, first_line, last_line, out).stylesheet();
}

void scan_declarations(std::string_view text, std::uint32_t first_line, Detections& out, std::uint32_t last_line) {
  Scanner(text, first_line, last_line, out).declarations();
}

}  // namespace postroom::htmlcheck::css
