#pragma once
// Captured sandbox messages and their attachments, with search. Every lookup is keyed by account and inbox, so
// another tenant's message is simply not found.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/model.h"
#include "store/database.h"

namespace postroom::store {

// The text the full-text index keeps for one message. Search rows go with their message on both backends
// (a foreign-key cascade; on SQLite its trigger takes the words out of the index).
struct SearchDocument {
  std::string subject;
  std::string addresses;
  std::string headers;
  std::string body;
  // SQLite: pack_search_text(headers, body), made by the caller off the single writer thread when it can;
  // index() makes it when empty.
  std::string packed_text;
};

class MessagesStore {
 public:
  explicit MessagesStore(Tx& tx) : tx_(tx) {}

  std::int64_t insert(const sandbox::MessageSummary& message, const std::string& raw_zstd,
                      const std::vector<sandbox::AttachmentSummary>& attachments, const SearchDocument& document);
  // insert() in two steps: the message and its attachments, then its search row. A batch of captures indexes
  // its messages after the last savepoint: SQLite's FTS5 writes its pending terms out as a new index segment
  // at every savepoint, so indexing inside per-message savepoints costs one segment (and its merges) each.
  std::int64_t insert_message(const sandbox::MessageSummary& message, const std::string& raw_zstd,
                              const std::vector<sandbox::AttachmentSummary>& attachments);
  void index(std::int64_t id, SearchDocument document);
  // Deletes the oldest messages of the inbox beyond the newest `keep`; returns the ids deleted. `count`: the
  // inbox's messages_count when the caller already has it (count_arrivals returns it).
  std::vector<std::int64_t> evict_beyond(std::int64_t inbox_id, std::int64_t keep,
                                         std::optional<std::int64_t> count = std::nullopt);
  struct Deleted {
    std::int64_t account_id, inbox_id, message_id;
  };
  // Deletes up to `limit` messages (of every inbox) created before `cutoff`.
  std::vector<Deleted> delete_created_before(std::int64_t cutoff, int limit);

  // Newest first. `before_id` is Mailtrap's last_id (messages older than it); `offset` serves page=N.
  std::vector<sandbox::MessageSummary> list(std::int64_t account_id, std::int64_t inbox_id,
                                            const sandbox::SearchQuery& query, std::optional<std::int64_t> before_id,
                                            std::optional<std::int64_t> after_id, int limit, int offset,
                                            bool oldest_first = false);
  std::optional<sandbox::MessageSummary> find(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id);
  // The stored bytes with what reading them needs: the decompressed size (the bound) and the subject.
  struct StoredRaw {
    std::string compressed;
    std::int64_t size = 0;
    std::string subject;
  };
  std::optional<StoredRaw> raw(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id);
  bool set_read(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id, bool is_read, std::int64_t now);
  bool remove(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id);

  std::vector<sandbox::AttachmentSummary> attachments(std::int64_t account_id, std::int64_t inbox_id,
                                                      std::int64_t message_id,
                                                      const std::optional<std::string>& attachment_type);
  std::optional<sandbox::AttachmentSummary> attachment(std::int64_t account_id, std::int64_t inbox_id,
                                                       std::int64_t message_id, std::int64_t id);

  // The account and own limits (0 when unset) of an inbox, for capture into it.
  std::optional<sandbox::InboxLimits> inbox_limits(std::int64_t inbox_id);

  // Counters kept on the inbox row for the inbox object.
  void count_arrival(std::int64_t inbox_id, std::int64_t now);
  // The same for `arrivals` messages at once; returns the inbox's new messages_count (0 when it is gone).
  std::int64_t count_arrivals(std::int64_t inbox_id, std::int64_t arrivals, std::int64_t now);

 private:
  void delete_ids(const std::vector<std::int64_t>& ids);
  Tx& tx_;
};

}  // namespace postroom::store
