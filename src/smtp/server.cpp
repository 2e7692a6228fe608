// Boost.Asio and OpenSSL streams live only in this translation unit (compile time: see docs/architecture.md).
// The protocol itself is smtp::Session; this file moves bytes, runs backend calls on the worker pool, and
// enforces connection limits, deadlines and shutdown.
#include "smtp/server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <condition_variable>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/tls_certificate.h"

namespace postroom::smtp {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using error_code = boost::system::error_code;
constexpr auto as_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::size_t kReadBuffer = 16 * 1024;
constexpr auto kCloseTimeout = std::chrono::seconds(2);  // waiting for the client's TLS close_notify

// One connection's transport and timers. Shared by the session coroutine and its watchdog; touched only on
// the connection's io_context thread, except `session` while a backend call runs (the coroutine waits then).
struct Connection {
  Connection(tcp::socket s, const Listener& l) : socket(std::move(s)), listener(l), deadline(socket.get_executor()) {
    disarm();
  }

  tcp::socket socket;  // moved into `tls` when the connection is encrypted
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  const Listener& listener;
  asio::steady_timer deadline;
  std::unique_ptr<Session> session;
  std::string client_ip;
  std::array<char, kReadBuffer> buffer{};
  bool reading = false;
  bool timed_out = false;
  bool shutdown_requested = false;
  bool shutdown_delivered = false;
  bool closed = false;

  tcp::socket& lowest() { return tls ? tls->next_layer() : socket; }

  void arm(std::chrono::steady_clock::duration timeout) { deadline.expires_after(timeout); }
  void disarm() { deadline.expires_at(asio::steady_timer::time_point::max()); }

  awaitable<std::tuple<error_code, std::size_t>> read_some() {
    if (tls) co_return co_await tls->async_read_some(asio::buffer(buffer), as_tuple);
    co_return co_await socket.async_read_some(asio::buffer(buffer), as_tuple);
  }

  awaitable<error_code> write(const std::string& bytes) {
    if (tls) {
      auto [ec, n] = co_await asio::async_write(*tls, asio::buffer(bytes), as_tuple);
      co_return ec;
    }
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), as_tuple);
    co_return ec;
  }

  awaitable<error_code> handshake(ssl::context& context) {
    tls = std::make_unique<ssl::stream<tcp::socket>>(std::move(socket), context);
    auto [ec] = co_await tls->async_handshake(ssl::stream_base::server, as_tuple);
    co_return ec;
  }

  void close() {
    closed = true;
    error_code ignored;
    lowest().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close(ignored);
    deadline.cancel();
  }
};

// What shutdown needs to reach a connection from another thread.
struct ConnectionHandle {
  asio::any_io_executor executor;
  std::shared_ptr<Connection> connection;
};

bool peer_gone(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::operation_aborted || ec == ssl::error::stream_truncated;
}

}  // namespace

void add_listeners(ServerOptions& options, const std::string& addresses, ListenerMode mode, SmtpBackend& backend,
                   const std::string& name) {
  for (const auto& address : parse_host_port_list(addresses))
    options.listeners.push_back({address, mode, &backend, name});
}

struct Server::Impl {
  ServerOptions options;
  // One single-threaded io_context per I/O thread: a connection lives on one, so its handlers never run
  // concurrently and need no strand.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::atomic<std::size_t> next_context{0};
  asio::thread_pool workers;
  ssl::context tls_context{ssl::context::tls_server};
  bool tls_ready = false;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  SmtpStats stats;

  std::mutex connections_mutex;  // guards the three below
  std::set<std::shared_ptr<ConnectionHandle>> connections;
  std::map<std::string, int> connections_per_ip;
  int connection_count = 0;

  std::latch stopped{1};  // counted down once shutdown has completed

  explicit Impl(ServerOptions o)
      : options(std::move(o)), workers(static_cast<std::size_t>(std::max(1, options.worker_threads))) {
    for (int i = 0; i < std::max(1, options.io_threads); ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  }

  ~Impl() {
    // Connection coroutines still suspended in a context are destroyed with it; they reference the members
    // below, so the contexts go first.
    acceptors.clear();
    contexts.clear();
  }

  asio::io_context& pick_context() { return *contexts[next_context++ % contexts.size()]; }

  void load_tls() {
    bool needed = false;
    for (const auto& listener : options.listeners) needed |= listener.mode != ListenerMode::plain;
    if (!needed) return;
    const auto& tls = options.tls;
    if (tls.certificate.empty() && tls.private_key.empty() && tls.data_dir.empty())
      throw std::invalid_argument("SMTP TLS listeners need a certificate and key, or a data dir for a generated one");
    const auto paths = ensure_certificate(tls.data_dir, tls.certificate, tls.private_key);
    tls_context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                            ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    tls_context.use_certificate_chain_file(paths.certificate);
    tls_context.use_private_key_file(paths.private_key, ssl::context::pem);
    tls_ready = true;
  }

  // Reserves a connection slot; false when the total or per-IP limit is reached.
  bool admit(const std::string& ip) {
    std::lock_guard lock(connections_mutex);
    if (options.max_connections > 0 && connection_count >= options.max_connections) return false;
    int& per_ip = connections_per_ip[ip];
    if (options.max_connections_per_ip > 0 && per_ip >= options.max_connections_per_ip) {
      if (per_ip == 0) connections_per_ip.erase(ip);
      return false;
    }
    ++per_ip;
    ++connection_count;
    return true;
  }

  void release(const std::string& ip, const std::shared_ptr<ConnectionHandle>& handle) {
    std::lock_guard lock(connections_mutex);
    connections.erase(handle);
    --connection_count;
    if (auto it = connections_per_ip.find(ip); it != connections_per_ip.end() && --it->second <= 0)
      connections_per_ip.erase(it);
  }

  // Cancels the pending socket operation when the deadline passes. Re-arming the timer wakes it early; it
  // exits once the connection is closed.
  static awaitable<void> watchdog(std::shared_ptr<Connection> connection) {
    while (!connection->closed) {
      co_await connection->deadline.async_wait(as_tuple);
      if (connection->closed) co_return;
      if (connection->deadline.expiry() <= asio::steady_timer::clock_type::now()) {
        connection->timed_out = true;
        connection->disarm();
        error_code ignored;
        connection->lowest().cancel(ignored);
      }
    }
  }

  // Called after every wake-up of the session coroutine: forwards a pending shutdown to the session once.
  static void deliver_shutdown(Connection& connection) {
    if (connection.shutdown_requested && !connection.shutdown_delivered) {
      connection.shutdown_delivered = true;
      connection.session->shutdown();
    }
  }

  awaitable<void> serve(std::shared_ptr<Connection> connection, std::shared_ptr<ConnectionHandle> handle) {
    Connection& c = *connection;
    const auto command_timeout = std::chrono::seconds(options.command_timeout_seconds);
    const auto data_timeout = std::chrono::seconds(options.data_timeout_seconds);
    const auto write_timeout = std::chrono::seconds(options.write_timeout_seconds);
    asio::co_spawn(c.socket.get_executor(), watchdog(connection), asio::detached);
    try {
      ConnectionInfo info;
      info.listener = c.listener.name;
      info.mode = c.listener.mode;
      error_code ec;
      const auto remote = c.socket.remote_endpoint(ec);
      if (!ec) {
        info.client_ip = remote.address().to_string();
        info.client_port = remote.port();
      }
      const auto local = c.socket.local_endpoint(ec);
      if (!ec) {
        info.local_ip = local.address().to_string();
        info.local_port = local.port();
      }
      SessionPolicy policy;
      try {
        policy = c.listener.backend->session_policy(info);
      } catch (const std::exception& e) {
        spdlog::error("smtp session_policy failed: {}", e.what());
        policy.refuse = Reply{421, "4.3.0", options.limits.hostname + " Error: internal error"};
      }
      const bool starttls_possible = tls_ready && c.listener.mode == ListenerMode::starttls;
      c.session = std::make_unique<Session>(options.limits, std::move(policy), info, starttls_possible, &stats);

      if (c.listener.mode == ListenerMode::implicit_tls) {
        c.arm(std::chrono::seconds(options.tls_handshake_timeout_seconds));
        if (auto handshake_ec = co_await c.handshake(tls_context)) {
          spdlog::debug("smtp TLS handshake with {} failed: {}", c.client_ip, handshake_ec.message());
          c.close();
          co_return;
        }
      }
      Session& session = *c.session;
      session.start();
      while (true) {
        // Replies are held while the backend works, so a pipelined group is answered in one write (RFC 2920).
        if (session.has_output() && session.next() != Session::Next::backend) {
          const std::string out = session.take_output();
          c.arm(write_timeout);
          if (auto write_ec = co_await c.write(out)) break;
        }
        const auto next = session.next();
        if (next == Session::Next::close) break;
        if (next == Session::Next::backend) {
          SmtpBackend* backend = c.listener.backend;
          if (session.pending_call() == BackendCall::deliver) {
            // The reply arrives from the backend's thread; it is posted here, where the session lives.
            struct AsyncReply {
              asio::steady_timer timer;
              std::optional<Reply> reply;
            };
            auto waiting = std::make_shared<AsyncReply>(AsyncReply{asio::steady_timer(c.socket.get_executor()), {}});
            const bool started = session.deliver_async(
                *backend, [executor = c.socket.get_executor(), weak = std::weak_ptr(waiting)](Reply reply) {
                  asio::post(executor, [weak, reply = std::move(reply)]() mutable {
                    if (auto w = weak.lock()) {
                      w->reply = std::move(reply);
                      w->timer.cancel();
                    }
                  });
                });
            if (started) {
              c.disarm();  // a commit may take long; the client waits for our reply
              while (!waiting->reply) {
                waiting->timer.expires_after(std::chrono::hours(1));
                co_await waiting->timer.async_wait(as_tuple);
              }
              session.set_backend_reply(std::move(*waiting->reply));
              session.backend_done();
              deliver_shutdown(c);
              continue;
            }
          }
          if (backend->runs_inline(session.pending_call())) {
            session.run_backend(*backend);
          } else {
            c.disarm();  // a commit may take long; the client waits for our reply
            co_await asio::co_spawn(
                workers,
                [&session, backend]() -> awaitable<void> {
                  session.run_backend(*backend);
                  co_return;
                },
                use_awaitable);
          }
          session.backend_done();
          deliver_shutdown(c);
          continue;
        }
        if (next == Session::Next::start_tls) {
          c.arm(std::chrono::seconds(options.tls_handshake_timeout_seconds));
          if (auto handshake_ec = co_await c.handshake(tls_context)) {
            spdlog::debug("smtp STARTTLS handshake with {} failed: {}", c.client_ip, handshake_ec.message());
            break;
          }
          session.tls_started();
          continue;
        }
        c.arm(session.in_data() ? data_timeout : command_timeout);
        c.reading = true;
        auto [read_ec, n] = co_await c.read_some();
        c.reading = false;
        if (c.timed_out) {
          session.timeout();
          continue;
        }
        if (read_ec == asio::error::operation_aborted && c.shutdown_requested) {
          deliver_shutdown(c);
          continue;
        }
        if (read_ec) {
          if (!peer_gone(read_ec)) spdlog::debug("smtp read from {} failed: {}", c.client_ip, read_ec.message());
          session.disconnected();
          break;
        }
        session.receive(std::string_view(c.buffer.data(), n));
        deliver_shutdown(c);
      }
      if (c.tls && !c.timed_out) {
        c.arm(kCloseTimeout);
        co_await c.tls->async_shutdown(as_tuple);
      }
    } catch (const std::exception& e) {
      spdlog::debug("smtp connection from {} ended: {}", c.client_ip, e.what());
    }
    c.close();
    release(c.client_ip, handle);
    spdlog::debug("smtp session ended listener={} client={}", c.listener.name, c.client_ip);
  }

  static awaitable<void> refuse(tcp::socket socket, std::string reply) {
    co_await asio::async_write(socket, asio::buffer(reply), as_tuple);
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  awaitable<void> accept_loop(tcp::acceptor& acceptor, const Listener& listener) {
    while (!stopping) {
      auto& context = pick_context();
      auto [ec, socket] = co_await acceptor.async_accept(context, as_tuple);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        spdlog::warn("smtp accept failed: {}", ec.message());
        continue;
      }
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      const auto remote = socket.remote_endpoint(ignored);
      const std::string ip = ignored ? std::string("unknown") : remote.address().to_string();
      if (!admit(ip)) {
        stats.sessions_refused.fetch_add(1, std::memory_order_relaxed);
        if (listener.mode == ListenerMode::implicit_tls) {
          socket.close(ignored);  // no TLS yet: a clear-text reply would be noise to the client
        } else {
          auto executor = socket.get_executor();
          asio::co_spawn(
              executor,
              refuse(std::move(socket), "421 4.7.0 " + options.limits.hostname + " Error: too many connections\r\n"),
              asio::detached);
        }
        continue;
      }
      stats.sessions.fetch_add(1, std::memory_order_relaxed);
      auto executor = socket.get_executor();
      auto connection = std::make_shared<Connection>(std::move(socket), listener);
      connection->client_ip = ip;
      auto handle = std::make_shared<ConnectionHandle>(ConnectionHandle{executor, connection});
      {
        std::lock_guard lock(connections_mutex);
        connections.insert(handle);
      }
      asio::co_spawn(executor, serve(connection, handle), asio::detached);
    }
  }

  HostPort listen_on(const Listener& listener) {
    if (!listener.backend) throw std::invalid_argument("SMTP listener " + listener.name + " has no backend");
    const auto address = asio::ip::make_address(listener.address.host);
    auto acceptor = std::make_unique<tcp::acceptor>(*contexts.front());
    const tcp::endpoint endpoint(address, listener.address.port);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(endpoint);
    acceptor->listen(asio::socket_base::max_listen_connections);
    const HostPort bound{listener.address.host, acceptor->local_endpoint().port()};
    acceptors.push_back(std::move(acceptor));
    return bound;
  }

  std::vector<std::shared_ptr<ConnectionHandle>> open_connections() {
    std::lock_guard lock(connections_mutex);
    return {connections.begin(), connections.end()};
  }
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  if (!impl_->threads.empty()) shutdown(std::chrono::milliseconds(0));
}

std::vector<HostPort> Server::start() {
  Impl& impl = *impl_;
  if (!impl.threads.empty()) throw std::logic_error("SMTP server already started");
  impl.load_tls();
  std::vector<HostPort> bound;
  for (const auto& listener : impl.options.listeners) bound.push_back(impl.listen_on(listener));
  for (std::size_t i = 0; i < impl.acceptors.size(); ++i)
    asio::co_spawn(*impl.contexts.front(), impl.accept_loop(*impl.acceptors[i], impl.options.listeners[i]),
                   asio::detached);
  for (auto& context : impl.contexts) {
    impl.threads.emplace_back([&context] {
      auto guard = asio::make_work_guard(*context);  // idle contexts wait for connections
      context->run();
    });
  }
  return bound;
}

void Server::shutdown(std::chrono::milliseconds grace) {
  Impl& impl = *impl_;
  if (impl.stopping.exchange(true)) {
    wait();
    return;
  }
  if (!impl.contexts.empty() && !impl.threads.empty()) {
    asio::post(*impl.contexts.front(), [&impl] {
      for (auto& acceptor : impl.acceptors) {
        error_code ignored;
        acceptor->close(ignored);
      }
    });
    // Idle sessions get 421 at once; sessions in a transaction get it when the transaction ends.
    for (auto& handle : impl.open_connections()) {
      asio::post(handle->executor, [connection = handle->connection] {
        connection->shutdown_requested = true;
        if (connection->reading && connection->session && connection->session->idle()) {
          error_code ignored;
          connection->lowest().cancel(ignored);
        }
      });
    }
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (!impl.open_connections().empty() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // Whatever is left after the grace period is cut off.
    for (auto& handle : impl.open_connections()) {
      asio::post(handle->executor, [connection = handle->connection] {
        if (!connection->closed) connection->close();
      });
    }
    const auto cutoff = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (!impl.open_connections().empty() && std::chrono::steady_clock::now() < cutoff)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (auto& context : impl.contexts) context->stop();
    for (auto& thread : impl.threads) thread.join();
    impl.threads.clear();
  }
  impl.workers.join();
  impl.stopped.count_down();
}

void Server::wait() { impl_->stopped.wait(); }

std::size_t Server::active_sessions() const {
  std::lock_guard lock(impl_->connections_mutex);
  return static_cast<std::size_t>(impl_->connection_count);
}

std::string Server::render_metrics() const {
  const SmtpStats& s = impl_->stats;
  auto line = [](std::string& out, const char* name, const char* labels, std::uint64_t value) {
    out += name;
    out += labels;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
  };
  std::string out;
  out +=
      "# HELP postroom_smtp_sessions_total SMTP connections accepted.\n# TYPE postroom_smtp_sessions_total counter\n";
  line(out, "postroom_smtp_sessions_total", "", s.sessions.load());
  out +=
      "# HELP postroom_smtp_sessions_refused_total SMTP connections refused by connection limits.\n"
      "# TYPE postroom_smtp_sessions_refused_total counter\n";
  line(out, "postroom_smtp_sessions_refused_total", "", s.sessions_refused.load());
  out += "# HELP postroom_smtp_sessions_active Open SMTP connections.\n# TYPE postroom_smtp_sessions_active gauge\n";
  line(out, "postroom_smtp_sessions_active", "", active_sessions());
  out += "# HELP postroom_smtp_messages_total Messages by outcome.\n# TYPE postroom_smtp_messages_total counter\n";
  line(out, "postroom_smtp_messages_total", "{result=\"accepted\"}", s.messages_accepted.load());
  line(out, "postroom_smtp_messages_total", "{result=\"rejected\"}", s.messages_rejected.load());
  out +=
      "# HELP postroom_smtp_message_bytes_total Bytes of accepted messages.\n"
      "# TYPE postroom_smtp_message_bytes_total counter\n";
  line(out, "postroom_smtp_message_bytes_total", "", s.message_bytes.load());
  out +=
      "# HELP postroom_smtp_auth_total Authentication attempts by outcome.\n# TYPE postroom_smtp_auth_total counter\n";
  line(out, "postroom_smtp_auth_total", "{result=\"success\"}", s.auth_succeeded.load());
  line(out, "postroom_smtp_auth_total", "{result=\"failure\"}", s.auth_failed.load());
  out +=
      "# HELP postroom_smtp_starttls_total Successful STARTTLS upgrades.\n# TYPE postroom_smtp_starttls_total "
      "counter\n";
  line(out, "postroom_smtp_starttls_total", "", s.tls_started.load());
  out += "# HELP postroom_smtp_replies_total Replies by class.\n# TYPE postroom_smtp_replies_total counter\n";
  for (std::size_t i = 2; i < s.replies.size(); ++i) {
    const std::string labels = "{class=\"" + std::to_string(i) + "xx\"}";
    line(out, "postroom_smtp_replies_total", labels.c_str(), s.replies[i].load());
  }
  return out;
}

}  // namespace postroom::smtp
