// The outbound SMTP client. Boost.Asio and OpenSSL streams live only in this translation unit (see client.h and
// docs/architecture.md). One coroutine per send() drives one connection at a time; the connection's deadline
// timer and the stream server's watchdog bound every phase. Idle connections wait in a pool keyed by target,
// TLS options and credentials; while idle, a wait for readability notices a server that closes or sends 421.
#include "smtp/client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/stream_server.h"  // watchdog
#include "smtp/session.h"        // base64_encode

namespace postroom::smtp::client {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using error_code = boost::system::error_code;
using Duration = std::chrono::steady_clock::duration;
using Stage = Outcome::Stage;
constexpr auto as_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
// RFC 5321 4.5.3.1.5 allows 512 octets per reply line; real servers exceed it (long texts, EHLO lists), so the
// limit is generous, but a server cannot make us buffer without bound.
constexpr std::size_t kMaxReplyLine = 16 * 1024;
constexpr std::size_t kMaxReplyLines = 1000;
constexpr std::size_t kWriteChunk = 64 * 1024;
constexpr auto kQuitTimeout = std::chrono::seconds(5);
constexpr auto kTlsCloseTimeout = std::chrono::seconds(2);

std::string uppercase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Control characters or angle brackets in an envelope address would let it inject commands.
bool safe_path(std::string_view address) {
  for (char c : address) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == '<' || c == '>') return false;
  }
  return true;
}

// RFC 3461 4: xtext.
std::string xtext(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < '!' || u > '~' || c == '+' || c == '=') {
      out += '+';
      out += kHex[u >> 4];
      out += kHex[u & 0x0F];
    } else {
      out += c;
    }
  }
  return out;
}

bool is_ip_literal(const std::string& text) {
  error_code ec;
  asio::ip::make_address(text, ec);
  return !ec;
}

std::string printable(std::string_view text, std::size_t max = 80) {
  std::string out;
  for (char c : text.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7F) ? '?' : c;
  }
  if (text.size() > max) out += "...";
  return out;
}

// The message as sent after DATA: bare CR and LF become CRLF (RFC 5321 2.3.8; a bare LF could end the data early
// at a lenient server), lines starting with '.' get another (4.5.2), a missing final CRLF is added, then ".".
std::string data_for_wire(std::string_view data) {
  std::string out;
  out.reserve(data.size() + data.size() / 50 + 8);
  bool line_start = true;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '\r' || c == '\n') {
      out += "\r\n";
      if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;
      line_start = true;
      continue;
    }
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = false;
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
  return out;
}

// "x.y.z" with the reply's class, followed by a space or the end of the line (RFC 3463, RFC 2034).
std::size_t enhanced_length(std::string_view text, int code) {
  if (text.size() < 5 || text[0] - '0' != code / 100 || text[1] != '.') return 0;
  std::size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start || i - start > 3) return 0;
    if (part == 0) {
      if (i >= text.size() || text[i] != '.') return 0;
      ++i;
    }
  }
  return (i == text.size() || text[i] == ' ') ? i : 0;
}

struct Extensions {
  bool esmtp = false;
  bool pipelining = false;
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  bool enhanced_status_codes = false;
  bool starttls = false;
  bool dsn = false;
  bool size_offered = false;
  std::uint64_t size_limit = 0;   // 0: none announced
  std::vector<std::string> auth;  // mechanisms, uppercase
};

Extensions parse_ehlo(const std::vector<std::string>& lines) {
  Extensions ext;
  ext.esmtp = true;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    const auto end = line.find_first_of(" =");
    const std::string keyword = uppercase(line.substr(0, end));
    std::string_view params = end == std::string_view::npos ? std::string_view() : line.substr(end + 1);
    if (keyword == "PIPELINING") {
      ext.pipelining = true;
    } else if (keyword == "8BITMIME") {
      ext.eight_bit_mime = true;
    } else if (keyword == "SMTPUTF8") {
      ext.smtputf8 = true;
    } else if (keyword == "ENHANCEDSTATUSCODES") {
      ext.enhanced_status_codes = true;
    } else if (keyword == "STARTTLS") {
      ext.starttls = true;
    } else if (keyword == "DSN") {
      ext.dsn = true;
    } else if (keyword == "SIZE") {
      ext.size_offered = true;
      while (!params.empty() && params.front() == ' ') params.remove_prefix(1);
      std::uint64_t limit = 0;
      const auto result = std::from_chars(params.data(), params.data() + params.size(), limit);
      if (result.ec == std::errc()) ext.size_limit = limit;
    } else if (keyword == "AUTH") {  // also the pre-standard "AUTH=PLAIN LOGIN"
      std::size_t pos = 0;
      while (pos < params.size()) {
        const auto space = params.find(' ', pos);
        const auto word = params.substr(pos, space == std::string_view::npos ? std::string_view::npos : space - pos);
        if (!word.empty()) {
          std::string mechanism = uppercase(word);
          if (std::find(ext.auth.begin(), ext.auth.end(), mechanism) == ext.auth.end())
            ext.auth.push_back(std::move(mechanism));
        }
        if (space == std::string_view::npos) break;
        pos = space + 1;
      }
    }
  }
  return ext;
}

struct ReadResult {
  Reply reply;
  std::vector<std::string> lines;  // text of each line (EHLO keywords)
  std::string error;               // set when no complete reply was read
  bool ok() const { return error.empty(); }
};

// One TCP connection, optionally wrapped in TLS. Touched only on its io_context's thread.
struct Connection {
  explicit Connection(asio::io_context& c) : context(c), socket(c), deadline(c.get_executor()) {}

  asio::io_context& context;
  tcp::socket socket;  // moved into `tls` once encrypted
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  stream_server::Deadline deadline;
  std::string input;  // received, not yet parsed
  std::array<char, kReadChunk> buffer{};
  Extensions ext;
  std::string key;  // pool key
  std::string remote_address;
  std::string tls_version;
  std::string tls_cipher;
  int messages = 0;        // transactions started (MAIL sent) on this connection
  bool timed_out = false;  // the deadline cancelled the pending operation
  bool broken = false;     // 421, an I/O error or a protocol error: close without QUIT, never reuse
  bool aborted = false;    // client shutdown
  bool closed = false;
  std::uint64_t idle_generation = 0;  // guarded by Client::Impl::mutex

  tcp::socket& lowest() { return tls ? tls->next_layer() : socket; }

  void arm(Duration timeout) {
    timed_out = false;
    deadline.arm(timeout);
  }
  void disarm() { deadline.disarm(); }

  void close() {
    closed = true;
    error_code ignored;
    lowest().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close(ignored);
    deadline.cancel();
  }

  // Why an operation failed, for Outcome::local_error; `what`: "waiting for the greeting", "sending DATA", …
  std::string failure(const error_code& ec, std::string_view what) {
    broken = true;
    if (aborted) return "client shutting down";
    if (timed_out) return "timed out " + std::string(what);
    if (ec == asio::error::eof || ec == ssl::error::stream_truncated)
      return "connection closed by the server while " + std::string(what);
    if (ec == asio::error::connection_reset) return "connection reset by the server while " + std::string(what);
    return ec.message() + " (" + std::string(what) + ")";
  }

  // Returns an error text, empty on success.
  awaitable<std::string> write(std::string_view bytes, Duration timeout, std::string_view what) {
    arm(timeout);
    error_code ec;
    if (tls) {
      auto [e, n] = co_await asio::async_write(*tls, asio::buffer(bytes.data(), bytes.size()), as_tuple);
      ec = e;
    } else {
      auto [e, n] = co_await asio::async_write(socket, asio::buffer(bytes.data(), bytes.size()), as_tuple);
      ec = e;
    }
    disarm();
    if (ec) co_return failure(ec, what);
    co_return std::string();
  }

  awaitable<ReadResult> read_reply(Duration timeout, std::string_view what) {
    ReadResult result;
    arm(timeout);
    int code = 0;
    std::string text;
    while (true) {
      const auto lf = input.find('\n');
      if (lf == std::string::npos) {
        if (input.size() > kMaxReplyLine) {
          broken = true;
          result.error = "reply line too long (over " + std::to_string(kMaxReplyLine) + " octets) " + std::string(what);
          break;
        }
        error_code ec;
        std::size_t n = 0;
        if (tls) {
          auto [e, count] = co_await tls->async_read_some(asio::buffer(buffer), as_tuple);
          ec = e;
          n = count;
        } else {
          auto [e, count] = co_await socket.async_read_some(asio::buffer(buffer), as_tuple);
          ec = e;
          n = count;
        }
        if (ec) {
          result.error = failure(ec, what);
          break;
        }
        input.append(buffer.data(), n);
        continue;
      }
      if (lf + 1 > kMaxReplyLine) {
        broken = true;
        result.error = "reply line too long (over " + std::to_string(kMaxReplyLine) + " octets) " + std::string(what);
        break;
      }
      std::string_view line(input.data(), lf);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const bool digits = line.size() >= 3 && line[0] >= '2' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' &&
                          line[2] >= '0' && line[2] <= '9';
      const bool separator = digits && (line.size() == 3 || line[3] == ' ' || line[3] == '-');
      const int line_code = digits ? (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') : 0;
      if (!digits || !separator || (code != 0 && line_code != code)) {
        broken = true;
        result.error = "malformed reply \"" + printable(line) + "\" " + std::string(what);
        break;
      }
      code = line_code;
      const bool last = line.size() == 3 || line[3] == ' ';
      std::string_view rest = line.size() > 4 ? line.substr(4) : std::string_view();
      if (const auto n = enhanced_length(rest, code); n > 0) {
        if (result.lines.empty()) result.reply.enhanced = std::string(rest.substr(0, n));
        rest.remove_prefix(n);
        if (!rest.empty()) rest.remove_prefix(1);
      }
      if (!result.lines.empty()) text += '\n';
      text += rest;
      result.lines.emplace_back(rest);
      input.erase(0, lf + 1);
      if (last) break;
      if (result.lines.size() >= kMaxReplyLines) {
        broken = true;
        result.error = "reply has too many lines " + std::string(what);
        break;
      }
    }
    disarm();
    if (result.ok()) {
      result.reply.code = code;
      result.reply.text = std::move(text);
      if (code == 421) broken = true;  // the server is closing the connection (RFC 5321 3.8)
    } else {
      result.reply = Reply{};
      result.lines.clear();
    }
    co_return result;
  }

  // Wraps the socket in TLS and runs the client handshake. Returns an error text, empty on success.
  awaitable<std::string> handshake(ssl::context& context, const TlsOptions& options, const std::string& name,
                                   Duration timeout) {
    tls = std::make_unique<ssl::stream<tcp::socket>>(std::move(socket), context);
    if (!name.empty() && !is_ip_literal(name)) SSL_set_tlsext_host_name(tls->native_handle(), name.c_str());
    if (options.verify_peer) {
      tls->set_verify_mode(ssl::verify_peer);
      tls->set_verify_callback(ssl::host_name_verification(name));
    } else {
      tls->set_verify_mode(ssl::verify_none);
    }
    arm(timeout);
    auto [ec] = co_await tls->async_handshake(ssl::stream_base::client, as_tuple);
    disarm();
    if (ec) {
      broken = true;
      if (aborted) co_return "client shutting down";
      if (timed_out) co_return "TLS handshake failed: timed out";
      std::string detail = ec.message();
      const long verify = SSL_get_verify_result(tls->native_handle());
      if (options.verify_peer && verify != X509_V_OK)
        detail = std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
      co_return "TLS handshake failed: " + detail;
    }
    input.clear();  // nothing the server sent before the handshake counts (RFC 3207 4.2)
    tls_version = SSL_get_version(tls->native_handle());
    tls_cipher = SSL_get_cipher_name(tls->native_handle());
    co_return std::string();
  }
};

struct Job {
  Target target;
  TlsOptions tls;
  std::optional<Credentials> credentials;
  Message message;
  std::function<void(Outcome)> done;
  std::string key;
};

// What one transaction on one connection came to.
struct Attempt {
  Outcome outcome;
  bool retry = false;     // a pooled connection was dead before MAIL was accepted: try a fresh one
  bool reusable = false;  // the connection may go back to the pool
};

struct Established {
  std::shared_ptr<Connection> connection;  // also set on failure after the greeting (to QUIT)
  Outcome failure;
  bool ok = false;
};

std::string pool_key(const Target& target, const TlsOptions& tls, const std::optional<Credentials>& credentials) {
  std::string key;
  if (target.addresses.empty()) {
    key += "host:" + target.host;
  } else {
    for (const auto& address : target.addresses) key += address + ',';
  }
  key += '\x1f' + std::to_string(target.port) + '\x1f' + std::to_string(static_cast<int>(tls.mode)) +
         (tls.verify_peer ? "v" : "-") + '\x1f' + tls.ca_file + '\x1f' + tls.server_name + '\x1f';
  if (credentials)
    key += credentials->username + '\0' + credentials->password + (credentials->allow_plaintext_auth ? "p" : "-");
  return key;
}

int stage_rank(Stage stage) { return static_cast<int>(stage); }

bool success(const Reply& reply) { return reply.code >= 200 && reply.code < 300; }

}  // namespace

std::string Reply::to_string() const {
  if (code == 0) return {};
  std::string out = std::to_string(code);
  if (!enhanced.empty()) out += ' ' + enhanced;
  if (!text.empty()) {
    out += ' ';
    for (char c : text) out += c == '\n' ? ' ' : c;
  }
  return out;
}

std::string_view to_string(Outcome::Stage stage) {
  switch (stage) {
    case Stage::connect:
      return "connect";
    case Stage::greeting:
      return "greeting";
    case Stage::ehlo:
      return "ehlo";
    case Stage::starttls:
      return "starttls";
    case Stage::auth:
      return "auth";
    case Stage::mail:
      return "mail";
    case Stage::rcpt:
      return "rcpt";
    case Stage::data:
      return "data";
    case Stage::done:
      return "done";
  }
  return "unknown";
}

struct Client::Impl {
  ClientOptions options;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<std::thread> threads;
  std::atomic<std::size_t> next_context{0};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> opened{0};

  mutable std::mutex mutex;                                             // guards everything below
  std::map<std::string, std::deque<std::shared_ptr<Connection>>> pool;  // idle, most recently used last
  std::size_t idle_count = 0;
  std::uint64_t generation = 0;
  std::set<std::shared_ptr<Connection>> busy;          // open and not idle: aborted at shutdown
  std::set<std::shared_ptr<tcp::resolver>> resolvers;  // lookups in flight: cancelled at shutdown
  std::map<std::string, std::shared_ptr<ssl::context>> tls_contexts;
  int jobs = 0;     // send() calls whose callback has not run yet
  int closers = 0;  // shutdown QUITs in progress
  std::condition_variable changed;

  explicit Impl(ClientOptions o) : options(std::move(o)) {
    std::string helo;
    for (char c : options.helo_name)
      if (static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7F) helo += c;
    options.helo_name = helo.empty() ? "localhost" : helo;
    for (int i = 0; i < std::max(1, options.io_threads); ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
    for (auto& context : contexts) {
      threads.emplace_back([&context] {
        auto guard = asio::make_work_guard(*context);
        context->run();
      });
    }
  }

  ~Impl() {
    shutdown();
    {
      std::lock_guard lock(mutex);
      pool.clear();
      busy.clear();
      resolvers.clear();
    }
    // Coroutines still suspended in a context are destroyed with it; they reference this object.
    contexts.clear();
  }

  asio::io_context& pick_context() { return *contexts[next_context++ % contexts.size()]; }

  void shutdown() {
    stopping = true;
    std::vector<std::shared_ptr<Connection>> idle;
    std::vector<std::shared_ptr<Connection>> active;
    {
      std::lock_guard lock(mutex);
      for (auto& entry : pool)
        for (auto& connection : entry.second) idle.push_back(connection);
      pool.clear();
      idle_count = 0;
      active.assign(busy.begin(), busy.end());
      for (auto& connection : idle) busy.insert(connection);
      closers += static_cast<int>(idle.size());
      for (const auto& resolver : resolvers) asio::post(resolver->get_executor(), [resolver] { resolver->cancel(); });
    }
    for (auto& connection : active) {
      asio::post(connection->context, [connection] {
        connection->aborted = true;
        if (!connection->closed) connection->close();
      });
    }
    for (auto& connection : idle) {
      asio::co_spawn(connection->context, close_idle_at_shutdown(connection), asio::detached);
    }
    {
      std::unique_lock lock(mutex);
      changed.wait_for(lock, std::chrono::seconds(15), [this] { return jobs == 0 && closers == 0; });
    }
    for (auto& context : contexts) context->stop();
    for (auto& thread : threads)
      if (thread.joinable()) thread.join();
  }

  awaitable<void> close_idle_at_shutdown(std::shared_ptr<Connection> connection) {
    begin_use(*connection);
    co_await quit_and_close(connection);
    std::lock_guard lock(mutex);
    --closers;
    changed.notify_all();
  }

  // ---- connection bookkeeping

  bool track(const std::shared_ptr<Connection>& connection) {
    std::lock_guard lock(mutex);
    if (stopping) return false;
    busy.insert(connection);
    return true;
  }

  void discard(const std::shared_ptr<Connection>& connection) {
    if (!connection->closed) connection->close();
    std::lock_guard lock(mutex);
    busy.erase(connection);
  }

  std::shared_ptr<Connection> take_idle(const std::string& key) {
    std::lock_guard lock(mutex);
    if (stopping) return nullptr;
    auto it = pool.find(key);
    if (it == pool.end() || it->second.empty()) return nullptr;
    auto connection = std::move(it->second.back());
    it->second.pop_back();
    if (it->second.empty()) pool.erase(it);
    --idle_count;
    busy.insert(connection);
    return connection;
  }

  // Puts a connection back into the pool; returns its idle generation, or nothing when it must close instead.
  std::optional<std::uint64_t> to_pool(const std::shared_ptr<Connection>& connection) {
    if (connection->closed || connection->broken || connection->aborted) return std::nullopt;
    if (options.max_messages_per_connection > 0 && connection->messages >= options.max_messages_per_connection)
      return std::nullopt;
    std::lock_guard lock(mutex);
    if (stopping) return std::nullopt;
    auto& idle = pool[connection->key];
    if (idle.size() >= options.max_idle_connections_per_target) {
      if (idle.empty()) pool.erase(connection->key);
      return std::nullopt;
    }
    busy.erase(connection);
    idle.push_back(connection);
    ++idle_count;
    connection->idle_generation = ++generation;
    return generation;
  }

  // Takes a connection out of the pool for its idle watcher; false when a send or the shutdown claimed it.
  bool take_back(const std::shared_ptr<Connection>& connection, std::uint64_t idle_generation) {
    std::lock_guard lock(mutex);
    if (connection->idle_generation != idle_generation) return false;
    auto it = pool.find(connection->key);
    if (it == pool.end()) return false;
    auto& idle = it->second;
    auto found = std::find(idle.begin(), idle.end(), connection);
    if (found == idle.end()) return false;
    idle.erase(found);
    if (idle.empty()) pool.erase(it);
    --idle_count;
    busy.insert(connection);
    return true;
  }

  // A connection leaving the pool: stop its idle wait.
  static void begin_use(Connection& connection) {
    error_code ignored;
    connection.lowest().cancel(ignored);
    connection.disarm();
    connection.timed_out = false;
  }

  std::shared_ptr<ssl::context> tls_context(const TlsOptions& tls) {
    const std::string key = (tls.verify_peer ? "v:" : "-:") + tls.ca_file;
    std::lock_guard lock(mutex);
    if (auto it = tls_contexts.find(key); it != tls_contexts.end()) return it->second;
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_compression);
    if (tls.verify_peer) {
      if (tls.ca_file.empty())
        context->set_default_verify_paths();
      else
        context->load_verify_file(tls.ca_file);  // throws on an unreadable file
    }
    tls_contexts.emplace(key, context);
    return context;
  }

  void complete(Job& job, Outcome outcome) {
    // Every recipient gets an entry; the ones nothing decided carry the reply that ended the transaction.
    if (outcome.recipients.size() != job.message.recipients.size()) {
      outcome.recipients.clear();
      for (const auto& address : job.message.recipients) outcome.recipients.push_back({address, outcome.reply});
    }
    spdlog::debug("smtp client: {} via {} ({}) stage={} reply=\"{}\" error=\"{}\"", job.target.host,
                  outcome.remote_address, outcome.tls ? outcome.tls_version : std::string("plain"),
                  to_string(outcome.stage), outcome.reply.to_string(), outcome.local_error);
    try {
      job.done(std::move(outcome));
    } catch (const std::exception& e) {
      spdlog::error("smtp client: completion callback threw: {}", e.what());
    } catch (...) {
      spdlog::error("smtp client: completion callback threw");
    }
    std::lock_guard lock(mutex);
    --jobs;
    changed.notify_all();
  }

  // ---- protocol

  awaitable<void> quit_and_close(std::shared_ptr<Connection> connection) {
    if (!connection->closed && !connection->broken && !connection->aborted) {
      const Duration timeout = std::min<Duration>(options.command_timeout, kQuitTimeout);
      if ((co_await connection->write("QUIT\r\n", timeout, "sending QUIT")).empty())
        co_await connection->read_reply(timeout, "waiting for the reply to QUIT");
      if (connection->tls && !connection->broken && !connection->aborted) {
        connection->arm(kTlsCloseTimeout);
        co_await connection->tls->async_shutdown(as_tuple);
        connection->disarm();
      }
    }
    discard(connection);
  }

  // While pooled: closes the connection after idle_timeout (with QUIT), or at once when the server closes it or
  // sends anything (a 421). A send that takes the connection cancels the wait.
  awaitable<void> idle_watch(std::shared_ptr<Connection> connection, std::uint64_t idle_generation) {
    connection->arm(options.idle_timeout);
    co_await connection->lowest().async_wait(tcp::socket::wait_read, as_tuple);
    if (!take_back(connection, idle_generation)) co_return;
    const bool expired = connection->timed_out;
    connection->disarm();
    connection->timed_out = false;
    if (!expired) connection->broken = true;
    spdlog::debug("smtp client: idle connection to {} {}", connection->remote_address,
                  expired ? "timed out" : "closed by the server");
    co_await quit_and_close(connection);
  }

  void start_outcome(Outcome& outcome, const Connection& connection) {
    outcome.remote_address = connection.remote_address;
    outcome.tls = connection.tls != nullptr;
    outcome.tls_version = connection.tls_version;
    outcome.tls_cipher = connection.tls_cipher;
  }

  // EHLO, or HELO when EHLO gets a 5xx. Returns false with `outcome` filled on failure.
  awaitable<bool> hello(Connection& c, Outcome& outcome) {
    const Duration timeout = options.command_timeout;
    outcome.stage = Stage::ehlo;
    if (auto error = co_await c.write("EHLO " + options.helo_name + "\r\n", timeout, "sending EHLO"); !error.empty()) {
      outcome.local_error = std::move(error);
      co_return false;
    }
    ReadResult ehlo = co_await c.read_reply(timeout, "waiting for the reply to EHLO");
    if (!ehlo.ok()) {
      outcome.local_error = std::move(ehlo.error);
      co_return false;
    }
    if (success(ehlo.reply)) {
      c.ext = parse_ehlo(ehlo.lines);
      co_return true;
    }
    if (ehlo.reply.code < 500) {
      outcome.reply = std::move(ehlo.reply);
      co_return false;
    }
    if (auto error = co_await c.write("HELO " + options.helo_name + "\r\n", timeout, "sending HELO"); !error.empty()) {
      outcome.local_error = std::move(error);
      co_return false;
    }
    ReadResult helo = co_await c.read_reply(timeout, "waiting for the reply to HELO");
    if (!helo.ok()) {
      outcome.local_error = std::move(helo.error);
      co_return false;
    }
    if (!success(helo.reply)) {
      outcome.reply = std::move(helo.reply);
      co_return false;
    }
    c.ext = Extensions{};
    co_return true;
  }

  // Connects to one address, with implicit TLS when asked, and reads the greeting. Returns false with `attempt`
  // filled (and the connection closed) on failure.
  awaitable<bool> open(std::shared_ptr<Connection> connection, const Job& job, const std::string& address,
                       Outcome& attempt) {
    Connection& c = *connection;
    attempt.stage = Stage::connect;
    std::string ip_text = address;
    if (ip_text.size() > 2 && ip_text.front() == '[' && ip_text.back() == ']')
      ip_text = ip_text.substr(1, ip_text.size() - 2);
    attempt.remote_address = ip_text;
    c.remote_address = ip_text;
    error_code ec;
    const auto ip = asio::ip::make_address(ip_text, ec);
    if (ec) {
      attempt.local_error = "invalid address \"" + printable(address) + "\"";
      co_return false;
    }
    const tcp::endpoint endpoint(ip, job.target.port);
    if (!track(connection)) {
      attempt.local_error = "client shutting down";
      co_return false;
    }
    asio::co_spawn(c.context, stream_server::watchdog(connection), asio::detached);
    c.socket.open(endpoint.protocol(), ec);
    if (!ec && !options.source_address.empty()) {
      const auto source = asio::ip::make_address(options.source_address, ec);
      if (!ec) c.socket.bind(tcp::endpoint(source, 0), ec);
      if (ec) {
        attempt.local_error = "cannot bind to source address " + options.source_address + ": " + ec.message();
        discard(connection);
        co_return false;
      }
    }
    if (ec) {
      attempt.local_error = "cannot open a socket: " + ec.message();
      discard(connection);
      co_return false;
    }
    c.arm(options.connect_timeout);
    auto [connect_ec] = co_await c.socket.async_connect(endpoint, as_tuple);
    c.disarm();
    if (connect_ec) {
      if (c.aborted)
        attempt.local_error = "client shutting down";
      else if (c.timed_out)
        attempt.local_error = "connection timed out";
      else if (connect_ec == asio::error::connection_refused)
        attempt.local_error = "connection refused";
      else
        attempt.local_error = connect_ec.message();
      discard(connection);
      co_return false;
    }
    ++opened;
    c.socket.set_option(tcp::no_delay(true), ec);
    if (job.tls.mode == TlsMode::implicit) {
      std::string error;
      try {
        auto context = tls_context(job.tls);
        error = co_await c.handshake(*context, job.tls, verification_name(job, ip_text), options.greeting_timeout);
      } catch (const std::exception& e) {
        error = std::string("TLS setup failed: ") + e.what();
      }
      if (!error.empty()) {
        attempt.local_error = std::move(error);
        discard(connection);
        co_return false;
      }
      attempt.tls = true;
      attempt.tls_version = c.tls_version;
      attempt.tls_cipher = c.tls_cipher;
    }
    attempt.stage = Stage::greeting;
    ReadResult greeting = co_await c.read_reply(options.greeting_timeout, "waiting for the greeting");
    if (!greeting.ok()) {
      attempt.local_error = std::move(greeting.error);
      discard(connection);
      co_return false;
    }
    if (greeting.reply.code != 220) {
      attempt.reply = std::move(greeting.reply);
      co_await quit_and_close(connection);  // RFC 5321 3.1: a 554 greeting still expects QUIT
      co_return false;
    }
    co_return true;
  }

  std::string verification_name(const Job& job, const std::string& ip) const {
    if (!job.tls.server_name.empty()) return job.tls.server_name;
    if (!job.target.host.empty()) return job.target.host;
    return ip;
  }

  awaitable<std::vector<std::string>> resolve(asio::io_context& context, const Job& job, std::string& error) {
    std::vector<std::string> addresses;
    if (job.target.host.empty()) {
      error = "no address to connect to";
      co_return addresses;
    }
    auto resolver = std::make_shared<tcp::resolver>(context);
    {
      std::lock_guard lock(mutex);
      if (stopping) {
        error = "client shutting down";
        co_return addresses;
      }
      resolvers.insert(resolver);
    }
    asio::steady_timer timer(context, options.connect_timeout);
    timer.async_wait([resolver](error_code ec) {
      if (!ec) resolver->cancel();
    });
    auto [ec, results] = co_await resolver->async_resolve(job.target.host, std::to_string(job.target.port), as_tuple);
    timer.cancel();
    {
      std::lock_guard lock(mutex);
      resolvers.erase(resolver);
    }
    if (ec && stopping) {
      error = "client shutting down";
      co_return addresses;
    }
    if (ec == asio::error::operation_aborted) {
      error = "cannot resolve " + job.target.host + ": timed out";
      co_return addresses;
    }
    if (ec) {
      error = "cannot resolve " + job.target.host + ": " + ec.message();
      co_return addresses;
    }
    for (const auto& entry : results) {
      std::string address = entry.endpoint().address().to_string();
      if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) addresses.push_back(address);
    }
    if (addresses.empty()) error = "cannot resolve " + job.target.host + ": no address";
    co_return addresses;
  }

  // A new connection: the first address that greets, then EHLO, STARTTLS and AUTH as asked.
  awaitable<Established> establish(asio::io_context& context, const Job& job) {
    Established result;
    Outcome& failure = result.failure;
    std::vector<std::string> addresses = job.target.addresses;
    if (addresses.empty()) {
      std::string error;
      addresses = co_await resolve(context, job, error);
      if (addresses.empty()) {
        failure.local_error = std::move(error);
        co_return result;
      }
    }
    std::vector<std::string> attempts;  // "address: what happened", for more than one address
    std::optional<Outcome> best;
    std::shared_ptr<Connection> connection;
    for (const auto& address : addresses) {
      if (stopping) {
        failure = Outcome{};
        failure.local_error = "client shutting down";
        co_return result;
      }
      auto candidate = std::make_shared<Connection>(context);
      Outcome attempt;
      if (co_await open(candidate, job, address, attempt)) {
        connection = std::move(candidate);
        break;
      }
      attempts.push_back(attempt.remote_address + ": " +
                         (attempt.local_error.empty() ? attempt.reply.to_string() : attempt.local_error));
      // Report the attempt that got furthest (a greeting refusal says more than a refused connection).
      if (!best || stage_rank(attempt.stage) >= stage_rank(best->stage)) best = std::move(attempt);
    }
    if (!connection) {
      failure = std::move(*best);
      if (attempts.size() > 1) {
        failure.local_error.clear();
        for (const auto& text : attempts) failure.local_error += (failure.local_error.empty() ? "" : "; ") + text;
      }
      co_return result;
    }
    result.connection = connection;
    Connection& c = *connection;
    c.key = job.key;
    start_outcome(failure, c);
    if (!co_await hello(c, failure)) co_return result;

    const TlsMode mode = job.tls.mode;
    if ((mode == TlsMode::opportunistic || mode == TlsMode::required) && !c.tls) {
      failure.stage = Stage::starttls;
      if (!c.ext.starttls) {
        if (mode == TlsMode::required) {
          failure.local_error = "the server does not offer STARTTLS (TLS required)";
          co_return result;
        }
      } else {
        std::shared_ptr<ssl::context> context_for_tls;
        try {
          context_for_tls = tls_context(job.tls);
        } catch (const std::exception& e) {
          failure.local_error = std::string("TLS setup failed: ") + e.what();
          co_return result;
        }
        if (auto error = co_await c.write("STARTTLS\r\n", options.command_timeout, "sending STARTTLS");
            !error.empty()) {
          failure.local_error = std::move(error);
          co_return result;
        }
        ReadResult reply = co_await c.read_reply(options.command_timeout, "waiting for the reply to STARTTLS");
        if (!reply.ok()) {
          failure.local_error = std::move(reply.error);
          co_return result;
        }
        if (reply.reply.code != 220) {
          // Opportunistic: the session is still valid in plain text (RFC 3207 4.1); required: give up.
          if (mode == TlsMode::required || c.broken) {
            failure.reply = std::move(reply.reply);
            co_return result;
          }
        } else {
          std::string error = co_await c.handshake(*context_for_tls, job.tls, verification_name(job, c.remote_address),
                                                   options.command_timeout);
          if (!error.empty()) {
            failure.local_error = std::move(error);
            co_return result;
          }
          start_outcome(failure, c);
          if (!co_await hello(c, failure)) co_return result;  // the session starts over (RFC 3207 4.2)
        }
      }
    }

    if (job.credentials) {
      failure.stage = Stage::auth;
      if (!co_await authenticate(c, *job.credentials, failure)) co_return result;
    }
    result.ok = true;
    co_return result;
  }

  awaitable<bool> authenticate(Connection& c, const Credentials& credentials, Outcome& outcome) {
    if (!c.tls && !credentials.allow_plaintext_auth) {
      outcome.local_error = "refusing to send credentials without TLS";
      co_return false;
    }
    const auto& offered = c.ext.auth;
    const bool plain = std::find(offered.begin(), offered.end(), "PLAIN") != offered.end();
    const bool login = std::find(offered.begin(), offered.end(), "LOGIN") != offered.end();
    if (!plain && !login) {
      outcome.local_error = offered.empty() ? "the server does not offer AUTH"
                                            : "the server offers no supported AUTH mechanism (PLAIN, LOGIN)";
      co_return false;
    }
    const Duration timeout = options.command_timeout;
    std::vector<std::string> steps;
    if (plain) {
      std::string token;
      token += '\0';
      token += credentials.username;
      token += '\0';
      token += credentials.password;
      steps.push_back("AUTH PLAIN " + base64_encode(token) + "\r\n");
    } else {
      steps.push_back("AUTH LOGIN\r\n");
      steps.push_back(base64_encode(credentials.username) + "\r\n");
      steps.push_back(base64_encode(credentials.password) + "\r\n");
    }
    for (std::size_t i = 0; i < steps.size(); ++i) {
      if (auto error = co_await c.write(steps[i], timeout, "sending AUTH"); !error.empty()) {
        outcome.local_error = std::move(error);
        co_return false;
      }
      ReadResult reply = co_await c.read_reply(timeout, "waiting for the reply to AUTH");
      if (!reply.ok()) {
        outcome.local_error = std::move(reply.error);
        co_return false;
      }
      const bool last = i + 1 == steps.size();
      const int expected = last ? 235 : 334;
      if (reply.reply.code != expected) {
        if (reply.reply.code == 334) {  // a challenge we have nothing more for: cancel the exchange
          co_await c.write("*\r\n", timeout, "cancelling AUTH");
          co_await c.read_reply(timeout, "waiting for the reply to AUTH");
        }
        outcome.reply = std::move(reply.reply);
        co_return false;
      }
    }
    co_return true;
  }

  // One mail transaction on an established connection. `reused`: the connection came from the pool, so RSET
  // first, and a failure before MAIL is accepted asks for a fresh connection instead of an outcome.
  awaitable<Attempt> transact(Connection& c, const Job& job, bool reused) {
    Attempt attempt;
    Outcome& outcome = attempt.outcome;
    start_outcome(outcome, c);
    const Message& message = job.message;
    const Duration timeout = options.command_timeout;
    const std::size_t count = message.recipients.size();
    std::vector<std::optional<Reply>> decided(count);

    auto finish = [&] {
      outcome.recipients.clear();
      for (std::size_t i = 0; i < count; ++i)
        outcome.recipients.push_back({message.recipients[i], decided[i] ? *decided[i] : outcome.reply});
      attempt.reusable = !c.broken && !c.closed && !c.aborted;
    };
    auto dead = [&](std::string error) {
      outcome.local_error = std::move(error);
      c.broken = true;
      if (reused && !c.aborted) attempt.retry = true;
      finish();
      return attempt;
    };

    outcome.stage = Stage::mail;
    if (reused) {
      if (auto error = co_await c.write("RSET\r\n", timeout, "sending RSET"); !error.empty()) co_return dead(error);
      ReadResult reset = co_await c.read_reply(timeout, "waiting for the reply to RSET");
      if (!reset.ok()) co_return dead(reset.error);
      if (!success(reset.reply)) co_return dead("RSET refused: " + reset.reply.to_string());
    }

    bool utf8 = message.smtputf8 || !is_ascii(message.mail_from);
    for (const auto& recipient : message.recipients) utf8 = utf8 || !is_ascii(recipient);
    if (utf8 && !c.ext.smtputf8) {
      outcome.local_error = "the server does not support SMTPUTF8, which this message needs";
      finish();
      co_return attempt;
    }
    const std::size_t size = message.data->size();
    if (c.ext.size_limit > 0 && size > c.ext.size_limit) {
      outcome.local_error = "message size " + std::to_string(size) + " exceeds the server's limit of " +
                            std::to_string(c.ext.size_limit) + " octets";
      finish();
      co_return attempt;
    }

    std::string mail = "MAIL FROM:<" + message.mail_from + ">";
    if (c.ext.size_offered) mail += " SIZE=" + std::to_string(size);
    if (message.eight_bit && c.ext.eight_bit_mime) mail += " BODY=8BITMIME";
    if (utf8) mail += " SMTPUTF8";
    if (!message.envid.empty() && c.ext.dsn) mail += " ENVID=" + xtext(message.envid);
    mail += "\r\n";
    std::vector<std::string> rcpts;
    for (const auto& recipient : message.recipients) rcpts.push_back("RCPT TO:<" + recipient + ">\r\n");
    ++c.messages;

    // MAIL and RCPT: one write with PIPELINING (RFC 2920), else one command at a time.
    const bool pipelining = c.ext.pipelining;
    if (pipelining) {
      std::string batch = mail;
      for (const auto& rcpt : rcpts) batch += rcpt;
      if (auto error = co_await c.write(batch, timeout, "sending MAIL"); !error.empty()) co_return dead(error);
    } else {
      if (auto error = co_await c.write(mail, timeout, "sending MAIL"); !error.empty()) co_return dead(error);
    }
    ReadResult mail_reply = co_await c.read_reply(timeout, "waiting for the reply to MAIL");
    if (!mail_reply.ok()) co_return dead(mail_reply.error);
    if (mail_reply.reply.code == 421 && reused && !c.aborted) {
      attempt.retry = true;
      outcome.reply = std::move(mail_reply.reply);
      finish();
      co_return attempt;
    }
    if (!success(mail_reply.reply)) {
      outcome.reply = std::move(mail_reply.reply);
      // Pipelined RCPTs are answered too (with 503): read them so the connection stays in step.
      if (pipelining && !c.broken) {
        for (std::size_t i = 0; i < count && !c.broken; ++i)
          co_await c.read_reply(timeout, "waiting for the reply to RCPT");
      }
      finish();
      co_return attempt;
    }

    outcome.stage = Stage::rcpt;
    std::vector<std::size_t> accepted;
    for (std::size_t i = 0; i < count; ++i) {
      if (!pipelining) {
        if (auto error = co_await c.write(rcpts[i], timeout, "sending RCPT"); !error.empty()) {
          outcome.local_error = std::move(error);
          finish();
          co_return attempt;
        }
      }
      ReadResult reply = co_await c.read_reply(timeout, "waiting for the reply to RCPT");
      if (!reply.ok()) {
        outcome.local_error = std::move(reply.error);
        finish();
        co_return attempt;
      }
      decided[i] = reply.reply;
      if (success(reply.reply)) accepted.push_back(i);
      if (c.broken) {  // 421: the rest stay undecided
        for (std::size_t j : accepted) decided[j].reset();
        outcome.reply = std::move(reply.reply);
        finish();
        co_return attempt;
      }
      outcome.reply = std::move(reply.reply);
    }
    if (accepted.empty()) {
      // No DATA; close the transaction so the connection can carry the next message.
      if ((co_await c.write("RSET\r\n", timeout, "sending RSET")).empty()) {
        ReadResult reset = co_await c.read_reply(timeout, "waiting for the reply to RSET");
        if (reset.ok() && !success(reset.reply)) c.broken = true;
      }
      finish();
      co_return attempt;
    }
    // From here on, accepted recipients carry whatever ends the transaction.
    for (std::size_t i : accepted) decided[i].reset();
    outcome.reply = Reply{};

    outcome.stage = Stage::data;
    if (auto error = co_await c.write("DATA\r\n", timeout, "sending DATA"); !error.empty()) {
      outcome.local_error = std::move(error);
      finish();
      co_return attempt;
    }
    ReadResult data_reply = co_await c.read_reply(timeout, "waiting for the reply to DATA");
    if (!data_reply.ok()) {
      outcome.local_error = std::move(data_reply.error);
      finish();
      co_return attempt;
    }
    if (data_reply.reply.code != 354) {
      outcome.reply = std::move(data_reply.reply);
      finish();
      co_return attempt;
    }
    const std::string wire = data_for_wire(*message.data);
    for (std::size_t offset = 0; offset < wire.size(); offset += kWriteChunk) {
      const std::string_view chunk = std::string_view(wire).substr(offset, kWriteChunk);
      if (auto error = co_await c.write(chunk, options.data_timeout, "sending the message"); !error.empty()) {
        outcome.local_error = std::move(error);
        finish();
        co_return attempt;
      }
    }
    ReadResult final_reply = co_await c.read_reply(options.data_timeout, "waiting for the reply to the message");
    if (!final_reply.ok()) {
      outcome.local_error = final_reply.error + "; the message may have been delivered";
      outcome.maybe_delivered = true;
      finish();
      co_return attempt;
    }
    outcome.reply = std::move(final_reply.reply);
    if (success(outcome.reply)) {
      outcome.delivered_any = true;
      outcome.stage = Stage::done;
    }
    finish();
    co_return attempt;
  }

  awaitable<void> run(std::shared_ptr<Job> job, std::shared_ptr<Connection> connection, asio::io_context& context) {
    Outcome outcome;
    bool reusable = false;
    try {
      if (connection) {
        begin_use(*connection);
        Attempt attempt = co_await transact(*connection, *job, true);
        if (attempt.retry) {
          spdlog::debug(
              "smtp client: pooled connection to {} was dead ({}); connecting again", connection->remote_address,
              attempt.outcome.local_error.empty() ? attempt.outcome.reply.to_string() : attempt.outcome.local_error);
          discard(connection);
          connection.reset();
        } else {
          outcome = std::move(attempt.outcome);
          reusable = attempt.reusable;
        }
      }
      if (!connection) {
        Established established = co_await establish(context, *job);
        connection = established.connection;
        if (!established.ok) {
          outcome = std::move(established.failure);
        } else {
          Attempt attempt = co_await transact(*connection, *job, false);
          outcome = std::move(attempt.outcome);
          reusable = attempt.reusable;
        }
      }
    } catch (const std::exception& e) {
      outcome.local_error = std::string("internal error: ") + e.what();
      reusable = false;
      if (connection) connection->broken = true;
    }
    std::optional<std::uint64_t> idle_generation;
    if (connection && reusable) idle_generation = to_pool(connection);
    complete(*job, std::move(outcome));
    if (!connection) co_return;
    if (idle_generation)
      co_await idle_watch(connection, *idle_generation);
    else
      co_await quit_and_close(connection);
  }

  void send(const Target& target, const TlsOptions& tls, const std::optional<Credentials>& credentials, Message message,
            std::function<void(Outcome)> done) {
    auto job = std::make_shared<Job>(Job{target, tls, credentials, std::move(message), std::move(done), {}});
    job->key = pool_key(target, tls, credentials);
    {
      std::lock_guard lock(mutex);
      ++jobs;
    }
    std::string error;
    const Message& m = job->message;
    if (m.recipients.empty()) error = "no recipients";
    if (!m.data) error = "no message data";
    if (!safe_path(m.mail_from)) error = "invalid sender address";
    for (const auto& recipient : m.recipients)
      if (recipient.empty() || !safe_path(recipient))
        error = "invalid recipient address \"" + printable(recipient) + "\"";
    if (stopping) error = "client shutting down";
    if (!error.empty()) {
      Outcome outcome;
      outcome.stage = Stage::mail;
      outcome.local_error = std::move(error);
      asio::post(pick_context(),
                 [this, job, outcome = std::move(outcome)]() mutable { complete(*job, std::move(outcome)); });
      return;
    }
    auto connection = take_idle(job->key);
    asio::io_context& context = connection ? connection->context : pick_context();
    asio::co_spawn(context, run(job, connection, context), asio::detached);
  }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Client::~Client() = default;

void Client::send(const Target& target, const TlsOptions& tls, const std::optional<Credentials>& credentials,
                  Message message, std::function<void(Outcome)> done) {
  impl_->send(target, tls, credentials, std::move(message), std::move(done));
}

std::size_t Client::idle_connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->idle_count;
}

std::uint64_t Client::connections_opened() const { return impl_->opened.load(); }

}  // namespace postroom::smtp::client
