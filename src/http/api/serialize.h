#pragma once
// JSON shapes shared by several account resources.
#include "accounts/model.h"
#include "http/json.h"

namespace postroom::http::api {

// [{"resource_type","resource_id","access_level"}]
json::array grants_json(const std::vector<accounts::Grant>& grants);

// A small self-contained HTML page for people following emailed links (unsubscribe, forwarding confirmation):
// no scripts, forms post back to the same origin, never cached. `title` is escaped; `body_html` is trusted markup.
Response html_page(int status, const std::string& title, const std::string& body_html);

// Hostile HTML (captured email, rendered templates) as a document of its own: sandboxed (no scripts, a unique
// origin), framable only by our own pages, never sniffed.
Response untrusted_html_response(std::string content_type, std::string body);

}  // namespace postroom::http::api
