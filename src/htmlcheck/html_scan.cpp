#include "htmlcheck/html_scan.h"

#include <myhtml/api.h>  // not together with myhtml/myhtml.h: the two cannot both be included

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "htmlcheck/css_scan.h"
#include "htmlcheck/feature_map.h"

namespace postroom::htmlcheck {

LineIndex::LineIndex(std::string_view text) {
  starts_.push_back(0);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || (c == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) starts_.push_back(i + 1);
  }
}

std::uint32_t LineIndex::line_of(std::size_t offset) const {
  return static_cast<std::uint32_t>(std::upper_bound(starts_.begin(), starts_.end(), offset) - starts_.begin());
}

namespace {

char lower_char(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower_char(c);
  return out;
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower_char(text[i]) != prefix[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

// Counts what myhtml inserts into the tree, and how deep: each node stores its depth in myhtml's per-node data
// slot (parent's + 1), so the deepest element is known in O(1) per insertion (nodes moved later by the adoption
// agency or foster parenting keep their first depth: an estimate, which is all a cap needs). Past a cap it tells
// myhtml to stop building the tree: the tokenizer runs on through the rest of the input in linear time, and the
// tree keeps what was built so far.
struct TreeGuard {
  ScanLimits limits;
  std::size_t nodes = 0;
  std::size_t depth = 0;
  bool stopped = false;
  std::size_t stopped_at = 0;  // byte offset of the element that crossed a cap
  std::string reason;
};

void on_node_inserted(myhtml_tree_t* tree, myhtml_tree_node_t* node, void* context) {
  auto* guard = static_cast<TreeGuard*>(context);
  ++guard->nodes;
  myhtml_tree_node_t* parent = myhtml_node_parent(node);
  const std::uintptr_t depth = parent ? reinterpret_cast<std::uintptr_t>(myhtml_node_get_data(parent)) + 1 : 1;
  myhtml_node_set_data(node, reinterpret_cast<void*>(depth));
  guard->depth = std::max<std::size_t>(guard->depth, depth);
  if (guard->stopped) return;
  if (guard->depth > guard->limits.max_depth) {
    guard->reason = "elements are nested more than " + std::to_string(guard->limits.max_depth) + " deep";
  } else if (guard->nodes > guard->limits.max_nodes) {
    guard->reason = "the HTML has more than " + std::to_string(guard->limits.max_nodes) + " elements and text nodes";
  } else {
    return;
  }
  guard->stopped = true;
  guard->stopped_at = myhtml_node_element_position(node).begin;
  myhtml_tree_parse_flags_set(tree, MyHTML_TREE_PARSE_FLAGS_WITHOUT_BUILD_TREE);
}

struct MyhtmlDeleter {
  void operator()(myhtml_t* p) const { myhtml_destroy(p); }
  void operator()(myhtml_tree_t* p) const { myhtml_tree_destroy(p); }
};

bool is_html5_doctype(std::string_view source) {
  // <!DOCTYPE html> with nothing else (no public or system identifier), any case, any spacing.
  std::string text = lower(source);
  std::string_view rest = text;
  if (rest.substr(0, 9) != "<!doctype") return false;
  rest = trim(rest.substr(9));
  if (rest.substr(0, 4) != "html") return false;
  rest = trim(rest.substr(4));
  return rest == ">" || rest.empty();
}

struct Attribute {
  std::string name;  // lower case
  std::string_view value;
  std::uint32_t line = 0;             // of the attribute name
  std::uint32_t value_line = 0;       // of the value's first byte
  std::uint32_t value_last_line = 0;  // of its last byte
};

class Walker {
 public:
  Walker(myhtml_tree_t* tree, std::string_view source, Detections& out)
      : tree_(tree), source_(source), lines_(source), out_(out) {}

  void walk() {
    myhtml_tree_node_t* root = myhtml_tree_get_document(tree_);
    myhtml_tree_node_t* node = root ? myhtml_node_child(root) : nullptr;
    // Iterative depth-first walk: the tree may be thousands of elements deep.
    while (node) {
      const bool descend = visit(node);
      myhtml_tree_node_t* child = descend ? myhtml_node_child(node) : nullptr;
      if (child) {
        node = child;
        continue;
      }
      while (node && node != root && !myhtml_node_next(node)) node = myhtml_node_parent(node);
      node = (node && node != root) ? myhtml_node_next(node) : nullptr;
    }
  }

 private:
  std::uint32_t line_at(std::size_t offset) const { return lines_.line_of(offset); }

  // Reports the node's features; returns whether to visit its children.
  bool visit(myhtml_tree_node_t* node) {
    const myhtml_tag_id_t id = myhtml_node_tag_id(node);
    if (id == MyHTML_TAG__TEXT) return false;
    const myhtml_position_t where = myhtml_node_element_position(node);
    if (id == MyHTML_TAG__COMMENT) {
      if (where.length > 0) out_.add("html-comments", line_at(where.begin));
      return false;
    }
    if (id == MyHTML_TAG__DOCTYPE) {
      if (where.length > 0 && where.begin + where.length <= source_.size() &&
          is_html5_doctype(source_.substr(where.begin, where.length))) {
        out_.add("html-doctype", line_at(where.begin));
      }
      return false;
    }
    if (where.length == 0) return true;  // implied by the parser (a missing <body>), not in the source

    std::size_t name_length = 0;
    const char* name_data = myhtml_tag_name_by_id(tree_, id, &name_length);
    const std::string name = name_data ? lower(std::string_view(name_data, name_length)) : std::string();
    const bool html = myhtml_node_namespace(node) == MyHTML_NAMESPACE_HTML;
    const std::uint32_t line = line_at(where.begin);
    if (html || name == "svg" || name == "style") {
      for (std::string_view slug : features::for_element(name)) out_.add(slug, line);
    }

    attributes_.clear();
    for (myhtml_tree_attr_t* attr = myhtml_node_attribute_first(node); attr; attr = myhtml_attribute_next(attr)) {
      std::size_t key_length = 0;
      std::size_t value_length = 0;
      const char* key = myhtml_attribute_key(attr, &key_length);
      const char* value = myhtml_attribute_value(attr, &value_length);
      if (!key) continue;
      const myhtml_position_t key_at = myhtml_attribute_key_raw_position(attr);
      const myhtml_position_t value_at = myhtml_attribute_value_raw_position(attr);
      Attribute& a = attributes_.emplace_back();
      a.name = lower(std::string_view(key, key_length));
      a.value = value ? std::string_view(value, value_length) : std::string_view();
      a.line = key_at.length > 0 ? line_at(key_at.begin) : line;
      a.value_line = value_at.length > 0 ? line_at(value_at.begin) : a.line;
      a.value_last_line = value_at.length > 0 ? line_at(value_at.begin + value_at.length - 1) : a.line;
    }
    for (const Attribute& a : attributes_) {
      if (a.name == "style") {
        css::scan_declarations(a.value, a.value_line, out_, a.value_last_line);
      } else if (html) {
        for (std::string_view slug : features::for_attribute(a.name)) out_.add(slug, a.line);
        if (a.name == "background") image(a.value, a.line);
      }
    }
    if (html) element_rules(name, line);

    if (name == "style") {
      style_element(node);
      return false;
    }
    return true;
  }

  const Attribute* attribute(std::string_view name) const {
    for (const Attribute& a : attributes_) {
      if (a.name == name) return &a;
    }
    return nullptr;
  }

  void element_rules(const std::string& name, std::uint32_t line) {
    if (name == "a") {
      if (const Attribute* href = attribute("href")) {
        const std::string_view target = trim(href->value);
        if (!target.empty() && target.front() == '#') out_.add("html-anchor-links", href->line);
        if (starts_with_ci(target, "mailto:")) out_.add("html-mailto-links", href->line);
      }
    } else if (name == "img") {
      if (const Attribute* src = attribute("src")) image(src->value, src->line);
      if (const Attribute* srcset = attribute("srcset")) image_set(srcset->value, srcset->line);
    } else if (name == "source") {
      if (const Attribute* srcset = attribute("srcset")) image_set(srcset->value, srcset->line);
    } else if (name == "meta") {
      if (const Attribute* meta = attribute("name")) {
        const std::string kind = lower(trim(meta->value));
        if (kind == "color-scheme" || kind == "supported-color-schemes") out_.add("html-meta-color-scheme", line);
      }
    } else if (name == "button") {
      const Attribute* type = attribute("type");
      const std::string kind = type ? lower(trim(type->value)) : "submit";
      if (kind == "reset") {
        out_.add("html-button-reset", line);
      } else if (kind != "button") {
        out_.add("html-button-submit", line);  // submit is the default type
      }
    } else if (name == "input") {
      const Attribute* type = attribute("type");
      const std::string kind = type ? lower(trim(type->value)) : "text";
      if (kind == "checkbox") out_.add("html-input-checkbox", line);
      if (kind == "hidden") out_.add("html-input-hidden", line);
      if (kind == "radio") out_.add("html-input-radio", line);
      if (kind == "reset") out_.add("html-input-reset", line);
      if (kind == "submit") out_.add("html-input-submit", line);
      if (kind == "text" || kind.empty()) out_.add("html-input-text", line);
      if (kind == "image") {
        if (const Attribute* src = attribute("src")) image(src->value, src->line);
      }
    }
  }

  void image(std::string_view url, std::uint32_t line) {
    slugs_.clear();
    features::for_image_url(url, slugs_);
    for (std::string_view slug : slugs_) out_.add(slug, line);
  }

  // "a.png 1x, b.webp 2x": each candidate's URL. Commas inside data: URLs end a candidate only when followed
  // by whitespace, which is as far as a checker needs to go.
  void image_set(std::string_view set, std::uint32_t line) {
    while (!set.empty()) {
      set = trim(set);
      const std::size_t space = set.find_first_of(" \t\n\r\f");
      std::string_view url = set.substr(0, space);
      if (space == std::string_view::npos && !url.empty() && url.back() == ',') url.remove_suffix(1);
      image(url, line);
      if (space == std::string_view::npos) break;
      const std::size_t comma = set.find(',', space);
      if (comma == std::string_view::npos) break;
      set.remove_prefix(comma + 1);
    }
  }

  void style_element(myhtml_tree_node_t* node) {
    std::string text;
    std::size_t first = std::string::npos;
    std::size_t last = 0;
    for (myhtml_tree_node_t* child = myhtml_node_child(node); child; child = myhtml_node_next(child)) {
      if (myhtml_node_tag_id(child) != MyHTML_TAG__TEXT) continue;
      std::size_t length = 0;
      const char* data = myhtml_node_text(child, &length);
      if (!data) continue;
      const myhtml_position_t at = myhtml_node_raw_position(child);
      if (first == std::string::npos) first = at.begin;
      last = std::max(last, at.begin + at.length);
      text.append(data, length);
    }
    if (first != std::string::npos) css::scan_stylesheet(text, line_at(first), out_, line_at(last > 0 ? last - 1 : 0));
  }

  myhtml_tree_t* tree_;
  std::string_view source_;
  LineIndex lines_;
  Detections& out_;
  std::vector<Attribute> attributes_;
  features::Slugs slugs_;
};

}  // namespace

HtmlScan scan_html(std::string_view html, const ScanLimits& limits) {
  HtmlScan scan;
  std::string_view source = html;
  if (source.size() > limits.max_bytes) {
    source = source.substr(0, limits.max_bytes);
    scan.truncation_reasons.push_back("the HTML is larger than " + std::to_string(limits.max_bytes) +
                                      " bytes; only the first " + std::to_string(limits.max_bytes) + " were analyzed");
  }
  if (source.empty()) {
    scan.truncated = !scan.truncation_reasons.empty();
    return scan;
  }

  std::unique_ptr<myhtml_t, MyhtmlDeleter> parser(myhtml_create());
  // Single mode: myhtml starts no threads of its own.
  if (!parser || myhtml_init(parser.get(), MyHTML_OPTIONS_PARSE_MODE_SINGLE, 1, 0) != MyHTML_STATUS_OK) {
    throw std::runtime_error("html check: cannot initialize the HTML parser");
  }
  std::unique_ptr<myhtml_tree_t, MyhtmlDeleter> tree(myhtml_tree_create());
  if (!tree || myhtml_tree_init(tree.get(), parser.get()) != MyHTML_STATUS_OK) {
    throw std::runtime_error("html check: cannot initialize the HTML tree");
  }
  TreeGuard guard;
  guard.limits = limits;
  myhtml_callback_tree_node_insert_set(tree.get(), on_node_inserted, &guard);
  if (myhtml_parse(tree.get(), MyENCODING_UTF_8, source.data(), source.size()) != MyHTML_STATUS_OK) {
    scan.truncated = true;
    scan.truncation_reasons.push_back("the HTML parser gave up; nothing was analyzed");
    return scan;
  }
  scan.bytes_analyzed = source.size();
  if (guard.stopped) {
    scan.bytes_analyzed = std::min(guard.stopped_at, source.size());
    scan.truncation_reasons.push_back(guard.reason + "; the HTML after byte " + std::to_string(scan.bytes_analyzed) +
                                      " was not analyzed");
  }
  scan.truncated = !scan.truncation_reasons.empty();

  Detections detections;
  Walker(tree.get(), source, detections).walk();
  scan.features = std::move(detections).finish();
  return scan;
}

}  // namespace postroom::htmlcheck
