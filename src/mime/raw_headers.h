#pragma once
// Edits to the header block of raw RFC 5322 bytes without re-encoding anything else: used where a message
// arrives as bytes (SMTP submission) and must lose or gain a few fields before delivery.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace postroom::mime {

// The first field named `name` (case-insensitive), unfolded (CRLF + WSP → WSP) and trimmed; nullopt if absent.
std::optional<std::string> raw_header(std::string_view raw, std::string_view name);
// The message without every field named in `names` (case-insensitive), continuation lines included.
std::string remove_headers(std::string_view raw, const std::vector<std::string>& names);
// The message with `fields` ("Name", "value") written first, CRLF-terminated. CR and LF in names or values are
// dropped, so nothing can inject further fields.
std::string prepend_headers(std::string_view raw, const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace postroom::mime
