// Email Sandbox sending over HTTP: POST /api/send/{inbox_id} and /api/batch/{inbox_id} with the Mailtrap send
// JSON. Each message is built into MIME and captured exactly as if it had arrived over SMTP.
#include "core/errors.h"
#include "email_templates/service.h"
#include "http/api/routes.h"
#include "http/api/send_shape.h"
#include "http/json.h"
#include "mime/message.h"
#include "mime/send_request.h"
#include "sandbox/messages.h"

namespace postroom::http::api {
namespace {

SendOutcome capture_one(const Services& services, const Context& context, const sandbox::CaptureTarget& target,
                        const mime::SendRequestResult& parsed) {
  sandbox::MessagesService& messages = *services.messages;
  if (!parsed.ok()) return {400, send_failure(parsed.errors)};
  mime::OutgoingMessage message = *parsed.message;
  std::optional<sandbox::TemplateUse> template_use;
  if (!message.template_uuid.empty()) {
    // Subject, HTML and text come from the account's template, rendered with template_variables.
    if (!services.templates) return {400, send_failure({"email templates are not available on this server"})};
    boost::system::error_code ec;
    const json::value variables =
        message.template_variables.empty() ? json::value(json::object()) : json::parse(message.template_variables, ec);
    if (ec) return {400, send_failure({"'template_variables' must be a JSON object"})};
    try {
      const auto rendered = services.templates->render_for_send(context.account_id, message.template_uuid, variables);
      message.subject = rendered.subject;
      message.html = rendered.html;
      message.text = rendered.text;
      template_use = sandbox::TemplateUse{rendered.template_id, rendered.uuid, json::serialize(variables)};
    } catch (const NotFound&) {
      return {404, send_failure({"Template with uuid '" + message.template_uuid + "' not found"})};
    } catch (const ValidationError& e) {
      std::vector<std::string> errors;
      for (const auto& [field, texts] : e.errors)
        for (const auto& text : texts) errors.push_back(field + " " + text);
      return {400, send_failure(std::move(errors))};
    }
  }
  const std::string raw = mime::build_message(message);
  if (static_cast<std::int64_t>(raw.size()) > messages.max_message_size(target))
    return {413, send_failure({"Message too big: the limit is " + std::to_string(messages.max_message_size(target)) +
                               " bytes"})};
  switch (messages.admit(target)) {  // after the size check: a refused message uses none of the rate
    case sandbox::Admission::rate_limited:
      return {429, send_failure({"Rate limit exceeded"})};
    case sandbox::Admission::monthly_limit_reached:
      return {403, send_failure({"Monthly messages limit reached"})};
    case sandbox::Admission::accepted:
      break;
  }
  sandbox::Envelope envelope;
  envelope.mail_from = message.from.email;
  for (const auto* list : {&message.to, &message.cc, &message.bcc})
    for (const mime::Address& a : *list) envelope.rcpt_to.push_back(a.email);
  envelope.client_ip = context.request.remote_address;
  envelope.auth_user = context.principal.kind == accounts::Principal::Kind::user
                           ? "user " + context.principal.name  // sent from the web UI
                           : "api token " + std::to_string(context.principal.id);
  envelope.via = "api";
  const std::int64_t id = messages.capture(target, raw, envelope, template_use);
  // One id per recipient, in to, cc, bcc order; the sandbox keeps one copy, so they are the same id.
  json::array ids;
  for (std::size_t i = 0; i < envelope.rcpt_to.size(); ++i) ids.emplace_back(std::to_string(id));
  return {200, {{"success", true}, {"message_ids", std::move(ids)}}};
}

sandbox::CaptureTarget target_of(sandbox::MessagesService& messages, const Context& context) {
  const auto target = messages.target_for(context.id_param("inbox_id"), context.account_id);
  if (!target) throw NotFound();
  return *target;
}

}  // namespace

void add_sandbox_send_routes(Router& router, Services& services) {
  if (!services.messages) return;
  sandbox::MessagesService& messages = *services.messages;
  const auto rule = rules::inbox_level("inbox_id", accounts::level::admin);
  const RouteOptions options{.blocks = false, .sending_errors = true};

  router.add(
      "POST", "/api/send/{inbox_id}", rule,
      [&messages, &services](Context& context) {
        const sandbox::CaptureTarget target = target_of(messages, context);
        SendOutcome outcome =
            capture_one(services, context, target, mime::parse_send_request(parse_body(context.request)));
        return json_response(outcome.status, outcome.body);
      },
      options);

  router.add(
      "POST", "/api/batch/{inbox_id}", rule,
      [&messages, &services](Context& context) {
        const sandbox::CaptureTarget target = target_of(messages, context);
        const mime::BatchRequestResult batch = mime::parse_batch_request(parse_body(context.request));
        if (!batch.ok()) return json_response(400, send_failure(batch.errors));
        json::array responses;
        for (const mime::SendRequestResult& request : batch.requests)
          responses.push_back(capture_one(services, context, target, request).body);
        return json_response(200, {{"success", true}, {"responses", std::move(responses)}});
      },
      options);
}

}  // namespace postroom::http::api
