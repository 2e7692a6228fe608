// Boost.Asio and OpenSSL streams live only in this translation unit. The protocol itself is pop3::Session; this
// file moves bytes, runs backend calls on the worker pool, and enforces connection limits, deadlines and shutdown.
// The connection, watchdog and server core are shared with the SMTP server (core/stream_server.h).
#include "pop3/server.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "core/stream_server.h"
#include "core/tls_certificate.h"

namespace postroom::pop3 {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::awaitable;
using asio::use_awaitable;
using error_code = boost::system::error_code;
using stream_server::as_tuple;
using stream_server::peer_gone;

namespace {

constexpr std::size_t kReadBuffer = 4 * 1024;
using Connection = stream_server::Connection<Session, Listener, kReadBuffer>;
using Core = stream_server::ServerCore<Connection>;

}  // namespace

void add_listeners(ServerOptions& options, const std::string& addresses, ListenerMode mode, const std::string& name) {
  for (const auto& address : parse_host_port_list(addresses)) options.listeners.push_back({address, mode, name});
}

struct Server::Impl {
  ServerOptions options;
  ssl::context tls_context{ssl::context::tls_server};
  bool tls_ready = false;
  Pop3Stats stats;
  // Last, so it goes first: its io_contexts hold connection coroutines that use the members above.
  Core core{options.io_threads, options.worker_threads, options.max_connections, options.max_connections_per_ip};

  explicit Impl(ServerOptions o) : options(std::move(o)) {}

  void load_tls() {
    bool needed = false;
    for (const auto& listener : options.listeners) needed |= listener.mode != ListenerMode::plain;
    if (!needed) return;
    load_server_tls(tls_context, options.tls.data_dir, options.tls.certificate, options.tls.private_key, "POP3");
    tls_ready = true;
  }

  awaitable<void> serve(std::shared_ptr<Connection> connection, std::shared_ptr<Core::Handle> handle) {
    Connection& c = *connection;
    const auto idle_timeout = std::chrono::seconds(options.idle_timeout_seconds);
    const auto write_timeout = std::chrono::seconds(options.write_timeout_seconds);
    const auto handshake_timeout = std::chrono::seconds(options.tls_handshake_timeout_seconds);
    try {
      ConnectionInfo info;
      info.listener = c.listener.name;
      info.mode = c.listener.mode;
      info.client_ip = c.client_ip;
      error_code ec;
      const auto remote = c.socket.remote_endpoint(ec);
      if (!ec) info.client_port = remote.port();
      const bool stls_possible = tls_ready && c.listener.mode == ListenerMode::stls;
      c.session = std::make_unique<Session>(options.limits, std::move(info), stls_possible, &stats);

      if (c.listener.mode == ListenerMode::implicit_tls) {
        if (!co_await c.handshake(tls_context, handshake_timeout, "pop3 TLS")) {
          c.close();
          core.release(c.client_ip, handle);
          co_return;
        }
      }
      Session& session = *c.session;
      Backend& backend = *options.backend;
      session.start();
      while (true) {
        // A failed login's reply waits out the pause; everything else goes out before the next step.
        if (session.has_output() && session.next() != Session::Next::pause) {
          const std::string out = session.take_output();
          if (auto write_ec = co_await c.write(out, write_timeout)) break;
        }
        const auto next = session.next();
        if (next == Session::Next::close) break;
        if (next == Session::Next::pause) {
          c.disarm();
          c.pause.expires_after(session.pause_duration());
          co_await c.pause.async_wait(as_tuple);
          if (c.closed) break;
          session.resume();
          c.deliver_shutdown();
          continue;
        }
        if (next == Session::Next::backend) {
          co_await c.run_backend(backend, core.workers);
          continue;
        }
        if (next == Session::Next::start_tls) {
          if (!co_await c.handshake(tls_context, handshake_timeout, "pop3 STLS")) break;
          session.tls_started();
          continue;
        }
        if (!co_await c.read_into_session(idle_timeout, "pop3")) break;
      }
      co_await c.close_tls();
    } catch (const std::exception& e) {
      spdlog::debug("pop3 connection from {} ended: {}", c.client_ip, e.what());
    }
    // The session (and with it the maildrop lock) ends here, on the connection's own thread.
    if (c.session) c.session->disconnected();
    c.close();
    core.release(c.client_ip, handle);
    spdlog::debug("pop3 session ended listener={} client={}", c.listener.name, c.client_ip);
  }

  awaitable<void> accept_loop(std::size_t index) {
    const Listener& listener = options.listeners[index];
    co_await core.accept_loop(
        index, "pop3",
        [this, &listener](asio::ip::tcp::socket socket, const std::string& ip) {
          stats.sessions.fetch_add(1, std::memory_order_relaxed);
          auto connection = std::make_shared<Connection>(std::move(socket), listener);
          connection->client_ip = ip;
          core.spawn(connection, [this](auto c, auto h) { return serve(std::move(c), std::move(h)); });
        },
        [this, &listener](asio::ip::tcp::socket socket) {
          stats.sessions_refused.fetch_add(1, std::memory_order_relaxed);
          stream_server::turn_away(std::move(socket), listener.mode == ListenerMode::implicit_tls,
                                   "-ERR [SYS/TEMP] too many connections\r\n");
        });
  }
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  if (impl_->core.started()) shutdown(std::chrono::milliseconds(0));
}

std::vector<HostPort> Server::start() {
  Impl& impl = *impl_;
  if (impl.core.started()) throw std::logic_error("POP3 server already started");
  if (!impl.options.backend) throw std::invalid_argument("POP3 server has no backend");
  impl.load_tls();
  std::vector<HostPort> bound;
  for (const auto& listener : impl.options.listeners) bound.push_back(impl.core.listen(listener.address));
  for (std::size_t i = 0; i < bound.size(); ++i)
    asio::co_spawn(*impl.core.contexts.front(), impl.accept_loop(i), asio::detached);
  impl.core.run_threads();
  return bound;
}

void Server::shutdown(std::chrono::milliseconds grace) {
  // Idle sessions get -ERR at once; a session waiting on the storage gets it when the call returns.
  impl_->core.shutdown(grace, [](Session& session) { return session.idle(); });
}

std::size_t Server::active_sessions() const { return static_cast<std::size_t>(impl_->core.active()); }

const Pop3Stats& Server::stats() const { return impl_->stats; }

}  // namespace postroom::pop3
