// Unsubscribe links of sent mail: GET /unsubscribe/{message_id} shows a confirmation page, POST unsubscribes
// (the page's button, and RFC 8058 one-click from mailbox providers: body "List-Unsubscribe=One-Click").
// No token: the random message id is the credential. Unknown ids get the same page shape with 404.
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/api/serialize.h"
#include "http/json.h"
#include "mime/text.h"
#include "sending/service.h"

namespace postroom::http::api {
using mime::text::escape_html;

void add_unsubscribe_routes(Router& router, Services& services) {
  if (!services.sending) return;
  auto& service = *services.sending;
  router.add("GET", "/unsubscribe/{message_id}", rules::open(), [&service](Context& context) {
    const auto message = service.find_for_unsubscribe(context.params.at("message_id"));
    if (!message) return html_page(404, "Link not found", "<p>This unsubscribe link is not valid.</p>");
    if (message->status == sending::status::opted_out)
      return html_page(200, "You are unsubscribed",
                       "<p>" + escape_html(message->to) + " will receive no more email from " +
                           escape_html(message->domain_name) + ".</p>");
    return html_page(200, "Unsubscribe",
                     "<p>Stop email from " + escape_html(message->domain_name) + " to " + escape_html(message->to) +
                         "?</p><form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>");
  });
  router.add("POST", "/unsubscribe/{message_id}", rules::open(), [&service](Context& context) {
    try {
      const auto message = service.unsubscribe(context.params.at("message_id"), context.request.remote_address);
      return html_page(200, "You are unsubscribed",
                       "<p>" + escape_html(message.to) + " will receive no more email from " +
                           escape_html(message.domain_name) + ".</p>");
    } catch (const NotFound&) {
      return html_page(404, "Link not found", "<p>This unsubscribe link is not valid.</p>");
    }
  });
}

}  // namespace postroom::http::api
