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

  std::string database_url() const;
  std::string effective_public_url() const;
};

}  // namespace postroom
