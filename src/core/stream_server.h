#pragma once
// What every line-protocol listener (SMTP, POP3) shares: a connection's transport and deadlines, the watchdog
// that enforces them, and the server core — one single-threaded io_context per I/O thread (a connection lives
// on one, so its handlers never run concurrently and need no strand), a worker pool for storage calls, the
// acceptors, the connection limiter and the set of open connections that shutdown walks. The protocol servers
// keep only their session loop. Asio and OpenSSL heavy: include it from the servers' .cpp files only.
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <latch>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/connection_limiter.h"

namespace postroom::stream_server {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using error_code = boost::system::error_code;
inline constexpr auto as_tuple = asio::as_tuple(asio::use_awaitable);

inline constexpr std::size_t kWriteChunk = 64 * 1024;           // each chunk of a long write gets its own deadline
inline constexpr auto kCloseTimeout = std::chrono::seconds(2);  // waiting for the client's TLS close_notify

// The client went away (or we cancelled): not worth a log line.
inline bool peer_gone(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::operation_aborted || ec == ssl::error::stream_truncated;
}

// A connection's deadline, enforced by `watchdog`. Arming it only writes a time: a session arms it for every read
// and write, several times per message, and moving an asio timer each time cost a cancellation, a wake-up of the
// watchdog and often a timerfd_settime system call. The timer moves only when a new deadline is earlier than the
// watchdog's next wake-up; the watchdog wakes at the deadline or after kRecheck, whichever is first, so that a
// deadline armed later for kRecheck or more never needs the timer.
class Deadline {
 public:
  using Clock = asio::steady_timer::clock_type;
  static constexpr auto kRecheck = std::chrono::seconds(30);

  explicit Deadline(const asio::any_io_executor& executor) : timer_(executor) {}

  void arm(Clock::duration timeout) {
    due_ = Clock::now() + timeout;
    if (due_ < timer_.expiry()) timer_.expires_at(due_);  // wakes the watchdog to wait for the earlier time
  }
  void disarm() { due_ = Clock::time_point::max(); }
  bool passed() const { return due_ <= Clock::now(); }
  void cancel() { timer_.cancel(); }  // the connection is closing: ends the watchdog's wait

  // Waits until the deadline or the next recheck, or until cancelled or moved earlier.
  awaitable<void> wait() {
    const auto now = Clock::now();
    timer_.expires_at(due_ - now > kRecheck ? now + kRecheck : due_);
    co_await timer_.async_wait(as_tuple);
  }

 private:
  asio::steady_timer timer_;
  Clock::time_point due_ = Clock::time_point::max();
};

// One connection's transport and timers, shared by the session coroutine and its watchdog; touched only on the
// connection's io_context thread, except `session` while a backend call runs on a worker (the coroutine waits).
template <class Session, class Listener, std::size_t BufferSize>
struct Connection {
  Connection(tcp::socket s, const Listener& l)
      : socket(std::move(s)), listener(l), deadline(socket.get_executor()), pause(socket.get_executor()) {}

  tcp::socket socket;  // moved into `tls` when the connection is encrypted
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  const Listener& listener;
  Deadline deadline;
  asio::steady_timer pause;  // a wait between steps (POP3's delay after a failed login); close() ends it
  std::unique_ptr<Session> session;
  std::string client_ip;
  std::array<char, BufferSize> buffer{};
  bool reading = false;
  bool timed_out = false;
  bool shutdown_requested = false;
  bool shutdown_delivered = false;
  bool closed = false;

  tcp::socket& lowest() { return tls ? tls->next_layer() : socket; }

  void arm(std::chrono::steady_clock::duration timeout) { deadline.arm(timeout); }
  void disarm() { deadline.disarm(); }

  awaitable<std::tuple<error_code, std::size_t>> read_some() {
    if (tls) co_return co_await tls->async_read_some(asio::buffer(buffer), as_tuple);
    co_return co_await socket.async_read_some(asio::buffer(buffer), as_tuple);
  }

  // Writes everything, arming `timeout` for every chunk: a long answer to a slow reader is not cut off as long
  // as it keeps reading.
  awaitable<error_code> write(const std::string& bytes, std::chrono::seconds timeout) {
    for (std::size_t pos = 0; pos < bytes.size(); pos += kWriteChunk) {
      const auto chunk = asio::buffer(bytes.data() + pos, std::min(kWriteChunk, bytes.size() - pos));
      arm(timeout);
      if (tls) {
        auto [ec, n] = co_await asio::async_write(*tls, chunk, as_tuple);
        if (ec) co_return ec;
      } else {
        auto [ec, n] = co_await asio::async_write(socket, chunk, as_tuple);
        if (ec) co_return ec;
      }
    }
    co_return error_code{};
  }

  // The server side of a TLS handshake within `timeout`; `what` names it in the log line of a failure.
  awaitable<bool> handshake(ssl::context& context, std::chrono::seconds timeout, const char* what) {
    arm(timeout);
    tls = std::make_unique<ssl::stream<tcp::socket>>(std::move(socket), context);
    auto [ec] = co_await tls->async_handshake(ssl::stream_base::server, as_tuple);
    if (ec) spdlog::debug("{} handshake with {} failed: {}", what, client_ip, ec.message());
    co_return !ec;
  }

  // Waits for input within `timeout` and hands it to the session — or tells it of the timeout, the shutdown or
  // the lost peer. False when the connection is over.
  awaitable<bool> read_into_session(std::chrono::steady_clock::duration timeout, const char* protocol) {
    arm(timeout);
    reading = true;
    auto [ec, n] = co_await read_some();
    reading = false;
    if (timed_out) {
      session->timeout();
      co_return true;
    }
    if (ec == asio::error::operation_aborted && shutdown_requested) {
      deliver_shutdown();
      co_return true;
    }
    if (ec) {
      if (!peer_gone(ec)) spdlog::debug("{} read from {} failed: {}", protocol, client_ip, ec.message());
      session->disconnected();
      co_return false;
    }
    session->receive(std::string_view(buffer.data(), n));
    deliver_shutdown();
    co_return true;
  }

  // Runs the session's pending storage call: here when the backend says it is quick, otherwise on a worker with
  // the deadline off (the storage may take a while; the client waits for our reply). Then the session goes on.
  template <class Backend>
  awaitable<void> run_backend(Backend& backend, asio::thread_pool& workers) {
    Session& s = *session;
    if (backend.runs_inline(s.pending_call())) {
      s.run_backend(backend);
    } else {
      disarm();
      co_await asio::co_spawn(
          workers,
          [&s, &backend]() -> awaitable<void> {
            s.run_backend(backend);
            co_return;
          },
          asio::use_awaitable);
    }
    s.backend_done();
    deliver_shutdown();
  }

  // Ends a TLS session politely (close_notify, bounded by kCloseTimeout) unless the connection timed out.
  awaitable<void> close_tls() {
    if (!tls || timed_out || closed) co_return;
    arm(kCloseTimeout);
    co_await tls->async_shutdown(as_tuple);
  }

  void close() {
    closed = true;
    error_code ignored;
    lowest().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close(ignored);
    deadline.cancel();
    pause.cancel();
  }

  // Called after every wake-up of the session coroutine: forwards a pending shutdown to the session once.
  void deliver_shutdown() {
    if (shutdown_requested && !shutdown_delivered) {
      shutdown_delivered = true;
      session->shutdown();
    }
  }
};

// Cancels the pending socket operation when the deadline passes; exits once the connection is closed.
template <class C>
awaitable<void> watchdog(std::shared_ptr<C> connection) {
  while (!connection->closed) {
    co_await connection->deadline.wait();
    if (connection->closed) co_return;
    if (connection->deadline.passed()) {
      connection->timed_out = true;
      connection->disarm();
      error_code ignored;
      connection->lowest().cancel(ignored);
    }
  }
}

// Answers a connection over the limits with one line and closes it.
inline awaitable<void> refuse(tcp::socket socket, std::string reply) {
  co_await asio::async_write(socket, asio::buffer(reply), as_tuple);
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

// Turns away a connection over the limits: `reply` and close, or only close on an implicit-TLS listener (no TLS
// yet: a clear-text reply would be noise to the client).
inline void turn_away(tcp::socket socket, bool implicit_tls, std::string reply) {
  if (implicit_tls) {
    error_code ignored;
    socket.close(ignored);
    return;
  }
  auto executor = socket.get_executor();
  asio::co_spawn(executor, refuse(std::move(socket), std::move(reply)), asio::detached);
}

template <class C>
class ServerCore {
 public:
  // What shutdown needs to reach a connection from another thread.
  struct Handle {
    asio::any_io_executor executor;
    std::shared_ptr<C> connection;
  };

  ServerCore(int io_threads, int worker_threads, int max_connections, int max_connections_per_ip)
      : workers(static_cast<std::size_t>(std::max(1, worker_threads))),
        limiter(max_connections, max_connections_per_ip) {
    for (int i = 0; i < std::max(1, io_threads); ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  }

  ~ServerCore() {
    // Connection coroutines still suspended in a context are destroyed with it; they reference the server's
    // members, so the contexts go first.
    acceptors.clear();
    contexts.clear();
  }

  asio::io_context& pick_context() { return *contexts[next_context++ % contexts.size()]; }

  // Binds a listening socket; returns the address with the port actually bound (for port 0).
  HostPort listen(const HostPort& address) {
    auto acceptor = std::make_unique<tcp::acceptor>(*contexts.front());
    const tcp::endpoint endpoint(asio::ip::make_address(address.host), address.port);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(endpoint);
    acceptor->listen(asio::socket_base::max_listen_connections);
    const HostPort bound{address.host, acceptor->local_endpoint().port()};
    acceptors.push_back(std::move(acceptor));
    return bound;
  }

  // Accepts on acceptor `index` until shutdown. `admitted(socket, client_ip)` gets connections within the
  // limits; `refused(socket)` the others.
  template <class Admitted, class Refused>
  awaitable<void> accept_loop(std::size_t index, const char* protocol, Admitted admitted, Refused refused) {
    tcp::acceptor& acceptor = *acceptors[index];
    while (!stopping) {
      auto [ec, socket] = co_await acceptor.async_accept(pick_context(), as_tuple);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        spdlog::warn("{} accept failed: {}", protocol, ec.message());
        continue;
      }
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      const auto remote = socket.remote_endpoint(ignored);
      const std::string ip = ignored ? std::string("unknown") : remote.address().to_string();
      if (limiter.admit(ip))
        admitted(std::move(socket), ip);
      else
        refused(std::move(socket));
    }
  }

  // Starts a connection's watchdog and `serve` coroutine, keeping it in the open set until released.
  template <class Serve>
  void spawn(std::shared_ptr<C> connection, Serve serve) {
    auto executor = connection->socket.get_executor();
    auto handle = std::make_shared<Handle>(Handle{executor, connection});
    {
      std::lock_guard lock(connections_mutex);
      connections.insert(handle);
    }
    asio::co_spawn(executor, watchdog(connection), asio::detached);
    asio::co_spawn(executor, serve(connection, handle), asio::detached);
  }

  void release(const std::string& ip, const std::shared_ptr<Handle>& handle) {
    {
      std::lock_guard lock(connections_mutex);
      connections.erase(handle);
    }
    limiter.release(ip);
  }

  void run_threads() {
    for (auto& context : contexts) {
      threads.emplace_back([&context] {
        auto guard = asio::make_work_guard(*context);  // idle contexts wait for connections
        context->run();
      });
    }
  }

  bool started() const { return !threads.empty(); }

  // Stops accepting, asks every session to end (`idle(session)` ones at once: their read is cancelled; the
  // others at their next step), waits up to `grace`, then cuts off the rest. A second call waits for the first.
  template <class IdlePredicate>
  void shutdown(std::chrono::milliseconds grace, IdlePredicate idle) {
    if (stopping.exchange(true)) {
      stopped.wait();
      return;
    }
    if (!contexts.empty() && !threads.empty()) {
      asio::post(*contexts.front(), [this] {
        for (auto& acceptor : acceptors) {
          error_code ignored;
          acceptor->close(ignored);
        }
      });
      for (auto& handle : open_connections()) {
        asio::post(handle->executor, [connection = handle->connection, idle] {
          connection->shutdown_requested = true;
          if (connection->reading && connection->session && idle(*connection->session)) {
            error_code ignored;
            connection->lowest().cancel(ignored);
          }
        });
      }
      wait_for_connections(grace);
      for (auto& handle : open_connections()) {
        asio::post(handle->executor, [connection = handle->connection] {
          if (!connection->closed) connection->close();
        });
      }
      wait_for_connections(std::chrono::milliseconds(500));
      for (auto& context : contexts) context->stop();
      for (auto& thread : threads) thread.join();
      threads.clear();
    }
    workers.join();
    stopped.count_down();
  }

  void wait() { stopped.wait(); }
  std::int64_t active() const { return limiter.active(); }

  std::vector<std::unique_ptr<asio::io_context>> contexts;
  asio::thread_pool workers;
  std::atomic<bool> stopping{false};

 private:
  std::vector<std::shared_ptr<Handle>> open_connections() {
    std::lock_guard lock(connections_mutex);
    return {connections.begin(), connections.end()};
  }

  void wait_for_connections(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!open_connections().empty() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  std::atomic<std::size_t> next_context{0};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<std::thread> threads;
  ConnectionLimiter limiter;
  std::mutex connections_mutex;  // guards `connections`
  std::set<std::shared_ptr<Handle>> connections;
  std::latch stopped{1};  // counted down once shutdown has completed
};

}  // namespace postroom::stream_server
