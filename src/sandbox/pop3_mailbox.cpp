#include "sandbox/pop3_mailbox.h"

#include <spdlog/spdlog.h>

#include "core/compression.h"
#include "core/crypto.h"
#include "core/errors.h"
#include "pop3/session.h"
#include "store/messages_store.h"

namespace postroom::sandbox {
namespace {

constexpr int kListBatch = 500;
constexpr std::size_t kMaxRememberedSizes = 200'000;  // then the size cache starts over

}  // namespace

class Pop3Mailbox::SandboxMaildrop final : public pop3::Maildrop {
 public:
  SandboxMaildrop(Pop3Mailbox& mailbox, std::int64_t account_id, std::int64_t inbox_id)
      : mailbox_(mailbox), account_id_(account_id), inbox_id_(inbox_id) {}
  ~SandboxMaildrop() override { mailbox_.unlock(inbox_id_); }

  // Lists the sandbox oldest first and sizes every message as served, in one read snapshot.
  void take_snapshot() {
    struct Entry {
      std::int64_t id;
      bool is_read;
    };
    std::vector<Entry> entries;
    std::vector<std::uint64_t> sizes;
    mailbox_.db_.read([&](store::Tx& tx) {
      store::MessagesStore store(tx);
      std::optional<std::int64_t> after;
      while (true) {
        const auto batch = store.list(account_id_, inbox_id_, SearchQuery{}, std::nullopt, after, kListBatch, 0, true);
        for (const MessageSummary& m : batch) entries.push_back({m.id, m.is_read});
        if (static_cast<int>(batch.size()) < kListBatch) break;
        after = batch.back().id;
      }
      for (const Entry& entry : entries) {
        if (auto known = mailbox_.known_size(entry.id)) {
          sizes.push_back(*known);
          continue;
        }
        // Sizes count CRLF line endings as served, which may differ from the stored bytes: read them once.
        const auto stored = store.raw(account_id_, inbox_id_, entry.id);
        const auto bytes =
            stored ? zstd_decompress(stored->compressed, static_cast<std::size_t>(stored->size)) : std::nullopt;
        if (!bytes) {
          spdlog::warn("pop3: message {} of sandbox {} cannot be read; left out", entry.id, inbox_id_);
          sizes.push_back(UINT64_MAX);
          continue;
        }
        const std::uint64_t size = pop3::normalized_size(*bytes);
        mailbox_.remember_size(entry.id, size);
        sizes.push_back(size);
      }
    });
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (sizes[i] == UINT64_MAX) continue;
      messages_.push_back({std::to_string(entries[i].id), sizes[i]});
      ids_.push_back(entries[i].id);
      read_.push_back(entries[i].is_read);
    }
  }

  const std::vector<pop3::MaildropMessage>& messages() const override { return messages_; }

  std::optional<std::string> content(std::size_t index) override {
    try {
      return pop3::normalize_line_endings(mailbox_.messages_.raw(account_id_, inbox_id_, ids_.at(index)));
    } catch (const NotFound&) {
      return std::nullopt;  // deleted through the API (or evicted) since the login
    }
  }

  void retrieved(std::size_t index) override {
    if (read_.at(index)) return;
    read_[index] = true;
    mailbox_.mark_read(account_id_, inbox_id_, ids_[index]);
  }

  bool remove(const std::vector<std::size_t>& indexes) override {
    std::vector<std::int64_t> removed;
    mailbox_.db_.write([&](store::Tx& tx) {
      store::MessagesStore store(tx);
      for (std::size_t index : indexes) {
        const std::int64_t id = ids_.at(index);
        if (store.remove(account_id_, inbox_id_, id)) removed.push_back(id);
      }
    });
    for (std::int64_t id : removed)
      mailbox_.messages_.announce({SandboxEvent::Type::message_deleted, account_id_, inbox_id_, id});
    return true;
  }

 private:
  Pop3Mailbox& mailbox_;
  std::int64_t account_id_;
  std::int64_t inbox_id_;
  std::vector<pop3::MaildropMessage> messages_;
  std::vector<std::int64_t> ids_;
  std::vector<bool> read_;
};

Pop3Mailbox::Pop3Mailbox(store::Database& db, InboxesService& inboxes, MessagesService& messages, const Clock& clock,
                         bool local_storage)
    : db_(db), inboxes_(inboxes), messages_(messages), clock_(clock), local_storage_(local_storage) {}

pop3::LoginResult Pop3Mailbox::open(const pop3::LoginAttempt& attempt) {
  // The same check as SMTP AUTH: the sandbox's own credentials, compared in constant time.
  const auto inbox = inboxes_.find_by_smtp_username(attempt.username);
  if (!inbox || !crypto::constant_time_equals(attempt.password, inbox->smtp_password))
    return pop3::LoginResult::refuse(pop3::LoginStatus::invalid);
  if (!lock(inbox->inbox_id)) return pop3::LoginResult::refuse(pop3::LoginStatus::in_use);
  // From here the maildrop owns the lock: any failure below releases it with the object.
  auto maildrop = std::make_unique<SandboxMaildrop>(*this, inbox->account_id, inbox->inbox_id);
  try {
    maildrop->take_snapshot();
  } catch (const std::exception& e) {
    spdlog::error("pop3: opening sandbox {} failed: {}", inbox->inbox_id, e.what());
    return pop3::LoginResult::refuse(pop3::LoginStatus::unavailable);
  }
  return {pop3::LoginStatus::ok, std::move(maildrop)};
}

bool Pop3Mailbox::is_open(std::int64_t inbox_id) const {
  std::lock_guard lock(mutex_);
  return open_inboxes_.contains(inbox_id);
}

bool Pop3Mailbox::lock(std::int64_t inbox_id) {
  std::lock_guard lock(mutex_);
  return open_inboxes_.insert(inbox_id).second;
}

void Pop3Mailbox::unlock(std::int64_t inbox_id) {
  std::lock_guard lock(mutex_);
  open_inboxes_.erase(inbox_id);
}

std::optional<std::uint64_t> Pop3Mailbox::known_size(std::int64_t message_id) const {
  std::lock_guard lock(mutex_);
  const auto it = sizes_.find(message_id);
  if (it == sizes_.end()) return std::nullopt;
  return it->second;
}

void Pop3Mailbox::remember_size(std::int64_t message_id, std::uint64_t size) {
  std::lock_guard lock(mutex_);
  if (sizes_.size() >= kMaxRememberedSizes) sizes_.clear();
  sizes_[message_id] = size;
}

void Pop3Mailbox::mark_read(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id) {
  // Queued, not awaited: the reply to RETR does not wait for this commit. (Without a writer thread the store runs
  // it here; the POP3 server then calls us on a worker.)
  const std::int64_t now = clock_.now();
  MessagesService& messages = messages_;
  db_.write_async(
      [=](store::Tx& tx) { store::MessagesStore(tx).set_read(account_id, inbox_id, message_id, true, now); },
      [&messages, account_id, inbox_id, message_id](std::exception_ptr error) {
        if (error) {
          spdlog::warn("pop3: marking message {} read failed", message_id);
          return;
        }
        messages.announce({SandboxEvent::Type::message_updated, account_id, inbox_id, message_id});
      });
}

}  // namespace postroom::sandbox
