// Suppressions (WIRE-COMPATIBILITY §4.3): GET A/suppressions (?email, start_time, end_time; at most 1000, newest
// first) as a bare array, POST (Node) {"email","domain_id","sending_stream","type"?} → 201 {"data":…},
// DELETE A/suppressions/{uuid} → 200 with the removed entry.
#include "core/clock.h"
#include "core/csv.h"
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/json.h"
#include "sending/service.h"

namespace postroom::http::api {
namespace {

json::object suppression_json(const sending::Suppression& s) {
  return {{"id", s.id},
          {"type", s.type},
          {"created_at", iso8601(s.created_at)},
          {"email", s.email},
          {"sending_stream", s.sending_stream},
          {"domain_name", s.domain_name},
          {"message_bounce_category", s.message_bounce_category},
          {"message_category", s.message_category},
          {"message_client_ip", s.message_client_ip},
          {"message_created_at", s.message_created_at ? iso8601(*s.message_created_at) : std::string()},
          {"message_esp_response", s.message_esp_response},
          {"message_esp_server_type", s.message_esp_server_type},
          {"message_outgoing_ip", s.message_outgoing_ip},
          {"message_recipient_mx_name", s.message_recipient_mx_name},
          {"message_sender_email", s.message_sender_email},
          {"message_subject", s.message_subject}};
}

std::optional<std::int64_t> time_param(const Context& context, const char* name) {
  const auto text = context.request.query_value(name);
  if (!text) return std::nullopt;
  std::int64_t when = 0;
  if (!parse_iso8601(*text, when)) throw BadRequest(std::string("'") + name + "' must be an ISO 8601 time");
  return when;
}

}  // namespace

void add_suppressions_routes(Router& router, Services& services) {
  if (!services.sending) return;
  auto& service = *services.sending;
  router.add_account_route("GET", "/suppressions", rules::account_viewer(), [&service](Context& context) {
    json::array out;
    for (const auto& s : service.suppressions(context.account_id, context.request.query_value("email"),
                                              time_param(context, "start_time"), time_param(context, "end_time")))
      out.push_back(suppression_json(s));
    return json_response(200, out);
  });
  router.add_account_route("POST", "/suppressions", rules::account_admin(), [&service](Context& context) {
    const json::value body = parse_body(context.request);
    const json::object& root = as_object(body, "");
    const json::object* fields = optional_object(root, "suppression", "");
    const json::object& in = fields ? *fields : root;
    sending::SuppressionInput input;
    input.email = optional_string(in, "email", "suppression").value_or("");
    if (const auto id = optional_scalar_text(in, "domain_id", "suppression")) {
      try {
        input.domain_id = std::stoll(*id);
      } catch (const std::exception&) {
        throw ValidationError("domain_id", "is invalid");
      }
    }
    input.sending_stream = optional_string(in, "sending_stream", "suppression").value_or("any");
    input.type = optional_string(in, "type", "suppression").value_or("manual import");
    return json_response(201,
                         json::object{{"data", suppression_json(service.add_suppression(context.account_id, input))}});
  });
  // CSV import: the body is the file (text/csv), or {"csv":"…"}.
  router.add_account_route("POST", "/suppressions/import", rules::account_admin(), [&service](Context& context) {
    std::string text = context.request.body;
    const auto type = context.request.header("content-type").value_or("");
    if (type.starts_with("application/json")) {
      const json::value body = parse_body(context.request);
      text = optional_string(as_object(body, ""), "csv", "").value_or("");
    }
    try {
      const auto result = service.import_suppressions(context.account_id, text);
      json::array errors;
      for (const auto& [line, message] : result.errors)
        errors.push_back(json::object{{"line", line}, {"error", message}});
      return json_response(
          200,
          json::object{
              {"data", {{"imported", result.imported}, {"skipped", result.skipped}, {"errors", std::move(errors)}}}});
    } catch (const csv::Error& e) {
      throw ValidationError("file", e.what());
    }
  });
  router.add_account_route("GET", "/suppressions/export", rules::account_viewer(), [&service](Context& context) {
    Response response;
    response.content_type = "text/csv; charset=utf-8";
    response.headers.emplace_back("Content-Disposition", "attachment; filename=\"suppressions.csv\"");
    response.body = service.export_suppressions(context.account_id);
    return response;
  });
  router.add_account_route(
      "DELETE", "/suppressions/{suppression_id}", rules::account_admin(), [&service](Context& context) {
        return json_response(
            200, suppression_json(service.remove_suppression(context.account_id, context.params.at("suppression_id"))));
      });
}

}  // namespace postroom::http::api
