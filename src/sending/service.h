#pragma once
// Live sending: accepting messages (HTTP send/batch and SMTP submission) under the sending policy, the email
// logs and the suppression list. Delivery itself is the DeliveryEngine's (delivery.h); this service tells it
// about new work through `on_enqueued`. Knows nothing of HTTP or sockets.
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "accounts/service.h"
#include "core/clock.h"
#include "domains/service.h"
#include "mime/build.h"
#include "sending/model.h"
#include "store/database.h"
#include "store/sending_store.h"

namespace postroom::email_templates {
class TemplatesService;
}

namespace postroom::sending {

struct SendingSettings {
  std::string public_url;   // base of unsubscribe links
  std::string bounce_host;  // mailto: unsubscribe and CFBL-Address host
  std::int64_t max_message_size = 10 * 1024 * 1024;
  std::int64_t monthly_limit = -1;  // messages per billing cycle; -1 unlimited
};

// A refused send: the HTTP status and error text, and the SMTP reply for submission.
struct SendRefused : std::runtime_error {
  int http_status;
  std::string smtp_reply;
  SendRefused(int status, const std::string& message, std::string reply)
      : std::runtime_error(message), http_status(status), smtp_reply(std::move(reply)) {}
};

struct Sender {
  std::int64_t account_id = 0;
  accounts::Principal principal;
  Stream stream = Stream::transactional;
  std::string client_ip;
};

struct Accepted {
  std::vector<std::string> message_ids;  // one per recipient: to, cc, bcc order (Auto BCC copies not listed)
};

struct LogPage {
  std::vector<SentMessage> messages;
  std::int64_t total_count = 0;
  std::optional<std::string> next_page_cursor;
};

struct SuppressionInput {
  std::string email;
  std::optional<std::int64_t> domain_id;
  std::string sending_stream = "any";
  std::string type = "manual import";
};

class SendingService {
 public:
  using EnqueuedCallback = std::function<void(const std::vector<std::int64_t>& message_row_ids)>;
  // The outcome of an accepted message's write: its ids once durably stored, or the error that kept it out.
  using AcceptedCallback = std::function<void(Accepted accepted, std::exception_ptr error)>;

  SendingService(store::Database& db, accounts::AccountsService& accounts, domains::DomainsService& domains,
                 email_templates::TemplatesService* templates, const Clock& clock, SendingSettings settings);

  // Called after each commit with the new queue entries (the delivery engine schedules them).
  void on_enqueued(EnqueuedCallback callback) { on_enqueued_ = std::move(callback); }

  // An API message (template_uuid rendered here). Throws SendRefused; NotFound for an unknown template.
  // Returns once the message is durably stored.
  Accepted accept(const Sender& sender, mime::OutgoingMessage message);
  // `accept` without waiting for the commit: refusals are thrown at once, as by `accept`; otherwise `done` is
  // called once the message is durably stored (or could not be), on the thread that committed it — it must not
  // block or write. Lets a caller answer from the commit instead of holding a thread until it.
  void accept_async(const Sender& sender, mime::OutgoingMessage message, AcceptedCallback done);
  // An SMTP submission: raw bytes and envelope. X-MT-Category / X-MT-Custom-Variables are read and removed.
  Accepted accept_raw(const Sender& sender, std::string_view raw, const std::string& mail_from,
                      const std::vector<std::string>& recipients);
  void accept_raw_async(const Sender& sender, std::string_view raw, const std::string& mail_from,
                        const std::vector<std::string>& recipients, AcceptedCallback done);
  // Whether `sender` may send from `mail_from`'s domain at all (the SMTP MAIL command's early check).
  void check_sender_domain(const Sender& sender, const std::string& mail_from);

  LogPage logs(std::int64_t account_id, store::LogQuery query, const std::optional<std::string>& search_after);
  SentMessage log(std::int64_t account_id, const std::string& message_id);  // NotFound
  std::vector<MessageEvent> events(const SentMessage& message);
  // The stored bytes as delivered (without the DKIM signature). NotFound.
  std::string raw_message(std::int64_t account_id, const std::string& message_id);

  std::vector<Suppression> suppressions(std::int64_t account_id, const std::optional<std::string>& email,
                                        std::optional<std::int64_t> start_time, std::optional<std::int64_t> end_time);
  Suppression add_suppression(std::int64_t account_id, const SuppressionInput& input);  // ValidationError
  Suppression remove_suppression(std::int64_t account_id, const std::string& id);       // NotFound

  // CSV import: a header row naming the columns (email required; sending_stream, domain_id or domain_name
  // optional), then one suppression per row ("manual import"). Valid rows are added in one transaction;
  // entries that exist already are skipped; bad rows are reported with their line. csv::Error for a malformed
  // file (nothing imported).
  struct ImportResult {
    std::int64_t imported = 0;
    std::int64_t skipped = 0;
    std::vector<std::pair<std::size_t, std::string>> errors;  // (line, message)
  };
  ImportResult import_suppressions(std::int64_t account_id, std::string_view csv_text);
  // Every suppression of the account as CSV (header: email,type,sending_stream,domain_name,created_at,…).
  std::string export_suppressions(std::int64_t account_id);

  // The unsubscribe link's action: suppresses the recipient for the message's domain and stream, records an
  // `unsubscribe` event and sets the status to opted_out. Returns the message; NotFound for unknown ids.
  SentMessage unsubscribe(const std::string& message_id, const std::string& web_ip);
  // Whether the id names a message (for the confirmation page).
  std::optional<SentMessage> find_for_unsubscribe(const std::string& message_id);

  // An asynchronous bounce (a DSN that came back to the message's VERP address, already categorized):
  // permanent → status not_delivered with a `bounce` event (and a suppression when the category says so), even
  // after a delivery; temporary (a delay warning) → a `soft_bounce` event only. NotFound for unknown ids.
  void record_async_bounce(const std::string& message_id, bool permanent, const std::string& category, bool suppress,
                           const std::string& status, const std::string& response, const std::string& reporting_mta);
  // A spam complaint (ARF report to the CFBL address): a `spam` event, status opted_out, and a "spam complaint"
  // suppression for the domain and stream. NotFound for unknown ids.
  void record_complaint(const std::string& message_id, const std::string& feedback_type);

 private:
  struct Recipient {
    std::string email;
    std::string kind;  // to | cc | bcc | auto_bcc
  };
  // The From domain if it is a live, compliant (or demo) domain of the account; SendRefused otherwise.
  domains::SendingDomain live_domain(const Sender& sender, const std::string& from_email);
  // SendRefused unless the sender holds Domain Admin on the domain.
  void check_domain_access(const Sender& sender, const domains::SendingDomain& domain);
  // The demo domain sends to the account's own users only: SendRefused for anyone else.
  void check_recipients(const Sender& sender, const domains::SendingDomain& domain,
                        const std::vector<Recipient>& recipients, bool name_the_recipient);
  void check_limits(const Sender& sender, std::size_t count);
  // Builds every copy now, then writes them in one transaction without waiting; `done` gets the outcome.
  void store_and_enqueue(const Sender& sender, const domains::SendingDomain& domain, const std::string& from,
                         const std::string& subject, const std::string& category,
                         const std::optional<std::string>& custom_variables,
                         const std::optional<std::int64_t>& template_id,
                         const std::optional<std::string>& template_variables, const std::vector<Recipient>& recipients,
                         const std::function<std::string(const Recipient&, const std::string& message_uuid)>& body_for,
                         bool body_per_recipient, AcceptedCallback done);
  std::vector<std::pair<std::string, std::string>> common_headers(const Sender& sender,
                                                                  const domains::SendingDomain& domain,
                                                                  const std::string& category);

  store::Database& db_;
  accounts::AccountsService& accounts_;
  domains::DomainsService& domains_;
  email_templates::TemplatesService* templates_;
  const Clock& clock_;
  SendingSettings settings_;
  EnqueuedCallback on_enqueued_;
};

// A suppression of `type` for the message's recipient, domain and stream, carrying what the list shows about
// the message (category, client IP, sender, subject, time). Bounce details are the caller's to add.
Suppression suppression_for(const SentMessage& message, std::string type, std::int64_t now);

// "example.com" from "a@Example.COM" (lowercase); empty when there is no '@'.
std::string domain_of(const std::string& email);
// The unsubscribe footer appended when a bulk message's HTML has no unsubscribe link.
std::string unsubscribe_footer_html(const std::string& url);
std::string unsubscribe_footer_text(const std::string& url);

}  // namespace postroom::sending
