// Boost.Asio and OpenSSL streams live only in this translation unit (compile time: see docs/architecture.md).
// The protocol itself is smtp::Session; this file moves bytes, runs backend calls on the worker pool, and
// enforces connection limits, deadlines and shutdown.
#include "smtp/server.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "core/stream_server.h"
#include "core/tls_certificate.h"

namespace postroom::smtp {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::awaitable;
using asio::use_awaitable;
using error_code = boost::system::error_code;
using stream_server::as_tuple;
using stream_server::peer_gone;

namespace {

constexpr std::size_t kReadBuffer = 16 * 1024;
using Connection = stream_server::Connection<Session, Listener, kReadBuffer>;
using Core = stream_server::ServerCore<Connection>;

}  // namespace

void add_listeners(ServerOptions& options, const std::string& addresses, ListenerMode mode, SmtpBackend& backend,
                   const std::string& name) {
  for (const auto& address : parse_host_port_list(addresses))
    options.listeners.push_back({address, mode, &backend, name});
}

struct Server::Impl {
  ServerOptions options;
  ssl::context tls_context{ssl::context::tls_server};
  bool tls_ready = false;
  SmtpStats stats;
  // Last, so it goes first: its io_contexts hold connection coroutines that use the members above.
  Core core{options.io_threads, options.worker_threads, options.max_connections, options.max_connections_per_ip};

  explicit Impl(ServerOptions o) : options(std::move(o)) {}

  void load_tls() {
    bool needed = false;
    for (const auto& listener : options.listeners) needed |= listener.mode != ListenerMode::plain;
    if (!needed) return;
    load_server_tls(tls_context, options.tls.data_dir, options.tls.certificate, options.tls.private_key, "SMTP");
    tls_ready = true;
  }

  awaitable<void> serve(std::shared_ptr<Connection> connection, std::shared_ptr<Core::Handle> handle) {
    Connection& c = *connection;
    const auto command_timeout = std::chrono::seconds(options.command_timeout_seconds);
    const auto data_timeout = std::chrono::seconds(options.data_timeout_seconds);
    const auto write_timeout = std::chrono::seconds(options.write_timeout_seconds);
    const auto handshake_timeout = std::chrono::seconds(options.tls_handshake_timeout_seconds);
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
        if (!co_await c.handshake(tls_context, handshake_timeout, "smtp TLS")) {
          c.close();
          core.release(c.client_ip, handle);
          co_return;
        }
      }
      Session& session = *c.session;
      session.start();
      while (true) {
        // Replies are held while the backend works, so a pipelined group is answered in one write (RFC 2920).
        if (session.has_output() && session.next() != Session::Next::backend) {
          const std::string out = session.take_output();
          if (auto write_ec = co_await c.write(out, write_timeout)) break;
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
              c.deliver_shutdown();
              continue;
            }
          }
          co_await c.run_backend(*backend, core.workers);
          continue;
        }
        if (next == Session::Next::start_tls) {
          if (!co_await c.handshake(tls_context, handshake_timeout, "smtp STARTTLS")) break;
          session.tls_started();
          continue;
        }
        if (!co_await c.read_into_session(session.in_data() ? data_timeout : command_timeout, "smtp")) break;
      }
      co_await c.close_tls();
    } catch (const std::exception& e) {
      spdlog::debug("smtp connection from {} ended: {}", c.client_ip, e.what());
    }
    c.close();
    core.release(c.client_ip, handle);
    spdlog::debug("smtp session ended listener={} client={}", c.listener.name, c.client_ip);
  }

  awaitable<void> accept_loop(std::size_t index) {
    const Listener& listener = options.listeners[index];
    co_await core.accept_loop(
        index, "smtp",
        [this, &listener](asio::ip::tcp::socket socket, const std::string& ip) {
          stats.sessions.fetch_add(1, std::memory_order_relaxed);
          auto connection = std::make_shared<Connection>(std::move(socket), listener);
          connection->client_ip = ip;
          core.spawn(connection, [this](auto c, auto h) { return serve(std::move(c), std::move(h)); });
        },
        [this, &listener](asio::ip::tcp::socket socket) {
          stats.sessions_refused.fetch_add(1, std::memory_order_relaxed);
          stream_server::turn_away(std::move(socket), listener.mode == ListenerMode::implicit_tls,
                                   "421 4.7.0 " + options.limits.hostname + " Error: too many connections\r\n");
        });
  }
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  if (impl_->core.started()) shutdown(std::chrono::milliseconds(0));
}

std::vector<HostPort> Server::start() {
  Impl& impl = *impl_;
  if (impl.core.started()) throw std::logic_error("SMTP server already started");
  impl.load_tls();
  std::vector<HostPort> bound;
  for (const auto& listener : impl.options.listeners) {
    if (!listener.backend) throw std::invalid_argument("SMTP listener " + listener.name + " has no backend");
    bound.push_back(impl.core.listen(listener.address));
  }
  for (std::size_t i = 0; i < bound.size(); ++i)
    asio::co_spawn(*impl.core.contexts.front(), impl.accept_loop(i), asio::detached);
  impl.core.run_threads();
  return bound;
}

void Server::shutdown(std::chrono::milliseconds grace) {
  // Idle sessions get 421 at once; sessions in a transaction get it when the transaction ends.
  impl_->core.shutdown(grace, [](Session& session) { return session.idle(); });
}

void Server::wait() { impl_->core.wait(); }

std::size_t Server::active_sessions() const { return static_cast<std::size_t>(impl_->core.active()); }

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
