#include "sending/smtp_submission.h"

#include <spdlog/spdlog.h>

#include "mime/text.h"

namespace postroom::sending {

// Lives as long as the authenticated session (AuthResult::data); its destructor frees the account's slot.
struct SmtpSubmission::Session {
  SmtpSubmission* owner = nullptr;
  accounts::Principal principal;
  int messages = 0;
  ~Session() { owner->release(principal.account_id); }
};

void SmtpSubmission::release(std::int64_t account_id) {
  std::lock_guard lock(mutex_);
  if (auto it = connections_.find(account_id); it != connections_.end() && --it->second <= 0) connections_.erase(it);
}

smtp::SessionPolicy SmtpSubmission::session_policy(const smtp::ConnectionInfo& connection) {
  smtp::SessionPolicy policy;
  policy.auth_enabled = true;
  policy.auth_required = true;
  policy.auth_requires_tls = !settings_.allow_plaintext_auth && connection.mode != smtp::ListenerMode::implicit_tls;
  policy.offer_cram_md5 = false;  // tokens are stored hashed: there is no plaintext secret to compute with
  return policy;
}

smtp::AuthResult SmtpSubmission::authenticate(const smtp::AuthAttempt& attempt) {
  if (!mime::text::equals_ignore_case(attempt.username, "api"))
    return smtp::AuthResult::reject({535, "5.7.0", "Invalid login or password"});
  const auto principal = accounts_.authenticate(attempt.password);
  if (!principal) return smtp::AuthResult::reject({535, "5.7.0", "Invalid login or password"});
  {
    std::lock_guard lock(mutex_);
    int& count = connections_[principal->account_id];
    if (count >= settings_.max_connections_per_account)
      return smtp::AuthResult::reject({535, "5.7.8", "Too many connections per account"});
    ++count;
  }
  auto session = std::make_shared<Session>();
  session->owner = this;
  session->principal = *principal;
  return smtp::AuthResult::accept(std::move(session));
}

smtp::Reply SmtpSubmission::mail_from(smtp::Transaction& transaction) {
  auto* session = transaction.identity ? static_cast<Session*>(transaction.identity->data.get()) : nullptr;
  if (!session) return {530, "5.7.1", "Authentication required"};
  if (session->messages >= settings_.max_messages_per_connection)
    return {421, "4.7.0", "Too many messages per connection; open a new one"};
  transaction.max_message_size = settings_.max_message_size;
  try {
    sending_.check_sender_domain({.account_id = session->principal.account_id,
                                  .principal = session->principal,
                                  .stream = stream_,
                                  .client_ip = transaction.connection.client_ip},
                                 transaction.mail_from.text());
  } catch (const SendRefused& e) {
    return {550, "5.7.1", "Sending from domain is not allowed"};
  }
  return smtp::Reply::ok();
}

smtp::Reply SmtpSubmission::rcpt_to(smtp::Transaction& transaction, const smtp::Address& recipient) {
  if (recipient.domain.empty() || recipient.local_part.empty())
    return {550, "5.1.3", "Recipient address must be user@domain"};
  return smtp::Reply::ok();
}

smtp::Reply SmtpSubmission::deliver(const smtp::Transaction& transaction, std::string message) {
  auto* session = transaction.identity ? static_cast<Session*>(transaction.identity->data.get()) : nullptr;
  if (!session) return {530, "5.7.1", "Authentication required"};
  std::vector<std::string> recipients;
  for (const auto& r : transaction.recipients) recipients.push_back(r.text());
  try {
    const auto accepted = sending_.accept_raw({.account_id = session->principal.account_id,
                                               .principal = session->principal,
                                               .stream = stream_,
                                               .client_ip = transaction.connection.client_ip},
                                              message, transaction.mail_from.text(), recipients);
    ++session->messages;
    return {250, "2.0.0",
            "Ok: queued as " + (accepted.message_ids.empty() ? std::string() : accepted.message_ids.front())};
  } catch (const SendRefused& e) {
    const std::string& reply = e.smtp_reply;  // "550 5.7.1 text"
    const int code = std::stoi(reply.substr(0, 3));
    const auto space = reply.find(' ', 4);
    return {code, reply.substr(4, space - 4), reply.substr(space + 1)};
  } catch (const std::exception& e) {
    spdlog::error("SMTP submission failed: {}", e.what());
    return {451, "4.3.0", "Temporary failure; try again later"};
  }
}

}  // namespace postroom::sending
