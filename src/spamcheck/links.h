#pragma once
// Domains a message links to, for the URI blocklists. Pure text processing: nothing is ever fetched or
// resolved here.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::spamcheck {

// The hosts of the http:// and https:// URLs in an HTML or plain-text body (href attributes and bare URLs
// alike), lowercased, without port, user info or trailing dot, deduplicated in order of appearance, at most
// `limit`. Reads hostile markup as a browser would where it matters for hiding the real host: character
// references (&#x2F;, &colon;), backslashes as slashes, "user@host", percent-encoded host bytes. IP-address
// hosts, single-label names and non-ASCII (not yet punycoded) names are left out.
std::vector<std::string> link_domains(std::string_view html_or_text, std::size_t limit = 20);

// A syntactically valid DNS domain name (at least two labels, letters/digits/hyphen/underscore, labels ≤ 63,
// total ≤ 253, the top-level label not all digits), lowercased and without a trailing dot; nullopt otherwise.
std::optional<std::string> normalize_domain(std::string_view name);

// The domain of an address ("Name <user@Example.COM>" → "example.com"); nullopt when there is none.
std::optional<std::string> email_domain(std::string_view address);

}  // namespace postroom::spamcheck
