// Unsubscribe links of sent mail: GET /unsubscribe/{message_id} shows a confirmation page, POST unsubscribes
// (the page's button, and RFC 8058 one-click from mailbox providers: body "List-Unsubscribe=One-Click").
// No token: the random message id is the credential. Unknown ids get the same page shape with 404.
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/json.h"
#include "mime/text.h"
#include "sending/service.h"

namespace postroom::http::api {
namespace {

using mime::text::escape_html;

Response page(int status, const std::string& title, const std::string& body) {
  Response response;
  response.status = status;
  response.content_type = "text/html; charset=utf-8";
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
  response.headers.emplace_back("Cache-Control", "no-store");
  response.body = "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + escape_html(title) +
                  "</title></head><body style=\"font-family:sans-serif;max-width:32em;margin:4em auto\"><h1>" +
                  escape_html(title) + "</h1>" + body + "</body></html>";
  return response;
}

}  // namespace

void add_unsubscribe_routes(Router& router, Services& services) {
  if (!services.sending) return;
  auto& service = *services.sending;
  router.add("GET", "/unsubscribe/{message_id}", rules::open(), [&service](Context& context) {
    const auto message = service.find_for_unsubscribe(context.params.at("message_id"));
    if (!message) return page(404, "Link not found", "<p>This unsubscribe link is not valid.</p>");
    if (message->status == sending::status::opted_out)
      return page(200, "You are unsubscribed",
                  "<p>" + escape_html(message->to) + " will receive no more email from " +
                      escape_html(message->domain_name) + ".</p>");
    return page(200, "Unsubscribe",
                "<p>Stop email from " + escape_html(message->domain_name) + " to " + escape_html(message->to) +
                    "?</p><form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>");
  });
  router.add("POST", "/unsubscribe/{message_id}", rules::open(), [&service](Context& context) {
    try {
      const auto message = service.unsubscribe(context.params.at("message_id"), context.request.remote_address);
      return page(200, "You are unsubscribed",
                  "<p>" + escape_html(message.to) + " will receive no more email from " +
                      escape_html(message.domain_name) + ".</p>");
    } catch (const NotFound&) {
      return page(404, "Link not found", "<p>This unsubscribe link is not valid.</p>");
    }
  });
}

}  // namespace postroom::http::api
