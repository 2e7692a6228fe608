#include "http/api/serialize.h"

#include "mime/text.h"

namespace postroom::http::api {

json::array grants_json(const std::vector<accounts::Grant>& grants) {
  json::array out;
  for (const accounts::Grant& grant : grants) {
    out.push_back({{"resource_type", std::string(accounts::to_string(grant.resource.type))},
                   {"resource_id", grant.resource.id},
                   {"access_level", grant.level}});
  }
  return out;
}

Response untrusted_html_response(std::string content_type, std::string body) {
  Response response;
  response.status = 200;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  response.headers.emplace_back(
      "Content-Security-Policy",
      "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline' *; font-src *; frame-ancestors 'self'");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return response;
}

Response html_page(int status, const std::string& title, const std::string& body_html) {
  Response response;
  response.status = status;
  response.content_type = "text/html; charset=utf-8";
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
  response.headers.emplace_back("Cache-Control", "no-store");
  const std::string escaped = mime::text::escape_html(title);
  response.body = "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + escaped +
                  "</title></head><body style=\"font-family:sans-serif;max-width:32em;margin:4em auto\"><h1>" +
                  escaped + "</h1>" + body_html + "</body></html>";
  return response;
}

}  // namespace postroom::http::api
