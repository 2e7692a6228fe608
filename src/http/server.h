#pragma once
// The HTTP/1.1 server: keep-alive, body limit (413), header/idle/write timeouts, optional TLS listeners,
// graceful shutdown that finishes in-flight requests. Handlers run on a worker pool, off the I/O threads.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "http/message.h"

namespace postroom::http {

struct ServerOptions {
  std::vector<HostPort> listen;      // plain HTTP
  std::vector<HostPort> listen_tls;  // HTTPS
  std::string tls_certificate;       // PEM paths, required when listen_tls is not empty
  std::string tls_private_key;
  int io_threads = 2;
  int worker_threads = 8;
  std::int64_t max_body_bytes = 50 * 1024 * 1024;
  int header_timeout_seconds = 10;
  int idle_timeout_seconds = 75;
  int body_timeout_seconds = 60;
  // Requests for which this returns true run on the I/O thread instead of the worker pool. Meant for
  // handlers that never wait on the network or an fsync (reads from an embedded database): skipping the
  // two thread hops roughly doubles throughput on small machines.
  // It may annotate the request (the pipeline keeps its route match there).
  std::function<bool(Request&)> run_inline;
  // Requests for which this returns true (long polling) run on a pool of their own, so waiting requests never
  // hold the workers that everything else needs.
  std::function<bool(const Request&)> long_running;
  int long_running_threads = 64;
};

class Server {
 public:
  using Handler = std::function<Response(const Request&)>;
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener and starts serving; returns the bound addresses (port 0 resolved), plain first.
  std::vector<HostPort> start();
  // Stops accepting, closes idle connections, lets in-flight requests finish (up to `grace`), then stops.
  void shutdown(std::chrono::seconds grace);
  // Blocks until shutdown has completed.
  void wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace postroom::http
