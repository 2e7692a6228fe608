// The HTML Check of a captured message: GET …/messages/{id}/analyze (Mailtrap's shape, what the SDKs'
// getHtmlAnalysis reads) and …/html_check (the full report with the Market Support, per family and platform,
// filterable with ?families=gmail,outlook&platforms=web,mobile). Computed from the stored HTML on each request:
// it needs no other server and stays in step with the support data of the running version.
#include <sstream>

#include "core/errors.h"
#include "htmlcheck/html_check.h"
#include "http/api/routes.h"
#include "http/json.h"
#include "sandbox/messages.h"

namespace postroom::http::api {
namespace {

using accounts::level::viewer;

std::vector<std::string> comma_list(const std::optional<std::string>& text) {
  std::vector<std::string> out;
  if (!text) return out;
  std::stringstream stream(*text);
  std::string item;
  while (std::getline(stream, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// The message's HTML part; empty when it has none (the report is then empty and all clients support it).
std::string html_of(sandbox::MessagesService& messages, const Context& context) {
  try {
    return messages
        .body(context.account_id, context.id_param("inbox_id"), context.id_param("message_id"),
              sandbox::BodyKind::html_source)
        .content;
  } catch (const sandbox::PartMissing&) {
    messages.get(context.account_id, context.id_param("inbox_id"), context.id_param("message_id"));
    return {};
  }
}

}  // namespace

void add_sandbox_html_check_routes(Router& router, Services& services) {
  if (!services.messages) return;
  sandbox::MessagesService& messages = *services.messages;
  const auto read = rules::inbox_level("inbox_id", viewer);

  for (const std::string prefix : {"/inboxes/{inbox_id}", "/sandboxes/{inbox_id}"}) {
    const std::string one = prefix + "/messages/{message_id}";
    // Parsing a large HTML part takes a while: off the I/O threads, like the other reports.
    const RouteOptions off_io{.blocks = true};
    router.add_account_route(
        "GET", one + "/analyze", read,
        [&messages](Context& context) {
          return json_response(200, htmlcheck::mailtrap_json(htmlcheck::analyze(html_of(messages, context))));
        },
        off_io);
    router.add_account_route(
        "GET", one + "/html_check", read,
        [&messages](Context& context) {
          htmlcheck::Filter filter;
          filter.families = comma_list(context.request.query_value("families"));
          filter.platforms = comma_list(context.request.query_value("platforms"));
          const std::string html = html_of(messages, context);
          try {
            return json_response_decimal(200, htmlcheck::full_json(htmlcheck::analyze(html, filter)));
          } catch (const std::invalid_argument& e) {
            throw ValidationError("base", e.what());
          }
        },
        off_io);
  }
}

}  // namespace postroom::http::api
