#pragma once
// The Email Sandbox behind the POP3 server: a sandbox's SMTP credentials open it, and its maildrop is a snapshot of
// the sandbox's messages at login (oldest first; messages captured later wait for the next login). RETR serves the
// stored raw bytes with CRLF line endings and marks the message read, as opening it in the API would; the UIDL is
// the message id (ids are never reused); DELE takes effect at QUIT, all deletions in one transaction.
//
// One POP3 session at a time per sandbox: a second login gets -ERR [IN-USE]. The lock lives in this process, so
// nodes sharing a PostgreSQL database do not see each other's sessions.
#include <cstdint>
#include <mutex>
#include <set>
#include <unordered_map>

#include "core/clock.h"
#include "pop3/backend.h"
#include "sandbox/inboxes.h"
#include "sandbox/messages.h"
#include "store/database.h"

namespace postroom::sandbox {

class Pop3Mailbox final : public pop3::Backend {
 public:
  // `local_storage`: the store is embedded (SQLite), so reading one message never waits on the network and runs
  // on the POP3 I/O threads. Every reference must outlive the mailbox, which must outlive the POP3 server.
  Pop3Mailbox(store::Database& db, InboxesService& inboxes, MessagesService& messages, const Clock& clock,
              bool local_storage = false);
  Pop3Mailbox(store::Database&, InboxesService&, MessagesService&, Clock&&, bool = false) = delete;

  bool runs_inline(pop3::BackendCall call) const override {
    return local_storage_ && call == pop3::BackendCall::content;
  }
  pop3::LoginResult open(const pop3::LoginAttempt& attempt) override;

  // A POP3 session holds this sandbox now.
  bool is_open(std::int64_t inbox_id) const;

 private:
  class SandboxMaildrop;

  bool lock(std::int64_t inbox_id);
  void unlock(std::int64_t inbox_id);
  // The served size of each message, remembered by id (a stored message never changes).
  std::optional<std::uint64_t> known_size(std::int64_t message_id) const;
  void remember_size(std::int64_t message_id, std::uint64_t size);
  void mark_read(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id);

  store::Database& db_;
  InboxesService& inboxes_;
  MessagesService& messages_;
  const Clock& clock_;
  bool local_storage_;

  mutable std::mutex mutex_;  // guards the two below
  std::set<std::int64_t> open_inboxes_;
  std::unordered_map<std::int64_t, std::uint64_t> sizes_;
};

}  // namespace postroom::sandbox
