// Reports kept with a captured message: GET …/messages/{id}/spam_report (SpamAssassin through spamd; 503 saying
// why when spamd is not configured or not answering) and …/blacklists_report (DNS blocklists; ?refresh=true asks
// again).

#include "core/errors.h"
#include "http/api/routes.h"
#include "http/json.h"
#include "sandbox/analysis.h"

namespace postroom::http::api {
using accounts::level::viewer;

void add_sandbox_analysis_routes(Router& router, Services& services) {
  if (!services.analysis) return;
  sandbox::MessageAnalysis& analysis = *services.analysis;
  const auto read = rules::inbox_level("inbox_id", viewer);

  for (const std::string prefix : {"/inboxes/{inbox_id}", "/sandboxes/{inbox_id}"}) {
    const std::string one = prefix + "/messages/{message_id}";
    router.add_account_route(
        "GET", one + "/spam_report", read,
        [&analysis](Context& context) {
          try {
            Response response;
            response.content_type = kJsonContentType;
            response.body =
                analysis.spam_report(context.account_id, context.id_param("inbox_id"), context.id_param("message_id"));
            return response;
          } catch (const spamcheck::Unavailable& e) {
            std::string why = "Spam analysis is unavailable: " + std::string(e.what());
            if (e.reason() == spamcheck::Unavailable::Reason::not_configured)
              why += " (start Postroom with --spamd HOST:PORT or --spamd unix:PATH)";
            return json_response(503, {{"errors", why}});
          }
        },
        RouteOptions{.blocks = true});
    router.add_account_route(
        "GET", one + "/blacklists_report", read,
        [&analysis](Context& context) {
          const bool refresh = context.request.query_value("refresh").value_or("") == "true";
          return json_response(200, analysis.blacklists_report(context.account_id, context.id_param("inbox_id"),
                                                               context.id_param("message_id"), refresh));
        },
        RouteOptions{.blocks = true});
  }
}

}  // namespace postroom::http::api
