#pragma once
// The Email Sandbox behind the SMTP server: who may log in (each sandbox's own credentials), where a message
// goes (the authenticated sandbox, a sandbox's own email address, or the configured default sandbox), the
// bounce emulator, and the per-sandbox limits, with the reply texts of the Mailtrap documentation.
#include <string>

#include "sandbox/inboxes.h"
#include "sandbox/messages.h"
#include "smtp/backend.h"

namespace postroom::sandbox {

// `bounce+<code>[+<enhanced>]+<url-encoded+words>@…`: the reply the bounce emulator gives at RCPT; empty for
// any other address.
std::optional<smtp::Reply> bounce_emulator_reply(std::string_view local_part);

class SmtpCapture final : public smtp::SmtpBackend {
 public:
  // `local_storage`: the store is embedded (SQLite), so lookups never wait on the network and the checks
  // before DATA can run on the SMTP I/O threads.
  SmtpCapture(InboxesService& inboxes, MessagesService& messages, const SandboxSettings& settings,
              bool local_storage = false);

  bool runs_inline(smtp::BackendCall call) const override {
    return local_storage_ && call != smtp::BackendCall::deliver;
  }

  smtp::SessionPolicy session_policy(const smtp::ConnectionInfo& connection) override;
  smtp::AuthResult authenticate(const smtp::AuthAttempt& attempt) override;
  smtp::Reply mail_from(smtp::Transaction& transaction) override;
  smtp::Reply rcpt_to(smtp::Transaction& transaction, const smtp::Address& recipient) override;
  smtp::Reply deliver(const smtp::Transaction& transaction, std::string message) override;
  bool deliver_async(const smtp::Transaction& transaction, std::string& message,
                     std::function<void(smtp::Reply)> done) override;

 private:
  Envelope envelope_of(const smtp::Transaction& transaction);
  std::optional<smtp::Reply> check_targets(const smtp::Transaction& transaction);
  InboxesService& inboxes_;
  MessagesService& messages_;
  const SandboxSettings& settings_;
  bool local_storage_;
};

}  // namespace postroom::sandbox
