#pragma once
// Email the platform itself writes (setup instructions today; alerts later). Until live sending exists it is
// captured into the account's own "System mail" sandbox, created on first use, so nothing is ever dropped.
#include <string>

#include "sandbox/inboxes.h"
#include "sandbox/messages.h"

namespace postroom::sandbox {

class SystemMailbox {
 public:
  // `sender_domain` is the domain of the From address (postroom@<domain>).
  SystemMailbox(store::Database& db, InboxesService& inboxes, MessagesService& messages, std::string sender_domain)
      : db_(db), inboxes_(inboxes), messages_(messages), sender_domain_(std::move(sender_domain)) {}

  // Builds the message and captures it; returns the captured message's id. Throws on storage errors.
  std::int64_t deliver(std::int64_t account_id, const std::string& to, const std::string& subject,
                       const std::string& text, const std::string& html);
  // The account's system sandbox id, created when missing.
  std::int64_t inbox_for(std::int64_t account_id);

 private:
  store::Database& db_;
  InboxesService& inboxes_;
  MessagesService& messages_;
  std::string sender_domain_;
};

}  // namespace postroom::sandbox
