#pragma once
// The Email Sandbox's messages: capture (from SMTP and the send API), limits, reading, search and waiting.
// No HTTP or sockets here; errors are the domain errors of core/errors.h plus the ones below.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "sandbox/events.h"
#include "sandbox/model.h"
#include "store/database.h"

namespace postroom::sandbox {

// A requested body part the message does not have (409 in the API).
struct PartMissing : std::runtime_error {
  PartMissing() : std::runtime_error("This message has no such part") {}
};

// Where a captured message goes, as resolved by SMTP credentials, the sandbox address or the API path.
struct CaptureTarget {
  std::int64_t account_id = 0;
  std::int64_t inbox_id = 0;
  std::int64_t max_messages = 0;      // 0: the configured default
  std::int64_t max_message_size = 0;  // 0: the configured default
};

enum class Admission { accepted, rate_limited, monthly_limit_reached };

enum class BodyKind { html, html_source, text, raw, eml };

struct Body {
  std::string content_type;
  std::string content;
  std::string download_name{};  // set when the part is served as a file ("<subject>.eml")
};

struct AttachmentContent {
  AttachmentSummary attachment;
  std::string content;
};

class MessagesService {
 public:
  MessagesService(store::Database& db, const Clock& clock, const SandboxSettings& settings, const PlanLimits& plans,
                  EventHub& events);
  MessagesService(store::Database&, Clock&&, const SandboxSettings&, const PlanLimits&, EventHub&) = delete;

  std::int64_t max_message_size(const CaptureTarget& target) const;
  // The capture target for an inbox; with `account_id`, only when the inbox belongs to that account.
  std::optional<CaptureTarget> target_for(std::int64_t inbox_id, std::optional<std::int64_t> account_id = std::nullopt);

  // Limits checked before a message is accepted: the per-sandbox rate per 10 seconds and the account's monthly
  // message limit. An accepted admission counts towards the rate.
  Admission admit(const CaptureTarget& target);
  // The same check without counting: SMTP asks at MAIL and admits at the end of DATA, so a transaction that is
  // abandoned (RSET, every recipient refused, message too big) uses none of the rate.
  Admission peek(const CaptureTarget& target);
  bool monthly_limit_reached(std::int64_t account_id);

  // Parses, stores (durably: returns after the commit) and announces one message; evicts the oldest messages
  // beyond the sandbox's maximum. Returns the new message id. Never rejects a malformed message.
  std::int64_t capture(const CaptureTarget& target, std::string_view raw, const Envelope& envelope,
                       const std::optional<TemplateUse>& template_use = std::nullopt);

  // The same without waiting: the message is parsed and compressed on the calling thread, then written by the
  // store; `done` gets the new id once the write is committed (or nothing when it failed), on the thread that
  // committed it. It must not block.
  void capture_async(const CaptureTarget& target, std::string_view raw, const Envelope& envelope,
                     std::function<void(std::optional<std::int64_t>)> done);

  // Deletes messages older than the configured maximum age. Returns how many.
  int expire_old_messages();

  static constexpr int kPageSize = 30;
  std::vector<MessageSummary> list(std::int64_t account_id, std::int64_t inbox_id, std::string_view search,
                                   std::optional<std::int64_t> last_id, std::optional<std::int64_t> page);
  MessageSummary get(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id);
  MessageSummary set_read(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id, bool is_read);
  MessageSummary remove(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id);
  Body body(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id, BodyKind kind);
  std::string raw(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id);
  // The message's top-level headers by lower-case, underscore name ("mime_version"), plus "bcc".
  std::vector<std::pair<std::string, std::string>> mail_headers(std::int64_t account_id, std::int64_t inbox_id,
                                                                std::int64_t id);
  std::vector<AttachmentSummary> attachments(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id,
                                             const std::optional<std::string>& attachment_type);
  AttachmentSummary attachment(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id,
                               std::int64_t id);
  AttachmentContent attachment_content(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id,
                                       std::int64_t id);

  // The newest message matching `search` that arrived after `after_id` (or already there when after_id is
  // empty), waiting up to `timeout` for one to arrive. Empty on timeout.
  std::optional<MessageSummary> wait(std::int64_t account_id, std::int64_t inbox_id, std::string_view search,
                                     std::optional<std::int64_t> after_id, std::chrono::milliseconds timeout);

  // Publishes an inbox-level change made elsewhere (clean, all read) to live listeners.
  void announce(const SandboxEvent& event) { events_.publish(event); }

 private:
  struct Prepared;
  std::shared_ptr<Prepared> prepare(const CaptureTarget& target, std::string_view raw, const Envelope& envelope,
                                    const std::optional<TemplateUse>& template_use);
  void store_prepared(store::Tx& tx, Prepared& prepared);
  // capture_async's messages waiting for the store: one write job takes all that are waiting when it runs.
  struct QueuedCapture {
    std::shared_ptr<Prepared> prepared;
    std::function<void(std::optional<std::int64_t>)> done;
    bool stored = false;
  };
  void store_queued(store::Tx& tx, std::vector<QueuedCapture>& captures);
  void announce_capture(const Prepared& prepared);
  std::int64_t account_created_at(std::int64_t account_id);
  // The message's raw bytes and its subject, in one read.
  std::pair<std::string, std::string> load_raw(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id);
  Admission admission(const CaptureTarget& target, bool count);

  store::Database& db_;
  const Clock& clock_;
  const SandboxSettings& settings_;
  const PlanLimits& plans_;
  EventHub& events_;

  std::mutex rate_mutex_;
  std::map<std::int64_t, std::deque<std::chrono::steady_clock::time_point>> arrivals_;  // per inbox, last 10 s
  std::mutex capture_mutex_;
  std::vector<QueuedCapture> capture_queue_;  // guarded by capture_mutex_
  bool capture_job_queued_ = false;           // a write job will take capture_queue_; guarded by capture_mutex_
  std::mutex accounts_mutex_;
  std::map<std::int64_t, std::int64_t> account_created_at_;  // immutable per account: cached
};

}  // namespace postroom::sandbox
