// Sandbox forwarding: POST …/messages/{id}/forward (the SDKs' call), the sandbox's forwarding rules (confirmed
// addresses for manual and automatic forwarding, TXT-verified domains), the owner's confirmation page
// (/forwarding/confirm/{token}: GET shows a button, POST confirms, so link scanners confirm nothing), and the
// message's tech info.
#include "core/clock.h"
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/api/serialize.h"
#include "http/json.h"
#include "mime/text.h"
#include "sandbox/forwarding.h"
#include "sandbox/tech_info.h"

namespace postroom::http::api {
namespace {

using accounts::level::admin;
using accounts::level::viewer;
using mime::text::escape_html;
using sandbox::ForwardRule;

json::object rule_json(const ForwardRule& rule) {
  json::object out{{"id", rule.id},
                   {"inbox_id", rule.inbox_id},
                   {"kind", rule.kind},
                   {"purpose", rule.purpose},
                   {rule.kind == sandbox::forward_kind::domain ? "domain" : "email", rule.value},
                   {"status", rule.status},
                   {"created_at", iso8601(rule.created_at)},
                   {"confirmation_sent_at", optional_time(rule.confirmation_sent_at)},
                   {"confirmed_at", optional_time(rule.confirmed_at)}};
  if (rule.kind == sandbox::forward_kind::domain)
    out["dns_record"] = {{"type", "TXT"}, {"name", rule.value}, {"value", rule.verification_value.value_or("")}};
  return out;
}

Response refused(const sandbox::ForwardRefused& e) { return json_response(e.status, {{"errors", e.what()}}); }

std::string what_is_forwarded(const ForwardRule& rule) {
  return rule.purpose == sandbox::forward_purpose::automatic
             ? "Test emails addressed to " + escape_html(rule.value) + " in a Postroom sandbox will be forwarded to it."
             : "Test emails from a Postroom sandbox may be forwarded to " + escape_html(rule.value) + " on request.";
}

}  // namespace

void add_sandbox_forwarding_routes(Router& router, Services& services) {
  if (!services.forwarding || !services.messages) return;
  sandbox::ForwardingService& forwarding = *services.forwarding;
  sandbox::MessagesService& messages = *services.messages;
  const auto read = rules::inbox_level("inbox_id", viewer);
  const auto write = rules::inbox_level("inbox_id", admin);

  for (const std::string prefix : {"/inboxes/{inbox_id}", "/sandboxes/{inbox_id}"}) {
    const std::string one = prefix + "/messages/{message_id}";
    // Forwarding to an address its owner confirmed is reading, not changing the sandbox: viewers may.
    router.add_account_route("POST", one + "/forward", read, [&forwarding](Context& context) {
      const json::value body = parse_body(context.request);
      const auto email = optional_string(as_object(body, ""), "email", "");
      try {
        forwarding.forward(context.account_id, context.id_param("inbox_id"), context.id_param("message_id"),
                           email.value_or(""));
      } catch (const sandbox::ForwardRefused& e) {
        return refused(e);
      }
      return json_response(200, {{"success", true}, {"message", "Your email message has been successfully forwarded"}});
    });
    router.add_account_route("GET", one + "/tech_info", read, [&messages](Context& context) {
      return json_response(200, sandbox::tech_info_json(messages.get(context.account_id, context.id_param("inbox_id"),
                                                                     context.id_param("message_id"))));
    });

    const std::string rules_path = prefix + "/forwarding_rules";
    router.add_account_route("GET", rules_path, read, [&forwarding](Context& context) {
      json::array out;
      for (const ForwardRule& rule : forwarding.rules(context.account_id, context.id_param("inbox_id")))
        out.push_back(rule_json(rule));
      return json_response(200, out);
    });
    // {"email":"…","purpose":"manual"|"auto"} or {"domain":"…"}, optionally wrapped in "forwarding_rule".
    router.add_account_route("POST", rules_path, write, [&forwarding](Context& context) {
      const json::value body = parse_body(context.request);
      const json::object* wrapped = optional_object(as_object(body, ""), "forwarding_rule", "");
      const json::object& fields = wrapped ? *wrapped : as_object(body, "");
      const auto email = optional_string(fields, "email", "forwarding_rule");
      const auto domain = optional_string(fields, "domain", "forwarding_rule");
      if (email.has_value() == domain.has_value())
        throw ValidationError("base", "Give either an email address or a domain");
      const std::int64_t inbox_id = context.id_param("inbox_id");
      const ForwardRule rule =
          email ? forwarding.add_address(context.account_id, inbox_id, *email,
                                         optional_string(fields, "purpose", "forwarding_rule")
                                             .value_or(std::string(sandbox::forward_purpose::manual)))
                : forwarding.add_domain(context.account_id, inbox_id, *domain);
      return json_response(200, rule_json(rule));
    });
    const std::string rule_path = rules_path + "/{rule_id}";
    router.add_account_route("DELETE", rule_path, write, [&forwarding](Context& context) {
      forwarding.remove_rule(context.account_id, context.id_param("inbox_id"), context.id_param("rule_id"));
      return no_content();
    });
    router.add_account_route("POST", rule_path + "/resend_confirmation", write, [&forwarding](Context& context) {
      return json_response(200, rule_json(forwarding.resend_confirmation(
                                    context.account_id, context.id_param("inbox_id"), context.id_param("rule_id"))));
    });
    router.add_account_route("POST", rule_path + "/verify", write, [&forwarding](Context& context) {
      return json_response(200, rule_json(forwarding.verify_domain(context.account_id, context.id_param("inbox_id"),
                                                                   context.id_param("rule_id"))));
    });
  }

  router.add("GET", "/forwarding/confirm/{token}", rules::open(), [&forwarding](Context& context) {
    try {
      const ForwardRule rule = forwarding.rule_for_token(context.params.at("token"));
      if (rule.status == sandbox::forward_status::active)
        return html_page(200, "Forwarding confirmed", "<p>" + what_is_forwarded(rule) + "</p>");
      return html_page(200, "Confirm email forwarding",
                       "<p>" + what_is_forwarded(rule) +
                           "</p><form method=\"post\"><button type=\"submit\">Confirm</button></form>");
    } catch (const NotFound&) {
      return html_page(404, "Link not found", "<p>This confirmation link is not valid any more.</p>");
    }
  });
  router.add("POST", "/forwarding/confirm/{token}", rules::open(), [&forwarding](Context& context) {
    try {
      const ForwardRule rule = forwarding.confirm(context.params.at("token"));
      return html_page(200, "Forwarding confirmed", "<p>" + what_is_forwarded(rule) + "</p>");
    } catch (const NotFound&) {
      return html_page(404, "Link not found", "<p>This confirmation link is not valid any more.</p>");
    }
  });
}

}  // namespace postroom::http::api
