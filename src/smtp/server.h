#pragma once
// The SMTP server: listeners (plain, STARTTLS-capable, implicit TLS), connection limits, timeouts and graceful
// shutdown around the transport-neutral Session. Asio stays inside server.cpp; this header is cheap.
//
//   smtp::ServerOptions options;
//   options.hostname = "postroom.local";
//   smtp::add_listeners(options, "127.0.0.1:2525,127.0.0.1:25", smtp::ListenerMode::starttls, backend, "sandbox");
//   smtp::add_listeners(options, "127.0.0.1:465", smtp::ListenerMode::implicit_tls, backend, "sandbox");
//   options.tls.data_dir = config.data_dir;  // or tls.certificate / tls.private_key
//   smtp::Server server(options);
//   auto bound = server.start();           // throws on bind or TLS errors
//   ...
//   server.shutdown(std::chrono::seconds(30));
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "smtp/backend.h"
#include "smtp/session.h"

namespace postroom::smtp {

struct Listener {
  HostPort address;  // port 0 picks a free port (see Server::start)
  ListenerMode mode = ListenerMode::starttls;
  SmtpBackend* backend = nullptr;  // not owned; must outlive the server
  std::string name;                // reported to the backend in ConnectionInfo::listener and in logs
};

struct TlsOptions {
  // PEM files. When both are empty, a self-signed certificate is generated into <data_dir>/tls once.
  std::string certificate;
  std::string private_key;
  std::string data_dir;
};

struct ServerOptions {
  std::vector<Listener> listeners;
  TlsOptions tls;        // needed when a listener is starttls or implicit_tls
  SessionLimits limits;  // hostname, line lengths, recipients, size, errors (see session.h)
  int io_threads = 1;
  int worker_threads = 8;  // backend calls; deliveries in parallel let the storage group commits
  int max_connections = 1000;
  int max_connections_per_ip = 20;
  int command_timeout_seconds = 300;  // greeting and every command (RFC 5321 4.5.3.2: at least 5 minutes)
  int data_timeout_seconds = 300;     // between reads while receiving DATA
  int tls_handshake_timeout_seconds = 30;
  int write_timeout_seconds = 60;
};

// Appends one listener per address of a "HOST:PORT[,HOST:PORT]" list. Throws std::invalid_argument.
void add_listeners(ServerOptions& options, const std::string& addresses, ListenerMode mode, SmtpBackend& backend,
                   const std::string& name);

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // shuts down at once if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads TLS material, binds every listener and starts serving. Returns the bound addresses in listener order
  // (port 0 resolved). Throws on errors (address in use, unreadable certificate).
  std::vector<HostPort> start();
  // Graceful stop: closes the listeners, answers idle sessions with 421 and closes them, lets sessions with an
  // open transaction finish it (up to `grace`), then closes whatever is left. Blocks until stopped; idempotent.
  void shutdown(std::chrono::milliseconds grace);
  // Blocks until shutdown() has completed (from another thread).
  void wait();

  // Prometheus text lines (postroom_smtp_*), to append to the /metrics output.
  std::string render_metrics() const;
  std::size_t active_sessions() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace postroom::smtp
