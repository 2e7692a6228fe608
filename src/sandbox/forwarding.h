#pragma once
// Sandbox forwarding: manual (one captured message to a confirmed address) and automatic (every captured
// message whose To or Cc names a confirmed address or a verified domain). Addresses are confirmed by their owner
// through a link mailed to them; domains by a TXT record. Forwarded mail is rewritten so it can pass DMARC (From
// becomes the sandbox's forward address, the original sender moves to X-Mailtrap-Original-From) and handed to
// the delivery engine's queue. No HTTP or sockets here.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "dns/resolver.h"
#include "sandbox/events.h"
#include "sandbox/forwarding_model.h"
#include "sandbox/inbox_model.h"
#include "sandbox/messages.h"
#include "sending/platform_mail.h"
#include "store/database.h"

namespace postroom::sandbox {

struct ForwardingSettings {
  std::string forward_domain = "forward.postroom.test";  // domain of every sandbox's forward address
  std::string public_url;                                // base of confirmation links
  std::int64_t max_rules_per_account = 300;              // the docs' "maximum number of forwarding rules"
};

// A forward the policy refuses (unconfirmed address, monthly limit): the HTTP status and the message.
struct ForwardRefused : std::runtime_error {
  int status;
  ForwardRefused(int http_status, const std::string& message) : std::runtime_error(message), status(http_status) {}
};

// `raw` as forwarded: From (and Sender, Return-Path, DKIM signatures, earlier X-Mailtrap-Original-From) replaced by
// "Postroom Forward <from_address>" and the original From kept in X-Mailtrap-Original-From.
std::string rewrite_for_forwarding(std::string_view raw, const std::string& from_address);

class ForwardingService {
 public:
  using EnqueuedCallback = std::function<void(const std::vector<std::int64_t>& queue_row_ids)>;

  // Keeps references to everything passed: they must outlive the service.
  ForwardingService(store::Database& db, const Clock& clock, const PlanLimits& plans, ForwardingSettings settings,
                    MessagesService& messages, EventHub& events, std::shared_ptr<const dns::Resolver> resolver);
  ~ForwardingService();
  ForwardingService(const ForwardingService&) = delete;
  ForwardingService& operator=(const ForwardingService&) = delete;

  // Called after each commit with new queue rows (the delivery engine schedules them).
  void on_enqueued(EnqueuedCallback callback) { on_enqueued_ = std::move(callback); }
  // Starts listening for captured messages (automatic forwarding). Idempotent.
  void start();
  // Stops listening; the messages already announced are still looked at before it returns.
  void stop();

  const ForwardingSettings& settings() const { return settings_; }

  std::vector<ForwardRule> rules(std::int64_t account_id, std::int64_t inbox_id);
  // An address for manual or automatic forwarding: pending, and a confirmation link is mailed to it (active at
  // once when the same address is already confirmed for this account). ValidationError for a bad or duplicate
  // address or beyond the rule limit; NotFound for an inbox of another account.
  ForwardRule add_address(std::int64_t account_id, std::int64_t inbox_id, const std::string& email,
                          const std::string& purpose);
  // A domain for automatic forwarding: pending until verify_domain finds its TXT record.
  ForwardRule add_domain(std::int64_t account_id, std::int64_t inbox_id, const std::string& domain);
  ForwardRule resend_confirmation(std::int64_t account_id, std::int64_t inbox_id, std::int64_t rule_id);
  // Looks the TXT record up now; active when found, else ValidationError saying what DNS answered.
  ForwardRule verify_domain(std::int64_t account_id, std::int64_t inbox_id, std::int64_t rule_id);
  void remove_rule(std::int64_t account_id, std::int64_t inbox_id, std::int64_t rule_id);

  // The address owner's side (no account): the rule a confirmation token names, and confirming it. NotFound.
  ForwardRule rule_for_token(const std::string& token);
  ForwardRule confirm(const std::string& token);

  // Manual forwarding of one captured message. ForwardRefused when `email` is not confirmed for this sandbox or
  // the monthly forwarding limit is reached; NotFound for an unknown message.
  void forward(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id, const std::string& email);

 private:
  struct Pending {
    std::int64_t account_id = 0;
    std::int64_t inbox_id = 0;
    std::int64_t message_id = 0;
  };
  ForwardRule load_rule(std::int64_t account_id, std::int64_t inbox_id, std::int64_t rule_id);
  Inbox load_inbox(std::int64_t account_id, std::int64_t inbox_id);  // NotFound
  std::string forward_address(const Inbox& inbox) const;
  void check_new_rule(std::int64_t account_id, std::int64_t inbox_id, const std::string& kind,
                      const std::string& purpose, const std::string& value);
  // The email asking the owner of an address rule to confirm it, with the link carrying `token`.
  sending::PlatformMail confirmation_mail(const ForwardRule& rule, const std::string& token, const Inbox& inbox) const;
  // Queues the rewritten message to each address; counts them. Returns how many were queued.
  std::size_t send_forward(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id,
                           const std::vector<std::string>& addresses);
  void refresh_automatic_inboxes();
  void worker();
  void automatic_forward(const Pending& pending);

  store::Database& db_;
  const Clock& clock_;
  const PlanLimits& plans_;
  ForwardingSettings settings_;
  MessagesService& messages_;
  EventHub& events_;
  std::shared_ptr<const dns::Resolver> resolver_;
  EnqueuedCallback on_enqueued_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::set<std::int64_t> automatic_inboxes_;  // sandboxes with at least one active automatic rule
  std::deque<Pending> pending_;
  bool stopping_ = false;
  std::optional<std::uint64_t> subscription_;
  std::thread thread_;
};

}  // namespace postroom::sandbox
