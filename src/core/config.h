#pragma once
// The settings of `postroom serve` and `postroom admin`. Filled by cli/options.cpp from flags, then
// POSTROOM_* environment variables, then the optional config file, then these defaults.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace postroom {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const;
};

// Parses "HOST:PORT", "[v6]:PORT" or ":PORT" (loopback). Throws std::invalid_argument with a readable message.
HostPort parse_host_port(const std::string& text);
std::vector<HostPort> parse_host_port_list(const std::string& text);

struct PlanLimits {
  std::string testing_plan_name = "Self-hosted";
  std::int64_t testing_message_limit = -1;  // -1: unlimited
  std::int64_t testing_forward_limit = -1;
  std::string sending_plan_name = "Self-hosted";
  std::int64_t sending_message_limit = -1;
};

// Email Sandbox behaviour and limits (docs/configuration.md lists them with their defaults).
struct SandboxSettings {
  std::string sandboxes_smtp_tls;       // implicit-TLS (port 465 style) sandbox listeners, HOST:PORT[,…]; empty: none
  std::string smtp_host;                // host name shown in inbox objects; empty: the first --sandbox-smtp host
  std::string pop3 = "127.0.0.1:1100";  // POP3 listeners (STLS offered), HOST:PORT[,…]; empty: none
  std::string pop3s;                    // implicit-TLS POP3 listeners (port 995 style), HOST:PORT[,…]; empty: none
  std::string email_domain = "inbox.postroom.test";      // domain of each sandbox's own email address
  std::string forward_domain = "forward.postroom.test";  // From domain of mail forwarded out of sandboxes
  std::string spamd;                 // SpamAssassin spamd for spam reports: HOST:PORT or unix:PATH; empty: none
  std::string blocklists;            // DNS blocklists file for blacklist reports; empty: the built-in list
  std::int64_t max_messages = 1000;  // stored per sandbox; the oldest go first (FIFO)
  std::int64_t max_message_size = 10 * 1024 * 1024;  // bytes; larger: 552 5.3.4
  std::int64_t rate_per_10_seconds = 150;            // messages per sandbox per 10 s; 0: unlimited
  std::int64_t max_age_days = 0;                     // delete messages older than this; 0: keep
  std::int64_t default_inbox_id = 0;  // unauthenticated SMTP mail lands here (local development); 0: auth required
  int smtp_max_recipients = 1000;
  int smtp_max_connections = 1000;
  int smtp_max_connections_per_ip = 100;
  // Threads that run SMTP deliveries. Each waits for its message's commit, and the commits of the messages
  // waiting together share one fsync, so more threads mean larger group commits.
  int smtp_worker_threads = 32;
  int wait_max_seconds = 300;  // longest accepted `timeout` of the messages/wait endpoint
};

// Sending domains: what the DNS records Postroom asks for point at, and how they are checked.
struct DomainSettings {
  std::string dns_server;  // HOST:PORT[,HOST:PORT…] used for verification; empty: the system resolver
  // Public host name of this installation's outgoing MTA: target of the verification CNAME, and of SPF
  // ("a:<host>") unless spf_include / sending_ips say otherwise.
  std::string hostname = "postroom.localhost";
  std::string spf_include;    // "include:<this>" in the suggested SPF record
  std::string sending_ips;    // comma-separated IPv4/IPv6 addresses authorized in the suggested SPF record
  std::string tracking_host;  // target of the click-tracking CNAME; empty: hostname
  std::string bounce_host;    // target of the return-path CNAME; empty: hostname
  std::string dkim_selector_prefix = "pr";  // selectors <prefix>1 and <prefix>2 (and <prefix>ed with Ed25519)
  bool dkim_ed25519 = false;                // also sign with an Ed25519 key (dual signing)
  std::string key_file;                     // master key sealing DKIM private keys; empty: <data_dir>/domain-keys.key
  std::string demo_domain = "demo.postroom.test";  // each account's demo domain (sends only to its users)
  bool require_approval = false;                   // compliance needs an admin's approval after DNS verification
  int recheck_unverified_seconds = 3600;
  int recheck_verified_seconds = 86400;
  int refresh_after_seconds = 60;  // a GET older than this schedules a fresh check
  int max_in_flight_queries = 64;
};

// Live sending: submission listeners' limits and the delivery engine.
struct SendingConfig {
  std::string smtps;        // implicit-TLS submission listeners (transactional), HOST:PORT[,…]; empty: none
  std::string bounce_smtp;  // inbound listener for DSNs, mailto: unsubscribes and complaints, HOST:PORT[,…]
  std::string relay;        // smtp://[user:pass@]host[:port] or smtps://…: deliver everything through this smarthost
  std::string relay_tls = "opportunistic";  // none | opportunistic | required | implicit (smtps:// implies implicit)
  std::string source_address;               // local IP for outgoing connections
  std::string retry_schedule = "60,300,900,1800,3600,7200,10800,14400,21600,28800";  // seconds before each retry
  std::string require_tls_domains;  // recipient domains that must get STARTTLS, comma-separated
  std::string bounce_rules;         // extra bounce categorization rules (file), tried before the defaults
  std::int64_t max_message_size = 10 * 1024 * 1024;
  int max_connections_per_account = 10;
  int max_messages_per_connection = 100;
  int max_connections_per_ip = 10;
  bool allow_plaintext_auth = false;  // AUTH before STARTTLS on submission (local development only)
  int max_in_flight = 200;
  int max_per_site = 20;
  int site_rate_per_minute = 0;  // deliveries started per site (domains sharing MX hosts) per minute; 0: none
  int hourly_limit = 0;          // deliveries per account per hour (0: none); the excess waits for the next hour
  int daily_limit = 0;           // deliveries per account per day (0: none); the excess is held (suspension)
};

struct Config {
  std::string data_dir = "./data";
  std::string database;  // "sqlite:PATH" or "postgres://…"; empty: sqlite:<data_dir>/postroom.db
  std::string http = "127.0.0.1:8025";
  std::string https;  // optional TLS listener for the API/UI
  std::string sandbox_smtp = "127.0.0.1:2525";
  std::string smtp = "127.0.0.1:5587";
  std::string smtp_bulk = "127.0.0.1:5588";
  std::string public_url;  // empty: derived from --http
  std::string tls_cert;    // PEM; empty: a self-signed certificate generated into the data dir
  std::string tls_key;
  std::string log_level = "info";
  std::string admin_email = "admin@postroom.local";
  int io_threads = 2;
  int worker_threads = 8;
  std::int64_t max_body_bytes = 50 * 1024 * 1024;  // batch sends may carry up to 50 MB
  int header_timeout_seconds = 10;
  int idle_timeout_seconds = 75;
  int shutdown_timeout_seconds = 30;
  int rate_limit_requests = 150;
  int rate_limit_window_seconds = 10;
  int db_pool_size = 8;
  PlanLimits plans;
  SandboxSettings sandbox;
  DomainSettings domains;
  SendingConfig sending;
  std::int64_t max_email_templates = 200;  // per account (the documented limit)

  std::string database_url() const;
  std::string effective_public_url() const;
};

}  // namespace postroom
