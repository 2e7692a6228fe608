#pragma once
// Storage for live sending: bodies, per-recipient messages (also the durable delivery queue), their events and
// the suppression list. Works inside a caller's Tx; every account-facing lookup is keyed by the account.
#include <optional>
#include <string>
#include <vector>

#include "sending/model.h"
#include "store/database.h"

namespace postroom::store {

// Email log filters (the SDKs' filters[field][operator|value]); fields and operators already validated.
struct LogTextCondition {
  std::string column;  // a sent_messages column (mapped by the caller)
  std::string op;      // equal not_equal ci_equal ci_not_equal ci_contain ci_not_contain empty not_empty
  std::vector<std::string> values;
};
struct LogNumberCondition {
  std::string column;
  std::string op;  // equal greater_than less_than
  std::int64_t value = 0;
};
struct LogEventCondition {
  bool include = true;
  std::vector<std::string> event_types;
};
struct LogQuery {
  std::vector<LogTextCondition> text;
  std::vector<LogNumberCondition> numbers;
  std::vector<LogEventCondition> events;
  std::optional<std::int64_t> sent_after, sent_before;  // inclusive, unix seconds
  std::optional<std::int64_t> before_id;                // cursor: rows with a smaller id
  int limit = 50;
};

// A due delivery as the scheduler keeps it in memory.
struct DueDelivery {
  std::int64_t id = 0;
  std::int64_t next_attempt_at = 0;
};

class SendingStore {
 public:
  explicit SendingStore(Tx& tx) : tx_(tx) {}

  std::int64_t add_body(std::int64_t account_id, const std::string& raw_zstd, std::int64_t size, std::int64_t now);
  // The compressed bytes; empty when missing.
  std::optional<std::string> body(std::int64_t body_id);

  std::int64_t add_message(const sending::SentMessage& message);
  std::optional<sending::SentMessage> find(std::int64_t account_id, const std::string& uuid);
  std::optional<sending::SentMessage> find_by_id(std::int64_t id);
  std::vector<sending::SentMessage> list(std::int64_t account_id, const LogQuery& query);
  std::int64_t count(std::int64_t account_id, LogQuery query);
  // Delivery state after an attempt (status, attempts, next_attempt_at, last_response, bounce category, MX…).
  void save_delivery_state(const sending::SentMessage& message);
  void set_status(std::int64_t id, const std::string& status, std::int64_t now);
  // Every enqueued message with a next attempt (for the scheduler at start).
  std::vector<DueDelivery> due_deliveries(std::int64_t limit, std::int64_t after_id);

  void add_event(const sending::MessageEvent& event, std::int64_t account_id);
  std::vector<sending::MessageEvent> events(std::int64_t message_id);

  // Suppressions.
  void add_suppression(const sending::Suppression& suppression);
  std::vector<sending::Suppression> suppressions(std::int64_t account_id, const std::optional<std::string>& email,
                                                 std::optional<std::int64_t> created_after,
                                                 std::optional<std::int64_t> created_before, int limit);
  std::optional<sending::Suppression> find_suppression(std::int64_t account_id, const std::string& uuid);
  bool remove_suppression(std::int64_t account_id, const std::string& uuid);
  // Whether exactly this entry (email, stream, domain or every domain) exists already.
  bool has_suppression(std::int64_t account_id, const std::string& email, const std::string& sending_stream,
                       std::optional<std::int64_t> domain_id);
  // The suppression that blocks `email` for this domain and stream, if any.
  std::optional<sending::Suppression> blocking(std::int64_t account_id, std::int64_t domain_id,
                                               const std::string& email, sending::Stream stream);

  // E-mail addresses of the account's users (the demo domain may send only to them), lowercase.
  std::vector<std::string> user_emails(std::int64_t account_id);

 private:
  Tx& tx_;
};

}  // namespace postroom::store
