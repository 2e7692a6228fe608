#pragma once
// The POP3 server: listeners (plain with STLS, implicit TLS), connection limits, timeouts and graceful shutdown
// around the transport-neutral pop3::Session. Asio stays inside server.cpp; this header is cheap.
//
//   pop3::ServerOptions options;
//   options.backend = &mailbox;
//   pop3::add_listeners(options, "127.0.0.1:1100", pop3::ListenerMode::stls, "sandbox");
//   pop3::add_listeners(options, "127.0.0.1:9950", pop3::ListenerMode::implicit_tls, "sandbox-tls");
//   options.tls.data_dir = config.data_dir;  // or tls.certificate / tls.private_key
//   pop3::Server server(options);
//   auto bound = server.start();  // throws on bind or TLS errors
//   ...
//   server.shutdown(std::chrono::seconds(30));
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "pop3/backend.h"
#include "pop3/session.h"

namespace postroom::pop3 {

struct Listener {
  HostPort address;  // port 0 picks a free port (see Server::start)
  ListenerMode mode = ListenerMode::stls;
  std::string name;  // reported in ConnectionInfo::listener and in logs
};

struct TlsOptions {
  // PEM files. When both are empty, a self-signed certificate is generated into <data_dir>/tls once.
  std::string certificate;
  std::string private_key;
  std::string data_dir;
};

struct ServerOptions {
  std::vector<Listener> listeners;
  Backend* backend = nullptr;  // not owned; must outlive the server
  TlsOptions tls;              // needed when a listener is stls or implicit_tls
  SessionLimits limits;
  int io_threads = 1;
  int worker_threads = 4;  // backend calls that wait on the storage
  int max_connections = 1000;
  int max_connections_per_ip = 20;
  int idle_timeout_seconds = 600;  // RFC 1939 3: an autologout timer of at least 10 minutes
  int tls_handshake_timeout_seconds = 30;
  int write_timeout_seconds = 60;  // per chunk of a response
};

// Appends one listener per address of a "HOST:PORT[,HOST:PORT]" list. Throws std::invalid_argument.
void add_listeners(ServerOptions& options, const std::string& addresses, ListenerMode mode, const std::string& name);

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // shuts down at once if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads TLS material, binds every listener and starts serving. Returns the bound addresses in listener order
  // (port 0 resolved). Throws on errors (address in use, unreadable certificate).
  std::vector<HostPort> start();
  // Graceful stop: closes the listeners, answers idle sessions with -ERR and closes them (their deletions are not
  // applied), lets a backend call in flight finish (up to `grace`), then closes whatever is left. Blocks until
  // stopped; idempotent.
  void shutdown(std::chrono::milliseconds grace);

  std::size_t active_sessions() const;
  const Pop3Stats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace postroom::pop3
