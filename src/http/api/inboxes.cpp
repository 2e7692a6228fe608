// Email Sandbox inboxes (sandboxes): list, get, update, delete, clean, mark all read, reset SMTP credentials, and
// the sandbox's own email address (toggle, reset). Also reachable as /sandboxes (the newer API's name).
#include "core/errors.h"
#include "http/api/routes.h"
#include "http/api/sandbox_json.h"
#include "http/json.h"
#include "sandbox/events.h"
#include "sandbox/forwarding_model.h"

namespace postroom::http::api {

namespace {

json::object permissions_json(int level) {
  return {{"can_read", level >= accounts::level::indeterminate},
          {"can_update", level >= accounts::level::admin},
          {"can_destroy", level >= accounts::level::admin},
          {"can_leave", false}};
}

// The request's {"inbox":{…}} (the newer API says {"sandbox":{…}}); empty when neither is sent.
const json::object* inbox_fields(const json::value& body) {
  const json::object& root = as_object(body, "");
  if (const json::object* inbox = optional_object(root, "inbox", "")) return inbox;
  return optional_object(root, "sandbox", "");
}

// Every --sandbox-pop3 and --sandbox-pop3s port, in order, once each.
json::array pop3_ports(const SandboxSettings& settings) {
  json::array ports;
  for (const std::string* list : {&settings.pop3, &settings.pop3s}) {
    for (const HostPort& listener : parse_host_port_list(*list)) {
      const json::value port = std::int64_t{listener.port};
      bool listed = false;
      for (const json::value& known : ports) listed = listed || known == port;
      if (!listed) ports.push_back(port);
    }
  }
  return ports;
}

}  // namespace

json::object inbox_json(const sandbox::Inbox& inbox, const sandbox::SandboxEndpoints& endpoints,
                        const SandboxSettings& settings) {
  json::array smtp_ports;
  for (std::int64_t port : endpoints.smtp_ports) smtp_ports.push_back(port);
  const bool used = inbox.sent_messages_count > 0 || inbox.last_message_sent_at.has_value();
  return {{"id", inbox.id},
          {"name", inbox.name},
          {"username", inbox.smtp_username},
          {"password", inbox.smtp_password},
          {"max_size", inbox.max_messages.value_or(settings.max_messages)},
          {"status", inbox.status},
          {"email_username", inbox.email_username},
          {"email_username_enabled", inbox.email_username_enabled},
          {"sent_messages_count", inbox.sent_messages_count},
          {"forwarded_messages_count", inbox.forwarded_messages_count},
          {"used", used},
          {"forward_from_email_address",
           sandbox::forward_from_address(inbox.smtp_username, inbox.id, settings.forward_domain)},
          {"project_id", inbox.project_id},
          {"domain", endpoints.smtp_host},
          {"pop3_domain", endpoints.smtp_host},  // the POP3 listeners serve the sandboxes on the same host
          {"email_domain", endpoints.email_domain},
          {"smtp_ports", std::move(smtp_ports)},
          {"pop3_ports", pop3_ports(settings)},
          {"api_domain", endpoints.api_domain},
          {"emails_count", inbox.emails_count},
          {"emails_unread_count", inbox.emails_unread_count},
          {"last_message_sent_at", optional_time(inbox.last_message_sent_at)},
          {"max_message_size", inbox.max_message_size.value_or(settings.max_message_size)},
          {"permissions", permissions_json(inbox.access_level)}};
}

json::object project_json(const sandbox::Project& project, const sandbox::SandboxEndpoints& endpoints,
                          const SandboxSettings& settings) {
  json::array inboxes;
  for (const sandbox::Inbox& inbox : project.inboxes) inboxes.push_back(inbox_json(inbox, endpoints, settings));
  const std::string base = endpoints.public_url + "/projects/" + std::to_string(project.id) + "/share/";
  return {{"id", project.id},
          {"name", project.name},
          {"share_links", {{"admin", base + "admin"}, {"viewer", base + "viewer"}}},
          {"inboxes", std::move(inboxes)},
          {"permissions", permissions_json(project.access_level)}};
}

void add_inboxes_routes(Router& router, Services& services) {
  auto& inboxes = services.inboxes;
  auto reply = [&inboxes](const sandbox::Inbox& inbox) {
    return json_response(200, inbox_json(inbox, inboxes.endpoints(), inboxes.settings()));
  };
  // Every path twice: the Mailtrap SDKs' "inboxes" and the newer API's "sandboxes".
  for (const std::string collection : {"/inboxes", "/sandboxes"}) {
    const std::string item = collection + "/{inbox_id}";
    router.add_account_route("GET", collection, rules::in_account(), [&inboxes](Context& context) {
      json::array out;
      for (const auto& inbox : inboxes.list_inboxes(context.principal, context.account_id))
        out.push_back(inbox_json(inbox, inboxes.endpoints(), inboxes.settings()));
      return json_response(200, out);
    });
    router.add_account_route(
        "GET", item, rules::inbox_level("inbox_id", accounts::level::viewer), [&inboxes, reply](Context& context) {
          return reply(inboxes.get_inbox(context.principal, context.account_id, context.id_param("inbox_id")));
        });
    router.add_account_route(
        "PATCH", item, rules::inbox_level("inbox_id", accounts::level::admin), [&inboxes, reply](Context& context) {
          const json::value body = parse_body(context.request);
          sandbox::InboxChanges changes;
          if (const json::object* fields = inbox_fields(body)) {
            changes.name = optional_string(*fields, "name", "inbox");
            changes.email_username = optional_string(*fields, "email_username", "inbox");
          }
          return reply(
              inboxes.update_inbox(context.principal, context.account_id, context.id_param("inbox_id"), changes));
        });
    router.add_account_route(
        "DELETE", item, rules::inbox_level("inbox_id", accounts::level::admin), [&inboxes, reply](Context& context) {
          return reply(inboxes.delete_inbox(context.principal, context.account_id, context.id_param("inbox_id")));
        });
    using Action = sandbox::Inbox (sandbox::InboxesService::*)(const accounts::Principal&, std::int64_t, std::int64_t);
    const std::vector<std::tuple<std::string, Action, int>> actions = {
        {"/clean", &sandbox::InboxesService::clean_inbox, accounts::level::admin},
        // Reading a message marks it read, so whoever may read may mark all read.
        {"/all_read", &sandbox::InboxesService::mark_all_read, accounts::level::viewer},
        {"/reset_credentials", &sandbox::InboxesService::reset_credentials, accounts::level::admin},
        {"/toggle_email_username", &sandbox::InboxesService::toggle_email_username, accounts::level::admin},
        {"/reset_email_username", &sandbox::InboxesService::reset_email_username, accounts::level::admin},
    };
    for (const auto& [suffix, action, min_level] : actions) {
      router.add_account_route(
          "PATCH", item + suffix, rules::inbox_level("inbox_id", min_level),
          [&inboxes, &services, reply, action = action, suffix = suffix](Context& context) {
            const std::int64_t inbox_id = context.id_param("inbox_id");
            Response response = reply((inboxes.*action)(context.principal, context.account_id, inbox_id));
            // Live views and waiters learn about changes to many messages at once.
            if (services.sandbox_events && (suffix == "/clean" || suffix == "/all_read")) {
              services.sandbox_events->publish({suffix == "/clean" ? sandbox::SandboxEvent::Type::inbox_cleaned
                                                                   : sandbox::SandboxEvent::Type::inbox_all_read,
                                                context.account_id, inbox_id, 0});
            }
            return response;
          });
    }
  }
  for (const std::string collection : {"/inboxes", "/sandboxes"}) {
    router.add_account_route(
        "POST", "/projects/{project_id}" + collection, rules::project_level("project_id", accounts::level::admin),
        [&inboxes, reply](Context& context) {
          const json::value body = parse_body(context.request);
          const json::object* fields = inbox_fields(body);
          const std::string name = fields ? optional_string(*fields, "name", "inbox").value_or("") : "";
          return reply(
              inboxes.create_inbox(context.principal, context.account_id, context.id_param("project_id"), name));
        });
  }
}

}  // namespace postroom::http::api
