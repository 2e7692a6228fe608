#pragma once
// One registration function per API resource; each lives in its own file in this folder.
#include "accounts/service.h"
#include "core/metrics.h"
#include "http/router.h"
#include "sandbox/inboxes.h"
#include "store/database.h"

namespace postroom::accounts {
class SessionsService;
}  // namespace postroom::accounts
namespace postroom::sandbox {
class MessagesService;
class EventHub;
class ForwardingService;
class MessageAnalysis;
}  // namespace postroom::sandbox
namespace postroom::email_templates {
class TemplatesService;
}  // namespace postroom::email_templates
namespace postroom::domains {
class DomainsService;
}  // namespace postroom::domains
namespace postroom::sending {
class SendingService;
}  // namespace postroom::sending

namespace postroom::http::api {

struct Services {
  accounts::AccountsService& accounts;
  store::Database& database;
  Metrics& metrics;
  sandbox::InboxesService& inboxes;
  // Email Sandbox messages; their routes are registered only when set.
  sandbox::MessagesService* messages = nullptr;
  std::int64_t max_wait_seconds = 300;                     // longest accepted messages/wait timeout
  sandbox::EventHub* sandbox_events = nullptr;             // live event streams; registered only when set
  std::string public_url{};                                // the one browser Origin allowed on event streams
  email_templates::TemplatesService* templates = nullptr;  // email templates; registered only when set
  domains::DomainsService* domains = nullptr;              // sending domains; registered only when set
  sending::SendingService* sending = nullptr;              // live sending, email logs, suppressions
  sandbox::ForwardingService* forwarding = nullptr;        // sandbox forwarding rules and forwards
  sandbox::MessageAnalysis* analysis = nullptr;            // spam and blacklist reports
  accounts::SessionsService* sessions = nullptr;           // web UI sign-in; the UI is served only when set
};

void add_health_routes(Router& router, Services& services);
void add_accounts_routes(Router& router, Services& services);
void add_account_accesses_routes(Router& router, Services& services);
void add_permissions_routes(Router& router, Services& services);
void add_api_tokens_routes(Router& router, Services& services);
void add_billing_routes(Router& router, Services& services);
void add_sub_accounts_routes(Router& router, Services& services);
void add_sandbox_messages_routes(Router& router, Services& services);
void add_sandbox_send_routes(Router& router, Services& services);
void add_sandbox_events_routes(Router& router, Services& services);
void add_sandbox_forwarding_routes(Router& router, Services& services);
void add_sandbox_analysis_routes(Router& router, Services& services);
void add_sandbox_html_check_routes(Router& router, Services& services);
void add_projects_routes(Router& router, Services& services);
void add_inboxes_routes(Router& router, Services& services);
void add_email_templates_routes(Router& router, Services& services);
void add_sending_domains_routes(Router& router, Services& services);
void add_send_routes(Router& router, Services& services);
void add_email_logs_routes(Router& router, Services& services);
void add_suppressions_routes(Router& router, Services& services);
void add_unsubscribe_routes(Router& router, Services& services);
void add_session_routes(Router& router, Services& services);
void add_users_routes(Router& router, Services& services);
void add_web_ui_routes(Router& router, Services& services);

inline void add_all_routes(Router& router, Services& services) {
  add_health_routes(router, services);
  add_accounts_routes(router, services);
  add_account_accesses_routes(router, services);
  add_permissions_routes(router, services);
  add_api_tokens_routes(router, services);
  add_billing_routes(router, services);
  add_sub_accounts_routes(router, services);
  add_projects_routes(router, services);
  add_inboxes_routes(router, services);
  add_email_templates_routes(router, services);
  add_sending_domains_routes(router, services);
  add_send_routes(router, services);
  add_email_logs_routes(router, services);
  add_suppressions_routes(router, services);
  add_unsubscribe_routes(router, services);
  add_sandbox_messages_routes(router, services);
  add_sandbox_send_routes(router, services);
  add_sandbox_events_routes(router, services);
  add_sandbox_forwarding_routes(router, services);
  add_sandbox_analysis_routes(router, services);
  add_sandbox_html_check_routes(router, services);
  add_session_routes(router, services);
  add_users_routes(router, services);
  add_web_ui_routes(router, services);
}

}  // namespace postroom::http::api
