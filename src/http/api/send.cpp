// Live sending over HTTP (WIRE-COMPATIBILITY §3): POST /api/send and /api/batch on the transactional stream; the
// bulk stream on the same paths when the Host starts with "bulk." and under /bulk/api/… so one port serves both.
// Errors in the sending API's shape: {"success":false,"errors":[…]}.
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/api/send_shape.h"
#include "http/json.h"
#include "mime/send_request.h"
#include "sending/service.h"

namespace postroom::http::api {
namespace {

SendOutcome send_one(sending::SendingService& service, const sending::Sender& sender,
                     const mime::SendRequestResult& parsed) {
  if (!parsed.ok()) return {400, send_failure(parsed.errors)};
  try {
    const auto accepted = service.accept(sender, *parsed.message);
    json::array ids;
    for (const auto& id : accepted.message_ids) ids.emplace_back(id);
    return {200, {{"success", true}, {"message_ids", std::move(ids)}}};
  } catch (const sending::SendRefused& e) {
    return {e.http_status, send_failure({e.what()})};
  } catch (const NotFound&) {
    return {404, send_failure({"Template with uuid '" + parsed.message->template_uuid + "' not found"})};
  } catch (const ValidationError& e) {
    std::vector<std::string> errors;
    for (const auto& [field, texts] : e.errors)
      for (const auto& text : texts) errors.push_back(field + " " + text);
    return {400, send_failure(std::move(errors))};
  }
}

sending::Sender sender_of(const Context& context, bool bulk_path) {
  // Behind a reverse proxy the original host arrives as X-Forwarded-Host.
  const auto host = context.request.header("host").value_or("");
  const auto forwarded = context.request.header("x-forwarded-host").value_or("");
  const bool bulk = bulk_path || host.starts_with("bulk.") || forwarded.starts_with("bulk.");
  return {.account_id = context.account_id,
          .principal = context.principal,
          .stream = bulk ? sending::Stream::bulk : sending::Stream::transactional,
          .client_ip = context.request.remote_address};
}

}  // namespace

void add_send_routes(Router& router, Services& services) {
  if (!services.sending) return;
  auto& service = *services.sending;
  const RouteOptions options{.blocks = false, .sending_errors = true};
  for (const bool bulk_path : {false, true}) {
    const std::string prefix = bulk_path ? "/bulk" : "";
    router.add(
        "POST", prefix + "/api/send", rules::in_account(),
        [&service, bulk_path](Context& context) {
          const auto outcome =
              send_one(service, sender_of(context, bulk_path), mime::parse_send_request(parse_body(context.request)));
          return json_response(outcome.status, outcome.body);
        },
        options);
    router.add(
        "POST", prefix + "/api/batch", rules::in_account(),
        [&service, bulk_path](Context& context) {
          const mime::BatchRequestResult batch = mime::parse_batch_request(parse_body(context.request));
          if (!batch.ok()) return json_response(400, send_failure(batch.errors));
          const sending::Sender sender = sender_of(context, bulk_path);
          json::array responses;
          for (const mime::SendRequestResult& request : batch.requests)
            responses.push_back(send_one(service, sender, request).body);
          return json_response(200, {{"success", true}, {"responses", std::move(responses)}});
        },
        options);
  }
}

}  // namespace postroom::http::api
