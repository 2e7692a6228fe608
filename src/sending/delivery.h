#pragma once
// The delivery engine: takes enqueued messages from the durable queue (sent_messages rows with a
// next_attempt_at), signs them with the domain's DKIM keys, finds the recipient's MX hosts (or uses the
// configured smarthost), hands them to the SMTP client, and records the outcome: delivery, soft bounce with a
// retry on the schedule, or bounce (categorized, suppressing when the category says so). In-memory scheduling
// over the durable rows: after a restart every enqueued row is loaded again, so nothing acknowledged is lost
// (at-least-once: a crash between the remote server's 250 and our commit delivers that message twice).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/rate_limiter.h"
#include "dns/resolver.h"
#include "domains/service.h"
#include "sending/bounce_classifier.h"
#include "sending/model.h"
#include "store/database.h"

namespace postroom::smtp::client {
class Client;
struct Outcome;
}  // namespace postroom::smtp::client

namespace postroom::sending {

struct Relay {
  std::string host;
  std::uint16_t port = 587;
  std::string username, password;
  std::string tls = "required";  // none | opportunistic | required | implicit
};
// "smtp://[user:pass@]host[:port]" (smtps:// for implicit TLS). Throws std::invalid_argument.
Relay parse_relay_url(const std::string& url);

struct DeliverySettings {
  std::string helo_name = "postroom.localhost";
  std::string source_address;  // local IP for outgoing connections; empty: the system's choice
  std::optional<Relay> relay;  // smarthost: everything goes there instead of to MX hosts
  // Seconds to wait before each retry after a soft bounce: 10 retries over about a day.
  std::vector<int> retry_schedule{60, 300, 900, 1800, 3600, 7200, 10800, 14400, 21600, 28800};
  int max_in_flight = 200;       // deliveries in progress at once
  int max_per_site = 20;         // per group of domains sharing MX hosts
  int site_rate_per_minute = 0;  // deliveries started per site per minute (0: no limit)
  // Per-account delivery limits (the seed's "Sending Limits"; 0: none). Beyond the hourly limit mail waits for
  // the next hour; beyond the daily limit it is held with a `suspension` event until the next day. Counted in
  // memory per process since its start.
  int hourly_limit = 0;
  int daily_limit = 0;
  std::vector<std::string> require_tls_domains;  // recipient domains that must get STARTTLS
  bool verify_peer = false;                      // verify MX certificates (off: opportunistic TLS, as RFC 7435)
  int worker_threads = 8;                        // reading, signing and recording; each recording waits for its commit
  int client_io_threads = 1;
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds command_timeout{300};
  std::chrono::seconds data_timeout{600};
  std::uint16_t mx_port = 25;  // MX delivery dials port 25 (tests may not change it)
};

// Mailbox provider by MX host name ("Google", "Outlook", "Yahoo", …; "" when unknown).
std::string mailbox_provider(std::string_view mx_host);
// A "retry in N seconds/minutes" hint in a reply text, in seconds.
std::optional<int> retry_hint_seconds(std::string_view text);

class DeliveryEngine {
 public:
  DeliveryEngine(store::Database& db, domains::DomainsService& domains, const Clock& clock, DeliverySettings settings,
                 std::shared_ptr<const dns::Resolver> resolver, BounceClassifier classifier);
  ~DeliveryEngine();
  DeliveryEngine(const DeliveryEngine&) = delete;
  DeliveryEngine& operator=(const DeliveryEngine&) = delete;

  // Loads every enqueued row and starts delivering. Idempotent.
  void start();
  // Stops taking new work, waits for deliveries in flight (their outcomes are recorded), stops threads.
  void stop();
  // New rows, due now.
  void enqueue(const std::vector<std::int64_t>& ids);

  struct Stats {
    std::uint64_t delivered = 0, soft_bounced = 0, bounced = 0, rejected = 0;
    std::size_t queued = 0, in_flight = 0;
  };
  Stats stats() const;

 private:
  struct Due {
    std::int64_t at = 0;
    std::int64_t id = 0;
    bool operator>(const Due& other) const { return at != other.at ? at > other.at : id > other.id; }
  };
  struct Attempt;
  struct Route;

  void scheduler();
  void worker();
  void run_job(std::function<void()> job);
  void begin_attempt(std::int64_t id);
  void send(const std::shared_ptr<Attempt>& attempt);  // hands the attempt to the SMTP client
  void finish(const std::shared_ptr<Attempt>& attempt, const smtp::client::Outcome& outcome);
  void record(const std::shared_ptr<Attempt>& attempt, const std::string& kind, int code, const std::string& enhanced,
              const std::string& text, const std::string& local_error, const std::string& remote_address);
  std::optional<Route> route_for(const std::string& recipient_domain, std::string& error, bool& permanent);
  std::vector<domains::SigningIdentity> identities(std::int64_t account_id, const std::string& domain_name);
  void schedule(std::int64_t id, std::int64_t at);
  void release_site(const std::string& site);

  store::Database& db_;
  domains::DomainsService& domains_;
  const Clock& clock_;
  DeliverySettings settings_;
  std::shared_ptr<const dns::Resolver> resolver_;
  BounceClassifier classifier_;
  std::unique_ptr<smtp::client::Client> client_;

  mutable std::mutex mutex_;
  std::condition_variable wake_scheduler_;
  std::condition_variable wake_workers_;
  std::condition_variable idle_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  std::deque<std::function<void()>> jobs_;
  std::map<std::string, int> site_in_flight_;
  std::unique_ptr<RateLimiter> site_rate_;  // set when site_rate_per_minute > 0
  // (account, hour or day number) → deliveries started, for the hourly and daily limits.
  std::map<std::pair<std::int64_t, std::int64_t>, int> hourly_, daily_;
  int in_flight_ = 0;
  bool running_ = false;
  bool stopping_ = false;
  Stats stats_;
  std::thread scheduler_thread_;
  std::vector<std::thread> workers_;

  // Resolved routes by recipient domain, kept a minute (successful lookups only).
  struct CachedRoute {
    std::chrono::steady_clock::time_point resolved;
    std::shared_ptr<const Route> route;
  };
  std::mutex route_mutex_;
  std::map<std::string, CachedRoute> route_cache_;

  struct CachedIdentities {
    std::chrono::steady_clock::time_point loaded;
    std::vector<domains::SigningIdentity> identities;
  };
  std::mutex cache_mutex_;
  std::map<std::pair<std::int64_t, std::string>, CachedIdentities> identity_cache_;
};

}  // namespace postroom::sending
