#pragma once
// What the scanners see (elements, attributes, CSS properties, values, at-rules, selectors, image URLs) mapped to
// caniemail feature slugs, and the collector of where each slug occurs. All slugs are string literals, so the
// string_views handed out stay valid for the life of the program.
#include <cstdint>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace postroom::htmlcheck {

// slug → the 1-based source lines where the feature occurs.
class Detections {
 public:
  void add(std::string_view slug, std::uint32_t line) { lines_[slug].push_back(line); }
  // slug → sorted, distinct lines.
  std::map<std::string_view, std::vector<std::uint32_t>> finish() &&;

 private:
  std::unordered_map<std::string_view, std::vector<std::uint32_t>> lines_;
};

namespace features {

using Slugs = std::vector<std::string_view>;

// Each takes an ASCII lower-case name and returns the slugs it maps to (empty when none).
const Slugs& for_element(std::string_view tag);
const Slugs& for_attribute(std::string_view attribute);
// CSS property, vendor prefix already removed ("-webkit-mask-image" is looked up as "mask-image").
const Slugs& for_property(std::string_view property);
const Slugs& for_function(std::string_view function);  // vendor prefix removed
const Slugs& for_unit(std::string_view unit);
const Slugs& for_pseudo_class(std::string_view name);    // without the colon; functional ones without "("
const Slugs& for_pseudo_element(std::string_view name);  // without the colons, vendor prefix kept
const Slugs& for_at_rule(std::string_view name);         // vendor prefix removed
const Slugs& for_media_feature(std::string_view name);
// Image format slugs for a URL (by data: media type or by file extension), plus image-base64 for base64 data.
void for_image_url(std::string_view url, Slugs& out);

// "-webkit-mask-image" → "mask-image"; other names unchanged.
std::string_view strip_vendor_prefix(std::string_view name);

// Every slug some rule above can report, and the caniemail slugs deliberately not detected, with the reason.
std::vector<std::string_view> detectable_slugs();
const std::vector<std::pair<std::string_view, std::string_view>>& undetected_slugs();

}  // namespace features
}  // namespace postroom::htmlcheck
