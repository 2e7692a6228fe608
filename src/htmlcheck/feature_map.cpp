#include "htmlcheck/feature_map.h"

#include <algorithm>
#include <initializer_list>
#include <set>
#include <string>

namespace postroom::htmlcheck {

std::map<std::string_view, std::vector<std::uint32_t>> Detections::finish() && {
  std::map<std::string_view, std::vector<std::uint32_t>> out;
  for (auto& [slug, lines] : lines_) {
    std::sort(lines.begin(), lines.end());
    lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
    out.emplace(slug, std::move(lines));
  }
  return out;
}

namespace features {
namespace {

using Table = std::unordered_map<std::string_view, Slugs>;

struct Entry {
  std::initializer_list<std::string_view> names;
  std::initializer_list<std::string_view> slugs;
};

Table build(std::initializer_list<Entry> entries) {
  Table table;
  for (const Entry& entry : entries) {
    for (std::string_view name : entry.names) {
      Slugs& slugs = table[name];
      for (std::string_view slug : entry.slugs) {
        if (std::find(slugs.begin(), slugs.end(), slug) == slugs.end()) slugs.push_back(slug);
      }
    }
  }
  return table;
}

const Slugs& lookup(const Table& table, std::string_view name) {
  static const Slugs none;
  const auto it = table.find(name);
  return it == table.end() ? none : it->second;
}

// HTML elements. <button>/<input> by type, <a> by href, <meta> by name are decided by the HTML scanner.
const Table& elements() {
  static const Table table = build({
      {{"abbr"}, {"html-abbr"}},
      {{"acronym"}, {"html-acronym"}},
      {{"address"}, {"html-address"}},
      {{"audio"}, {"html-audio"}},
      {{"base"}, {"html-base"}},
      {{"bdi"}, {"html-bdi"}},
      {{"blockquote"}, {"html-blockquote"}},
      {{"body"}, {"html-body"}},
      {{"code"}, {"html-code"}},
      {{"del"}, {"html-del"}},
      {{"dfn"}, {"html-dfn"}},
      {{"dialog"}, {"html-dialog"}},
      {{"div"}, {"html-div"}},
      {{"form"}, {"html-form"}},
      {{"h1", "h2", "h3", "h4", "h5", "h6"}, {"html-h1-h6"}},
      {{"hr"}, {"html-hr"}},
      {{"img"}, {"html-img"}},
      {{"link"}, {"html-link"}},
      {{"ul", "ol", "dl"}, {"html-lists"}},
      {{"map", "area"}, {"html-image-maps"}},
      {{"marquee"}, {"html-marquee"}},
      {{"meter"}, {"html-meter"}},
      {{"object"}, {"html-object"}},
      {{"p"}, {"html-p"}},
      {{"picture"}, {"html-picture"}},
      {{"pre"}, {"html-pre"}},
      {{"progress"}, {"html-progress"}},
      {{"rp"}, {"html-rp"}},
      {{"rt"}, {"html-rt"}},
      {{"ruby"}, {"html-ruby"}},
      {{"select"}, {"html-select"}},
      {{"article", "aside", "details", "figcaption", "figure", "footer", "header", "main", "mark", "nav", "section",
        "summary", "time"},
       {"html-semantics"}},
      {{"small"}, {"html-small"}},
      {{"span"}, {"html-span"}},
      {{"strike"}, {"html-strike"}},
      {{"strong"}, {"html-strong"}},
      {{"style"}, {"html-style"}},
      {{"svg"}, {"html-svg"}},
      {{"table"}, {"html-table"}},
      {{"textarea"}, {"html-textarea"}},
      {{"video"}, {"html-video"}},
      {{"wbr"}, {"html-wbr"}},
  });
  return table;
}

const Table& attributes() {
  static const Table table = build({
      {{"align"}, {"html-align"}},
      {{"aria-describedby"}, {"html-aria-describedby"}},
      {{"aria-hidden"}, {"html-aria-hidden"}},
      {{"aria-label"}, {"html-aria-label"}},
      {{"aria-labelledby"}, {"html-aria-labelledby"}},
      {{"aria-live"}, {"html-aria-live"}},
      {{"background"}, {"html-background"}},
      {{"cellpadding"}, {"html-cellpadding"}},
      {{"cellspacing"}, {"html-cellspacing"}},
      {{"dir"}, {"html-dir"}},
      {{"height"}, {"html-height"}},
      {{"hidden"}, {"html-hidden"}},
      {{"lang"}, {"html-lang"}},
      {{"loading"}, {"html-loading-attribute"}},
      {{"popover"}, {"html-popover"}},
      {{"required"}, {"html-required"}},
      {{"role"}, {"html-role"}},
      {{"srcset", "sizes"}, {"html-srcset"}},
      {{"target"}, {"html-target"}},
      {{"usemap"}, {"html-image-maps"}},
      {{"valign"}, {"html-valign"}},
      {{"width"}, {"html-width"}},
      // AMP for Email marks its document with <html ⚡4email> or <html amp4email>.
      {{"\xe2\x9a\xa1"
        "4email",
        "amp4email"},
       {"amp"}},
  });
  return table;
}

const Table& properties() {
  static const Table table = build({
      {{"accent-color"}, {"css-accent-color"}},
      {{"align-items"}, {"css-align-items"}},
      {{"animation", "animation-name", "animation-duration", "animation-timing-function", "animation-delay",
        "animation-iteration-count", "animation-direction", "animation-fill-mode", "animation-play-state"},
       {"css-animation"}},
      {{"aspect-ratio"}, {"css-aspect-ratio"}},
      {{"backdrop-filter"}, {"css-backdrop-filter"}},
      {{"background-blend-mode"}, {"css-background-blend-mode"}},
      {{"background-clip"}, {"css-background-clip"}},
      {{"background-color"}, {"css-background-color"}},
      {{"background-image"}, {"css-background-image"}},
      {{"background-origin"}, {"css-background-origin"}},
      {{"background-position", "background-position-x", "background-position-y"}, {"css-background-position"}},
      {{"background-repeat"}, {"css-background-repeat"}},
      {{"background-size"}, {"css-background-size"}},
      {{"background"}, {"css-background"}},
      {{"block-size"}, {"css-block-inline-size"}},
      {{"inline-size"}, {"css-block-inline-size", "css-inline-size"}},
      {{"border-collapse"}, {"css-border-collapse"}},
      {{"border-image", "border-image-source", "border-image-slice", "border-image-width", "border-image-outset",
        "border-image-repeat"},
       {"css-border-image"}},
      {{"border-inline-color", "border-block-color", "border-inline-style", "border-block-style", "border-inline-width",
        "border-block-width", "border-inline-start", "border-inline-end", "border-block-start", "border-block-end"},
       {"css-border-inline-block-individual"}},
      {{"border-inline-start-color", "border-block-start-color", "border-inline-start-style",
        "border-block-start-style", "border-inline-start-width", "border-block-start-width", "border-inline-end-color",
        "border-block-end-color", "border-inline-end-style", "border-block-end-style", "border-inline-end-width",
        "border-block-end-width"},
       {"css-border-inline-block-longhand"}},
      {{"border-inline", "border-block"}, {"css-border-inline-block"}},
      {{"border-start-start-radius", "border-start-end-radius", "border-end-start-radius", "border-end-end-radius"},
       {"css-border-radius-logical"}},
      {{"border-radius", "border-top-left-radius", "border-top-right-radius", "border-bottom-left-radius",
        "border-bottom-right-radius"},
       {"css-border-radius"}},
      {{"border-spacing"}, {"css-border-spacing"}},
      {{"border",
        "border-width",
        "border-style",
        "border-color",
        "border-top",
        "border-bottom",
        "border-left",
        "border-right",
        "border-top-width",
        "border-top-style",
        "border-top-color",
        "border-bottom-width",
        "border-bottom-style",
        "border-bottom-color",
        "border-left-width",
        "border-left-style",
        "border-left-color",
        "border-right-width",
        "border-right-style",
        "border-right-color"},
       {"css-border"}},
      {{"box-shadow"}, {"css-box-shadow"}},
      {{"box-sizing"}, {"css-box-sizing"}},
      {{"caption-side"}, {"css-caption-side"}},
      {{"clear"}, {"css-clear"}},
      {{"clip-path"}, {"css-clip-path"}},
      {{"color-scheme", "supported-color-schemes"}, {"css-color-scheme"}},
      {{"column-count"}, {"css-column-count", "css-column-layout-properties"}},
      {{"columns", "column-fill", "column-rule", "column-rule-color", "column-rule-style", "column-rule-width",
        "column-span", "column-width"},
       {"css-column-layout-properties"}},
      {{"column-gap"}, {"css-column-layout-properties", "css-gap"}},
      {{"gap", "row-gap", "grid-gap", "grid-row-gap", "grid-column-gap"}, {"css-gap"}},
      {{"cursor"}, {"css-cursor"}},
      {{"direction"}, {"css-direction"}},
      {{"empty-cells"}, {"css-empty-cells"}},
      {{"filter"}, {"css-filter"}},
      {{"float"}, {"css-float"}},
      {{"font-kerning"}, {"css-font-kerning"}},
      {{"font-size"}, {"css-font-size"}},
      {{"font-stretch"}, {"css-font-stretch"}},
      {{"font-weight"}, {"css-font-weight"}},
      {{"font"}, {"css-font"}},
      {{"grid-template", "grid-template-areas", "grid-template-columns", "grid-template-rows"}, {"css-grid-template"}},
      {{"height"}, {"css-height"}},
      {{"hyphenate-character"}, {"css-hyphenate-character"}},
      {{"hyphenate-limit-chars"}, {"css-hyphenate-limit-chars"}},
      {{"hyphens"}, {"css-hyphens"}},
      {{"inset", "inset-block", "inset-inline", "inset-inline-start", "inset-inline-end", "inset-block-start",
        "inset-block-end"},
       {"css-inset"}},
      {{"justify-content"}, {"css-justify-content"}},
      {{"left", "right", "top", "bottom"}, {"css-left-right-top-bottom"}},
      {{"letter-spacing"}, {"css-letter-spacing"}},
      {{"line-height"}, {"css-line-height"}},
      {{"list-style-image"}, {"css-list-style-image"}},
      {{"list-style-position"}, {"css-list-style-position"}},
      {{"list-style-type"}, {"css-list-style-type"}},
      {{"list-style"}, {"css-list-style"}},
      {{"margin-block-start", "margin-block-end"}, {"css-margin-block-start-end"}},
      {{"margin-inline", "margin-block"}, {"css-margin-inline-block"}},
      {{"margin-inline-start", "margin-inline-end"}, {"css-margin-inline-start-end"}},
      {{"margin", "margin-left", "margin-right", "margin-top", "margin-bottom"}, {"css-margin"}},
      {{"mask-image"}, {"css-mask-image"}},
      {{"max-block-size"}, {"css-max-block-size"}},
      {{"max-height"}, {"css-max-height"}},
      {{"max-inline-size"}, {"css-max-inline-size"}},
      {{"max-width"}, {"css-max-width"}},
      {{"min-block-size"}, {"css-min-block-size"}},
      {{"min-height"}, {"css-min-height"}},
      {{"min-inline-size"}, {"css-min-inline-size"}},
      {{"min-width"}, {"css-min-width"}},
      {{"mix-blend-mode"}, {"css-mix-blend-mode"}},
      {{"object-fit"}, {"css-object-fit"}},
      {{"object-position"}, {"css-object-position"}},
      {{"opacity"}, {"css-opacity"}},
      {{"orphans"}, {"css-orphans"}},
      {{"outline-offset"}, {"css-outline-offset"}},
      {{"outline", "outline-color", "outline-style", "outline-width"}, {"css-outline"}},
      {{"overflow-wrap"}, {"css-overflow-wrap"}},
      {{"overflow", "overflow-x", "overflow-y", "overflow-block", "overflow-inline"}, {"css-overflow"}},
      {{"padding-block-start", "padding-block-end"}, {"css-padding-block-start-end"}},
      {{"padding-inline", "padding-block"}, {"css-padding-inline-block"}},
      {{"padding-inline-start", "padding-inline-end"}, {"css-padding-inline-start-end"}},
      {{"padding", "padding-left", "padding-right", "padding-top", "padding-bottom"}, {"css-padding"}},
      {{"position"}, {"css-position"}},
      {{"resize"}, {"css-resize"}},
      {{"scroll-snap-type", "scroll-snap-align", "scroll-snap-stop"}, {"css-scroll-snap"}},
      {{"shape-margin"}, {"css-shape-margin"}},
      {{"shape-outside"}, {"css-shape-outside"}},
      {{"tab-size"}, {"css-tab-size"}},
      {{"table-layout"}, {"css-table-layout"}},
      {{"text-align-last"}, {"css-text-align-last"}},
      {{"text-align"}, {"css-text-align"}},
      {{"text-decoration-color"}, {"css-text-decoration-color"}},
      {{"text-decoration-line"}, {"css-text-decoration-line"}},
      {{"text-decoration-skip-ink"}, {"css-text-decoration-skip-ink"}},
      {{"text-decoration-style"}, {"css-text-decoration-style"}},
      {{"text-decoration-thickness"}, {"css-text-decoration-thickness"}},
      {{"text-decoration"}, {"css-text-decoration"}},
      {{"text-emphasis-position"}, {"css-text-emphasis-position"}},
      {{"text-emphasis", "text-emphasis-color", "text-emphasis-style"}, {"css-text-emphasis"}},
      {{"text-indent"}, {"css-text-indent"}},
      {{"text-justify"}, {"css-text-justify"}},
      {{"text-orientation"}, {"css-text-orientation"}},
      {{"text-overflow"}, {"css-text-overflow"}},
      {{"text-shadow"}, {"css-text-shadow"}},
      {{"text-transform"}, {"css-text-transform"}},
      {{"text-underline-offset"}, {"css-text-underline-offset"}},
      {{"text-underline-position"}, {"css-text-underline-position"}},
      {{"text-wrap", "text-wrap-mode", "text-wrap-style"}, {"css-text-wrap"}},
      {{"transform", "transform-origin"}, {"css-transform"}},
      {{"transition", "transition-property", "transition-duration", "transition-timing-function", "transition-delay"},
       {"css-transition"}},
      {{"user-select"}, {"css-user-select"}},
      {{"vertical-align"}, {"css-vertical-align"}},
      {{"visibility"}, {"css-visibility"}},
      {{"white-space-collapse"}, {"css-white-space-collapse"}},
      {{"white-space"}, {"css-white-space"}},
      {{"widows"}, {"css-widows"}},
      {{"width"}, {"css-width"}},
      {{"word-break"}, {"css-word-break"}},
      {{"word-spacing"}, {"css-word-spacing"}},
      {{"word-wrap"}, {"css-word-wrap"}},
      {{"writing-mode"}, {"css-writing-mode"}},
      {{"z-index"}, {"css-z-index"}},
  });
  return table;
}

const Table& functions() {
  static const Table table = build({
      {{"calc"}, {"css-unit-calc"}},
      {{"clamp"}, {"css-function-clamp"}},
      {{"light-dark"}, {"css-function-light-dark"}},
      {{"max"}, {"css-function-max"}},
      {{"min"}, {"css-function-min"}},
      {{"conic-gradient", "repeating-conic-gradient"}, {"css-conic-gradient"}},
      {{"linear-gradient", "repeating-linear-gradient"}, {"css-linear-gradient"}},
      {{"radial-gradient", "repeating-radial-gradient"}, {"css-radial-gradient"}},
      {{"rgb"}, {"css-rgb"}},
      {{"rgba"}, {"css-rgba"}},
      {{"lch", "oklch", "lab", "oklab"}, {"css-modern-color"}},
      {{"var"}, {"css-variables"}},
      {{"fit-content"}, {"css-intrinsic-size"}},
  });
  return table;
}

const Table& units() {
  static const Table table = build({
      {{"ch"}, {"css-unit-ch"}},
      {{"cm"}, {"css-unit-cm"}},
      {{"em"}, {"css-unit-em"}},
      {{"ex"}, {"css-unit-ex"}},
      {{"in"}, {"css-unit-in"}},
      {{"mm"}, {"css-unit-mm"}},
      {{"pc"}, {"css-unit-pc"}},
      {{"pt"}, {"css-unit-pt"}},
      {{"px"}, {"css-unit-px"}},
      {{"rem"}, {"css-unit-rem"}},
      {{"vh"}, {"css-unit-vh"}},
      {{"vmax"}, {"css-unit-vmax"}},
      {{"vmin"}, {"css-unit-vmin"}},
      {{"vw"}, {"css-unit-vw"}},
  });
  return table;
}

const Table& pseudo_classes() {
  static const Table table = build({
      {{"active"}, {"css-pseudo-class-active"}},
      {{"checked"}, {"css-pseudo-class-checked"}},
      {{"first-child"}, {"css-pseudo-class-first-child"}},
      {{"first-of-type"}, {"css-pseudo-class-first-of-type"}},
      {{"focus"}, {"css-pseudo-class-focus"}},
      {{"has"}, {"css-pseudo-class-has"}},
      {{"hover"}, {"css-pseudo-class-hover"}},
      {{"lang"}, {"css-pseudo-class-lang"}},
      {{"last-child"}, {"css-pseudo-class-last-child"}},
      {{"last-of-type"}, {"css-pseudo-class-last-of-type"}},
      {{"link"}, {"css-pseudo-class-link"}},
      {{"not"}, {"css-pseudo-class-not"}},
      {{"nth-child"}, {"css-pseudo-class-nth-child"}},
      {{"nth-last-child"}, {"css-pseudo-class-nth-last-child"}},
      {{"nth-last-of-type"}, {"css-pseudo-class-nth-last-of-type"}},
      {{"nth-of-type"}, {"css-pseudo-class-nth-of-type"}},
      {{"only-child"}, {"css-pseudo-class-only-child"}},
      {{"only-of-type"}, {"css-pseudo-class-only-of-type"}},
      {{"target"}, {"css-pseudo-class-target"}},
      {{"visited"}, {"css-pseudo-class-visited"}},
      // CSS 2 let these four pseudo-elements be written with one colon.
      {{"after"}, {"css-pseudo-element-after"}},
      {{"before"}, {"css-pseudo-element-before"}},
      {{"first-letter"}, {"css-pseudo-element-first-letter"}},
      {{"first-line"}, {"css-pseudo-element-first-line"}},
  });
  return table;
}

const Table& pseudo_elements() {
  static const Table table = build({
      {{"after"}, {"css-pseudo-element-after"}},
      {{"before"}, {"css-pseudo-element-before"}},
      {{"first-letter"}, {"css-pseudo-element-first-letter"}},
      {{"first-line"}, {"css-pseudo-element-first-line"}},
      {{"marker"}, {"css-pseudo-element-marker"}},
      {{"placeholder", "-webkit-input-placeholder", "-moz-placeholder", "-ms-input-placeholder"},
       {"css-pseudo-element-placeholder"}},
  });
  return table;
}

const Table& at_rules() {
  static const Table table = build({
      {{"font-face"}, {"css-at-font-face"}},
      {{"import"}, {"css-at-import"}},
      {{"keyframes"}, {"css-at-keyframes"}},
      {{"media"}, {"css-at-media"}},
      {{"supports"}, {"css-at-supports"}},
  });
  return table;
}

const Table& media_features() {
  static const Table table = build({
      {{"-webkit-device-pixel-ratio", "-webkit-min-device-pixel-ratio", "-webkit-max-device-pixel-ratio",
        "min--moz-device-pixel-ratio", "max--moz-device-pixel-ratio", "-moz-device-pixel-ratio", "device-pixel-ratio",
        "min-device-pixel-ratio", "max-device-pixel-ratio"},
       {"css-at-media-device-pixel-ratio"}},
      {{"hover", "any-hover"}, {"css-at-media-hover"}},
      {{"orientation"}, {"css-at-media-orientation"}},
      {{"prefers-color-scheme"}, {"css-at-media-prefers-color-scheme"}},
      {{"prefers-reduced-motion"}, {"css-at-media-prefers-reduced-motion"}},
  });
  return table;
}

const Table& image_extensions() {
  static const Table table = build({
      {{"apng"}, {"image-apng"}},
      {{"avif"}, {"image-avif"}},
      {{"bmp"}, {"image-bmp"}},
      {{"gif"}, {"image-gif"}},
      {{"hdr"}, {"image-hdr"}},
      {{"heif", "heic"}, {"image-heif"}},
      {{"ico"}, {"image-ico"}},
      {{"jpg", "jpeg", "jpe", "jfif"}, {"image-jpg"}},
      {{"mp4"}, {"image-mp4"}},
      {{"png"}, {"image-png"}},
      {{"svg"}, {"image-svg"}},
      {{"tif", "tiff"}, {"image-tiff"}},
      {{"webp"}, {"image-webp"}},
  });
  return table;
}

// Media types after "data:" (lower-case).
const Table& image_media_types() {
  static const Table table = build({
      {{"image/apng"}, {"image-apng"}},
      {{"image/avif"}, {"image-avif"}},
      {{"image/bmp", "image/x-ms-bmp"}, {"image-bmp"}},
      {{"image/gif"}, {"image-gif"}},
      {{"image/vnd.radiance"}, {"image-hdr"}},
      {{"image/heif", "image/heic"}, {"image-heif"}},
      {{"image/x-icon", "image/vnd.microsoft.icon"}, {"image-ico"}},
      {{"image/jpeg", "image/jpg", "image/pjpeg"}, {"image-jpg"}},
      {{"video/mp4"}, {"image-mp4"}},
      {{"image/png"}, {"image-png"}},
      {{"image/svg+xml"}, {"image-svg"}},
      {{"image/tiff"}, {"image-tiff"}},
      {{"image/webp"}, {"image-webp"}},
  });
  return table;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

const Slugs& for_element(std::string_view tag) { return lookup(elements(), tag); }
const Slugs& for_attribute(std::string_view attribute) { return lookup(attributes(), attribute); }
const Slugs& for_property(std::string_view property) { return lookup(properties(), property); }
const Slugs& for_function(std::string_view function) { return lookup(functions(), function); }
const Slugs& for_unit(std::string_view unit) { return lookup(units(), unit); }
const Slugs& for_pseudo_class(std::string_view name) { return lookup(pseudo_classes(), name); }
const Slugs& for_pseudo_element(std::string_view name) { return lookup(pseudo_elements(), name); }
const Slugs& for_at_rule(std::string_view name) { return lookup(at_rules(), name); }
const Slugs& for_media_feature(std::string_view name) { return lookup(media_features(), name); }

std::string_view strip_vendor_prefix(std::string_view name) {
  for (std::string_view prefix : {"-webkit-", "-moz-", "-ms-", "-o-"}) {
    if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix) return name.substr(prefix.size());
  }
  return name;
}

void for_image_url(std::string_view url, Slugs& out) {
  while (!url.empty() && (url.front() == ' ' || url.front() == '\t' || url.front() == '\n' || url.front() == '\r')) {
    url.remove_prefix(1);
  }
  if (url.size() >= 5 && lower(url.substr(0, 5)) == "data:") {
    const std::size_t comma = url.find(',');
    const std::string_view header = comma == std::string_view::npos ? url.substr(5) : url.substr(5, comma - 5);
    const std::string media = lower(header.substr(0, header.find(';')));
    for (std::string_view slug : lookup(image_media_types(), media)) out.push_back(slug);
    if (lower(header).find(";base64") != std::string::npos) out.push_back("image-base64");
    return;
  }
  std::string_view path = url.substr(0, url.find_first_of("?#"));
  const std::size_t slash = path.find_last_of('/');
  if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
  const std::size_t dot = path.find_last_of('.');
  if (dot == std::string_view::npos) return;
  for (std::string_view slug : lookup(image_extensions(), lower(path.substr(dot + 1)))) out.push_back(slug);
}

namespace {
// Slugs reported by rules that are not table driven (see html_scan.cpp and css_scan.cpp).
constexpr std::string_view kRuleSlugs[] = {
    "html-doctype",
    "html-comments",
    "html-anchor-links",
    "html-mailto-links",
    "html-meta-color-scheme",
    "html-button-reset",
    "html-button-submit",
    "html-input-checkbox",
    "html-input-hidden",
    "html-input-radio",
    "html-input-reset",
    "html-input-submit",
    "html-input-text",
    "image-base64",
    "css-comments",
    "css-important",
    "css-nesting",
    "css-variables",
    "css-display",
    "css-display-flex",
    "css-display-grid",
    "css-display-none",
    "css-flex-direction",
    "css-flex-wrap",
    "css-intrinsic-size",
    "css-sytem-ui",
    "css-unit-initial",
    "css-unit-percent",
    "css-selector-adjacent-sibling",
    "css-selector-attribute",
    "css-selector-chaining",
    "css-selector-child",
    "css-selector-class",
    "css-selector-descendant",
    "css-selector-general-sibling",
    "css-selector-grouping",
    "css-selector-id",
    "css-selector-type",
    "css-selector-universal",
};
}  // namespace

std::vector<std::string_view> detectable_slugs() {
  std::set<std::string_view> slugs(std::begin(kRuleSlugs), std::end(kRuleSlugs));
  for (const Table* table :
       {&elements(), &attributes(), &properties(), &functions(), &units(), &pseudo_classes(), &pseudo_elements(),
        &at_rules(), &media_features(), &image_extensions(), &image_media_types()}) {
    for (const auto& [name, list] : *table) slugs.insert(list.begin(), list.end());
  }
  return {slugs.begin(), slugs.end()};
}

// Deliberately not detected (the test checks that every caniemail slug is either detectable or listed here):
//   bimi — a DNS record and a verified logo, nothing in the HTML.
// Detected only as far as the HTML shows it:
//   image-apng, image-hdr, image-heif… — by data: media type or file extension; an APNG served as .png is a PNG.
//   image-mp4 — <img src="….mp4"> (caniemail's "video as image asset"); <video> is html-video.
//   amp — the <html ⚡4email> / amp4email attribute; the AMP MIME part itself is not HTML.
//   css-unit-* — in declaration values, not in media queries; css-flex-direction / css-flex-wrap — the column and
//   wrap values caniemail tests (also through flex-flow); css-selector-chaining — two or more class, ID or
//   attribute selectors in one compound selector (.a.b), as caniemail's test.
// Not analyzed at all: markup and CSS inside HTML comments (Outlook's <!--[if mso]> blocks are seen only by Outlook
// for Windows); <link rel=stylesheet> targets (never fetched; the <link> itself is html-link).
const std::vector<std::pair<std::string_view, std::string_view>>& undetected_slugs() {
  static const std::vector<std::pair<std::string_view, std::string_view>> list = {
      {"bimi", "BIMI is a DNS record and a verified logo, not something in the HTML"},
  };
  return list;
}

}  // namespace features
}  // namespace postroom::htmlcheck
