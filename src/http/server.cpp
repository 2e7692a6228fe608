// Boost.Beast lives only in this translation unit (compile time: see docs/architecture.md).
#include "http/server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "core/crypto.h"

namespace postroom::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto as_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr auto kWriteTimeout = std::chrono::seconds(30);
constexpr std::size_t kLingerBytes = 64 * 1024 * 1024;

// Lets shutdown close a connection that is idle between requests, from the connection's own thread.
struct SessionControl {
  asio::any_io_executor executor;
  bool busy = false;  // touched only on the connection's io_context thread
  bool alive = true;
  std::function<void()> close_now;
};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  Handler handler;
  // One single-threaded io_context per I/O thread: a connection lives on one of them, so its handlers
  // never run concurrently and need no strand.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::atomic<std::size_t> next_context{0};
  asio::thread_pool workers;
  asio::thread_pool long_running;
  ssl::context tls{ssl::context::tls_server};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<bool> acceptor_is_tls;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::mutex sessions_mutex;
  std::set<std::shared_ptr<SessionControl>> sessions;
  std::string id_prefix = crypto::random_hex(8);
  std::atomic<std::uint64_t> next_id{0};
  std::latch stopped{1};  // counted down once shutdown has completed
  // Deferred responses settle on other threads, possibly after the server has stopped: they post to a
  // connection's io_context only while this is open.
  struct Posting {
    std::mutex mutex;
    bool open = true;
  };
  std::shared_ptr<Posting> posting = std::make_shared<Posting>();

  Impl(ServerOptions o, Handler h)
      : options(std::move(o)),
        handler(std::move(h)),
        workers(static_cast<std::size_t>(options.worker_threads)),
        long_running(static_cast<std::size_t>(std::max(1, options.long_running_threads))) {
    for (int i = 0; i < std::max(1, options.io_threads); ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  }

  asio::io_context& pick_context() { return *contexts[next_context++ % contexts.size()]; }

  Response too_large() {
    return error_response(
        413, "Request body is larger than the limit of " + std::to_string(options.max_body_bytes) + " bytes");
  }

  static Response error_response(int status, const std::string& message) {
    Response response;
    response.status = status;
    response.content_type = "application/json; charset=utf-8";
    // Messages come from us or the parser; escape anyway so the body stays valid JSON.
    std::string escaped;
    for (char c : message) {
      if (c == '"' || c == '\\') escaped.push_back('\\');
      if (static_cast<unsigned char>(c) >= 0x20) escaped.push_back(c);
    }
    response.body = "{\"error\":\"" + escaped + "\"}";
    return response;
  }

  template <class Stream>
  awaitable<bool> write(Stream& stream, Response response, bool keep_alive, const std::string& request_id,
                        unsigned version) {
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(response.status), version};
    out.set(bhttp::field::server, "postroom");
    if (!response.content_type.empty()) out.set(bhttp::field::content_type, response.content_type);
    out.set("X-Request-Id", request_id);
    for (const auto& [name, value] : response.headers) out.insert(name, value);
    out.body() = std::move(response.body);
    out.keep_alive(keep_alive);
    out.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
    auto [ec, written] = co_await bhttp::async_write(stream, out, as_tuple);
    co_return !ec;
  }

  // A streamed response (server-sent events): the head without a length, then the stream's data as it becomes
  // ready, until the stream ends, the client goes away or the server stops. The connection then closes.
  template <class Stream>
  awaitable<void> write_stream(Stream& stream, Response response, const std::string& request_id, unsigned version,
                               std::shared_ptr<SessionControl> control) {
    bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(response.status), version};
    head.set(bhttp::field::server, "postroom");
    if (!response.content_type.empty()) head.set(bhttp::field::content_type, response.content_type);
    head.set(bhttp::field::cache_control, "no-cache");
    head.set("X-Request-Id", request_id);
    for (const auto& [name, value] : response.headers) head.insert(name, value);
    head.keep_alive(false);
    bhttp::response_serializer<bhttp::empty_body> serializer{head};
    beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
    if (auto [ec, n] = co_await bhttp::async_write_header(stream, serializer, as_tuple); ec) co_return;

    // Wake-ups are posted to this connection's single thread, so `pending` needs no lock: either the wake-up
    // ran before we look at it, or it cancels the wait that follows.
    auto timer = std::make_shared<asio::steady_timer>(control->executor);
    auto pending = std::make_shared<bool>(false);
    auto closed = std::make_shared<bool>(false);
    response.stream->on_ready([executor = control->executor, weak = std::weak_ptr(timer), pending] {
      asio::post(executor, [weak, pending] {
        *pending = true;
        if (auto t = weak.lock()) t->cancel();
      });
    });
    auto previous_close = control->close_now;
    control->close_now = [previous_close, timer, closed] {
      *closed = true;
      timer->cancel();
      if (previous_close) previous_close();
    };
    control->busy = false;  // shutdown may close a waiting event stream at once
    std::string out = std::move(response.body);
    constexpr auto kKeepalive = std::chrono::seconds(15);
    while (!*closed && !stopping) {
      const bool alive = response.stream->poll(out);
      if (!out.empty()) {
        beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
        auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), as_tuple);
        if (ec) break;
        out.clear();
      }
      if (!alive) break;
      if (!*pending) {
        timer->expires_after(kKeepalive);
        auto [ec] = co_await timer->async_wait(as_tuple);
        if (!ec && !*pending && !*closed) out = response.stream->keepalive();  // quiet for a while
      }
      *pending = false;
    }
    response.stream->on_ready(nullptr);
    control->close_now = previous_close;
  }

  // Waits, without holding any thread, for a deferred response; it is settled on another thread (a commit
  // callback) and posted here, to the connection's own thread. The connection stays busy meanwhile, so shutdown
  // lets it finish.
  awaitable<Response> arrival(std::shared_ptr<DeferredResponse> deferred, asio::any_io_executor executor) {
    struct Arrival {
      asio::steady_timer timer;
      std::optional<Response> response;
    };
    auto waiting = std::make_shared<Arrival>(Arrival{asio::steady_timer(executor), {}});
    // Runs on the settling thread, maybe after the server is gone: it uses nothing of `this`.
    deferred->then(
        [posting = posting, executor, weak = std::weak_ptr(waiting)](Response response, std::exception_ptr error) {
          if (error) {  // the pipeline settles with responses; this is a handler outside it
            try {
              std::rethrow_exception(error);
            } catch (const std::exception& e) {
              spdlog::error("deferred response failed: {}", e.what());
            } catch (...) {
            }
            response = error_response(500, "Unexpected error");
          }
          std::lock_guard lock(posting->mutex);
          if (!posting->open) return;  // the server has stopped: nobody waits any more
          asio::post(executor, [weak, response = std::move(response)]() mutable {
            if (auto w = weak.lock()) {
              w->response = std::move(response);
              w->timer.cancel();
            }
          });
        });
    while (!waiting->response) {
      waiting->timer.expires_after(std::chrono::hours(1));
      co_await waiting->timer.async_wait(as_tuple);
    }
    co_return std::move(*waiting->response);
  }

  // After an early error reply (413, 400) the client may still be sending. Closing at once would make the kernel
  // reset the connection and the client could lose the reply, so stop sending and drain input for a while.
  template <class Stream>
  awaitable<void> linger(Stream& stream) {
    auto& tcp_stream = beast::get_lowest_layer(stream);
    beast::error_code ignored;
    tcp_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    std::array<char, 16384> scratch;
    std::size_t drained = 0;
    tcp_stream.expires_after(std::chrono::seconds(5));
    while (drained < kLingerBytes) {
      auto [ec, n] = co_await tcp_stream.async_read_some(asio::buffer(scratch), as_tuple);
      if (ec) break;
      drained += n;
    }
  }

  template <class Stream>
  awaitable<void> serve(Stream& stream, const std::string& remote, std::shared_ptr<SessionControl> control) {
    beast::flat_buffer buffer;
    bool first = true;
    while (!stopping) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(static_cast<std::uint64_t>(options.max_body_bytes));
      beast::get_lowest_layer(stream).expires_after(
          std::chrono::seconds(first ? options.header_timeout_seconds : options.idle_timeout_seconds));
      control->busy = false;
      auto [ec, read] = co_await bhttp::async_read_header(stream, buffer, parser, as_tuple);
      control->busy = true;
      const std::string request_id = id_prefix + "-" + std::to_string(++next_id);
      if (ec) {
        const bool peer_gone = ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
                               ec == asio::error::operation_aborted || ec == asio::error::eof ||
                               ec == asio::error::connection_reset;
        if (peer_gone) co_return;
        // The parser checks a declared Content-Length against the limit while reading the headers.
        Response reply = ec == bhttp::error::header_limit ? error_response(431, "Request headers too large")
                         : ec == bhttp::error::body_limit
                             ? too_large()
                             : error_response(400, "Malformed HTTP request: " + ec.message());
        co_await write(stream, std::move(reply), false, request_id, 11);
        co_await linger(stream);
        co_return;
      }
      // Timeouts on the first header defend against slowloris; the body gets its own bounded time.
      first = false;
      const auto& head = parser.get();
      if (beast::iequals(head[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, head.version()};
        co_await bhttp::async_write(stream, cont, as_tuple);
      }
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(options.body_timeout_seconds));
      auto [body_ec, body_read] = co_await bhttp::async_read(stream, buffer, parser, as_tuple);
      if (body_ec == bhttp::error::body_limit) {
        co_await write(stream, too_large(), false, request_id, head.version());
        co_await linger(stream);
        co_return;
      }
      if (body_ec) {
        if (body_ec != beast::error::timeout && body_ec != asio::error::eof && body_ec != asio::error::connection_reset)
          co_await write(stream, error_response(400, "Malformed HTTP request: " + body_ec.message()), false, request_id,
                         11);
        co_return;
      }
      auto message = parser.release();
      Request request;
      request.method = std::string(message.method_string());
      request.target = std::string(message.target());
      request.remote_address = remote;
      request.secure = !std::is_same_v<Stream, beast::tcp_stream>;
      request.request_id = request_id;
      for (const auto& field : message)
        request.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
      if (auto client_id = request.header("x-request-id"); client_id && valid_request_id(*client_id))
        request.request_id = std::string(*client_id);
      request.body = std::move(message.body());
      const bool keep_alive = message.keep_alive();
      Response response;
      if (!split_target(request.target, request.path, request.query)) {
        response = error_response(400, "Malformed request target");
      } else {
        try {
          if (options.run_inline && options.run_inline(request))
            response = handler(request);
          else if (options.long_running && options.long_running(request))
            response = co_await asio::co_spawn(
                long_running, [&]() -> awaitable<Response> { co_return handler(request); }, use_awaitable);
          else
            response = co_await asio::co_spawn(
                workers, [&]() -> awaitable<Response> { co_return handler(request); }, use_awaitable);
        } catch (const std::exception& e) {
          spdlog::error("request_id={} handler failed: {}", request.request_id, e.what());
          response = error_response(500, "Unexpected error");
        }
        if (response.deferred) response = co_await arrival(std::move(response.deferred), control->executor);
      }
      if (response.stream) {
        co_await write_stream(stream, std::move(response), request.request_id, message.version(), control);
        co_return;
      }
      const bool again = keep_alive && !stopping;
      const bool written = co_await write(stream, std::move(response), again, request.request_id, message.version());
      if (!written || !again) co_return;
    }
  }

  awaitable<void> plain_session(tcp::socket socket, std::shared_ptr<SessionControl> control) {
    beast::tcp_stream stream(std::move(socket));
    const std::string remote = remote_of(stream.socket());
    control->close_now = [&stream] { stream.cancel(); };
    try {
      co_await serve(stream, remote, control);
    } catch (const std::exception& e) {
      spdlog::debug("connection from {} ended: {}", remote, e.what());
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    finish(control);
  }

  awaitable<void> tls_session(tcp::socket socket, std::shared_ptr<SessionControl> control) {
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), tls);
    const std::string remote = remote_of(beast::get_lowest_layer(stream).socket());
    control->close_now = [&stream] { beast::get_lowest_layer(stream).cancel(); };
    try {
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(options.header_timeout_seconds));
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, as_tuple);
      if (!ec) {
        co_await serve(stream, remote, control);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
        co_await stream.async_shutdown(as_tuple);
      }
    } catch (const std::exception& e) {
      spdlog::debug("TLS connection from {} ended: {}", remote, e.what());
    }
    finish(control);
  }

  static std::string remote_of(tcp::socket& socket) {
    beast::error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    return ec ? std::string("unknown") : endpoint.address().to_string();
  }

  void finish(const std::shared_ptr<SessionControl>& control) {
    control->alive = false;
    control->close_now = nullptr;
    std::lock_guard lock(sessions_mutex);
    sessions.erase(control);
  }

  awaitable<void> accept_loop(tcp::acceptor& acceptor, bool is_tls) {
    while (!stopping) {
      auto& context = pick_context();
      auto [ec, socket] = co_await acceptor.async_accept(context, as_tuple);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        spdlog::warn("accept failed: {}", ec.message());
        continue;
      }
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto control = std::make_shared<SessionControl>();
      control->executor = socket.get_executor();
      {
        std::lock_guard lock(sessions_mutex);
        sessions.insert(control);
      }
      auto executor = socket.get_executor();
      if (is_tls)
        asio::co_spawn(executor, tls_session(std::move(socket), control), asio::detached);
      else
        asio::co_spawn(executor, plain_session(std::move(socket), control), asio::detached);
    }
  }

  HostPort listen_on(const HostPort& where, bool is_tls) {
    const auto address = asio::ip::make_address(where.host);
    auto acceptor = std::make_unique<tcp::acceptor>(*contexts.front());
    const tcp::endpoint endpoint(address, where.port);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(endpoint);
    acceptor->listen(asio::socket_base::max_listen_connections);
    const HostPort bound{where.host, acceptor->local_endpoint().port()};
    acceptors.push_back(std::move(acceptor));
    acceptor_is_tls.push_back(is_tls);
    return bound;
  }
};

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() {
  if (!impl_->threads.empty()) {
    shutdown(std::chrono::seconds(0));
    wait();
  }
}

std::vector<HostPort> Server::start() {
  Impl& impl = *impl_;
  if (!impl.options.listen_tls.empty()) {
    impl.tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    impl.tls.use_certificate_chain_file(impl.options.tls_certificate);
    impl.tls.use_private_key_file(impl.options.tls_private_key, ssl::context::pem);
  }
  std::vector<HostPort> bound;
  for (const auto& where : impl.options.listen) bound.push_back(impl.listen_on(where, false));
  for (const auto& where : impl.options.listen_tls) bound.push_back(impl.listen_on(where, true));
  for (std::size_t i = 0; i < impl.acceptors.size(); ++i)
    asio::co_spawn(*impl.contexts.front(), impl.accept_loop(*impl.acceptors[i], impl.acceptor_is_tls[i]),
                   asio::detached);
  for (auto& context : impl.contexts) {
    impl.threads.emplace_back([&context] {
      auto guard = asio::make_work_guard(*context);  // idle contexts wait for connections
      context->run();
    });
  }
  return bound;
}

void Server::shutdown(std::chrono::seconds grace) {
  Impl& impl = *impl_;
  if (impl.stopping.exchange(true)) return;
  asio::post(*impl.contexts.front(), [&impl] {
    for (auto& acceptor : impl.acceptors) {
      beast::error_code ignored;
      acceptor->close(ignored);
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (true) {
    // Idle keep-alive connections are closed at once; busy ones close after their response.
    std::vector<std::shared_ptr<SessionControl>> open;
    {
      std::lock_guard lock(impl.sessions_mutex);
      open.assign(impl.sessions.begin(), impl.sessions.end());
    }
    for (auto& control : open) {
      asio::post(control->executor, [control] {
        if (control->alive && !control->busy && control->close_now) control->close_now();
      });
    }
    if (open.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& context : impl.contexts) context->stop();
  for (auto& thread : impl.threads) thread.join();
  impl.threads.clear();
  {
    std::lock_guard lock(impl.posting->mutex);
    impl.posting->open = false;
  }
  impl.workers.join();
  impl.long_running.join();
  impl.stopped.count_down();
}

void Server::wait() { impl_->stopped.wait(); }

}  // namespace postroom::http
