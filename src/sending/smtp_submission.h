#pragma once
// SMTP submission for live sending (--smtp transactional, --smtp-bulk bulk): AUTH PLAIN/LOGIN with username
// "api" and an API token as the password, the sending policy at MAIL (the domain must be verified and the
// token may send from it), and acceptance through SendingService (durable before 250). Limits from the seed's
// "Sending Limits": 10 connections per account (535 5.7.8 Too many connections per account), 100 messages per
// connection, the message size.
#include <atomic>
#include <map>
#include <mutex>

#include "accounts/service.h"
#include "sending/service.h"
#include "smtp/backend.h"

namespace postroom::sending {

struct SubmissionSettings {
  int max_connections_per_account = 10;
  int max_messages_per_connection = 100;
  std::size_t max_message_size = 10 * 1024 * 1024;
  bool allow_plaintext_auth = false;  // AUTH before STARTTLS (local development only)
};

class SmtpSubmission final : public smtp::SmtpBackend {
 public:
  SmtpSubmission(accounts::AccountsService& accounts, SendingService& sending, Stream stream,
                 SubmissionSettings settings)
      : accounts_(accounts), sending_(sending), stream_(stream), settings_(settings) {}

  smtp::SessionPolicy session_policy(const smtp::ConnectionInfo& connection) override;
  smtp::AuthResult authenticate(const smtp::AuthAttempt& attempt) override;
  smtp::Reply mail_from(smtp::Transaction& transaction) override;
  smtp::Reply rcpt_to(smtp::Transaction& transaction, const smtp::Address& recipient) override;
  smtp::Reply deliver(const smtp::Transaction& transaction, std::string message) override;

 private:
  struct Session;
  void release(std::int64_t account_id);

  accounts::AccountsService& accounts_;
  SendingService& sending_;
  Stream stream_;
  SubmissionSettings settings_;
  std::mutex mutex_;
  std::map<std::int64_t, int> connections_;  // authenticated sessions per account
};

}  // namespace postroom::sending
