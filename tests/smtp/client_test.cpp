// The outbound SMTP client (src/smtp/client.*) on loopback: against the project's own SMTP server in-process
// (plain, STARTTLS, implicit TLS, AUTH, limits), against scripted raw listeners for what that server never does
// (no PIPELINING, EHLO refused, 421 mid-session, silence, absurd replies), and against Postfix's smtp-sink.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <list>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "smtp/client.h"
#include "smtp/server.h"
#include "smtp/session.h"

namespace smtp = postroom::smtp;
namespace sc = postroom::smtp::client;
using namespace std::chrono_literals;
using Stage = sc::Outcome::Stage;

extern char** environ;

namespace {

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// ---------------------------------------------------------------- the project's server with a recording backend

struct Delivery {
  std::string mail_from;
  std::vector<std::string> recipients;
  std::string data;
  bool tls = false;
  std::string user;
  std::string mechanism;
  bool smtputf8 = false;
  smtp::BodyType body = smtp::BodyType::unspecified;
  std::optional<std::uint64_t> size;
};

struct RecordingBackend : smtp::SmtpBackend {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Delivery> deliveries;
  std::atomic<int> connections{0};
  std::atomic<int> mail_commands{0};
  std::chrono::milliseconds deliver_delay{0};  // keeps transactions open at once (on the worker pool)

  bool runs_inline(smtp::BackendCall call) const override {
    return call != smtp::BackendCall::deliver || deliver_delay.count() == 0;
  }

  smtp::SessionPolicy session_policy(const smtp::ConnectionInfo& connection) override {
    ++connections;
    smtp::SessionPolicy policy;
    policy.auth_required = connection.listener == "auth";
    policy.auth_requires_tls = connection.listener == "auth";
    return policy;
  }

  smtp::AuthResult authenticate(const smtp::AuthAttempt& attempt) override {
    if (attempt.username == "user" && attempt.password == "secret")
      return smtp::AuthResult::accept(std::make_shared<int>(1));
    return smtp::AuthResult::reject({535, "5.7.8", "Invalid login or password"});
  }

  smtp::Reply mail_from(smtp::Transaction&) override {
    ++mail_commands;
    return smtp::Reply::ok();
  }

  smtp::Reply rcpt_to(smtp::Transaction&, const smtp::Address& recipient) override {
    if (recipient.local_part == "reject") return {550, "5.1.1", "No such user"};
    if (recipient.local_part == "tempfail") return {451, "4.2.0", "Try again later"};
    return smtp::Reply::ok();
  }

  smtp::Reply deliver(const smtp::Transaction& transaction, std::string message) override {
    std::this_thread::sleep_for(deliver_delay);
    Delivery d;
    d.mail_from = transaction.mail_from.text();
    for (const auto& r : transaction.recipients) d.recipients.push_back(r.text());
    d.data = std::move(message);
    d.tls = transaction.tls;
    if (transaction.identity) {
      d.user = transaction.identity->username;
      d.mechanism = std::string(smtp::mechanism_name(transaction.identity->mechanism));
    }
    d.smtputf8 = transaction.params.smtputf8;
    d.body = transaction.params.body;
    d.size = transaction.params.size;
    std::lock_guard lock(mutex);
    deliveries.push_back(std::move(d));
    changed.notify_all();
    return {250, "2.0.0", "Ok: queued as " + std::to_string(deliveries.size())};
  }

  std::vector<Delivery> snapshot() {
    std::lock_guard lock(mutex);
    return deliveries;
  }
};

std::string& data_dir() {
  static std::string dir;
  return dir;
}

struct TestServer {
  RecordingBackend backend;
  std::unique_ptr<smtp::Server> server;
  std::uint16_t starttls_port = 0;  // STARTTLS offered, AUTH optional
  std::uint16_t implicit_port = 0;  // TLS from the first byte
  std::uint16_t plain_port = 0;     // no STARTTLS
  std::uint16_t auth_port = 0;      // STARTTLS; AUTH required and only over TLS

  explicit TestServer(const std::function<void(smtp::ServerOptions&)>& tweak = {},
                      std::chrono::milliseconds deliver_delay = 0ms) {
    backend.deliver_delay = deliver_delay;
    smtp::ServerOptions options;
    options.limits.hostname = "postroom.test";
    options.io_threads = 1;
    options.worker_threads = 2;
    options.max_connections_per_ip = 200;
    options.tls.data_dir = data_dir();
    smtp::add_listeners(options, "127.0.0.1:0", smtp::ListenerMode::starttls, backend, "open");
    smtp::add_listeners(options, "127.0.0.1:0", smtp::ListenerMode::implicit_tls, backend, "open");
    smtp::add_listeners(options, "127.0.0.1:0", smtp::ListenerMode::plain, backend, "open");
    smtp::add_listeners(options, "127.0.0.1:0", smtp::ListenerMode::starttls, backend, "auth");
    if (tweak) tweak(options);
    server = std::make_unique<smtp::Server>(options);
    const auto bound = server->start();
    starttls_port = bound[0].port;
    implicit_port = bound[1].port;
    plain_port = bound[2].port;
    auth_port = bound[3].port;
  }

  ~TestServer() { server->shutdown(200ms); }
};

std::string certificate() { return data_dir() + "/tls/cert.pem"; }

// ---------------------------------------------------------------- scripted raw listener (POSIX sockets)

struct Peer {
  int fd = -1;
  std::string in;
  const std::atomic<bool>* stop = nullptr;

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads more bytes into `in`; false on EOF, error, stop or timeout.
  bool fill(int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!*stop) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 50)));
      if (ready < 0) return false;
      if (ready == 0) continue;
      char buffer[16384];
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return false;
      in.append(buffer, static_cast<std::size_t>(n));
      return true;
    }
    return false;
  }

  std::optional<std::string> line(int timeout_ms = 10000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      if (const auto crlf = in.find("\r\n"); crlf != std::string::npos) {
        std::string out = in.substr(0, crlf);
        in.erase(0, crlf + 2);
        return out;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !fill(static_cast<int>(left.count()))) return std::nullopt;
    }
  }

  // Waits until `count` complete lines are buffered (without consuming them).
  bool lines_buffered(std::size_t count, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      std::size_t lines = 0;
      for (std::size_t pos = 0; (pos = in.find("\r\n", pos)) != std::string::npos; pos += 2) ++lines;
      if (lines >= count) return true;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !fill(static_cast<int>(left.count()))) return false;
    }
  }

  // True when nothing more arrives within `ms` (and nothing is buffered).
  bool quiet(int ms) {
    if (!in.empty()) return false;
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 0;
  }

  // The message as it came over the wire (still dot-stuffed), up to and without the final ".\r\n".
  std::optional<std::string> data() {
    std::string out;
    while (auto l = line()) {
      if (*l == ".") return out;
      out += *l + "\r\n";
    }
    return std::nullopt;
  }

  // Keeps the connection open without answering until the client closes it (or the server stops).
  void hold() {
    while (fill(60000)) in.clear();
  }
};

class ScriptedServer {
 public:
  using Handler = std::function<void(Peer&, int connection)>;

  explicit ScriptedServer(Handler handler, const std::string& ip = "127.0.0.1", std::uint16_t port = 0)
      : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &address.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) throw std::runtime_error("bind");
    ::listen(fd_, 64);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~ScriptedServer() {
    stop_ = true;
    acceptor_.join();
    ::close(fd_);
    {
      std::lock_guard lock(mutex_);
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& thread : peers_) thread.join();
  }

  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      const int index = connections_++;
      {
        std::lock_guard lock(mutex_);
        open_.push_back(client);
      }
      peers_.emplace_back([this, client, index] {
        Peer peer;
        peer.fd = client;
        peer.stop = &stop_;
        handler_(peer, index);
        std::lock_guard lock(mutex_);
        open_.remove(client);
        ::close(client);
      });
    }
  }

  Handler handler_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::vector<std::thread> peers_;
  std::mutex mutex_;
  std::list<int> open_;
};

// A small scripted SMTP server: greeting, EHLO with the given extensions, then MAIL/RCPT/DATA/RSET/QUIT, with a
// hook that may take over any command line.
struct Script {
  std::string greeting = "220 scripted.test ESMTP\r\n";
  std::vector<std::string> extensions = {"PIPELINING", "SIZE 1000000", "8BITMIME", "ENHANCEDSTATUSCODES"};
  bool ehlo_refused = false;
  bool check_unpipelined = false;          // MAIL and RCPT must come one at a time
  std::size_t expect_pipelined_rcpts = 0;  // MAIL must arrive with this many RCPTs before any reply
  bool stall_after_data = false;
  // Returns true when it handled the line (then the loop continues), or sets `end` to stop serving.
  std::function<bool(Peer&, const std::string& line, int connection, bool& end)> hook;

  std::mutex mutex;
  std::vector<std::string> commands;
  std::vector<std::string> messages;  // raw (dot-stuffed) DATA
  int violations = 0;
  int pipelined_groups = 0;

  void record(const std::string& command) {
    std::lock_guard lock(mutex);
    commands.push_back(command);
  }

  void serve(Peer& p, int connection) {
    if (!p.send(greeting)) return;
    while (auto line = p.line(30000)) {
      record(*line);
      bool end = false;
      if (hook && hook(p, *line, connection, end)) {
        if (end) return;
        continue;
      }
      const std::string verb = line->substr(0, 4);
      if (verb == "EHLO") {
        if (ehlo_refused) {
          p.send("502 5.5.2 Error: command not recognized\r\n");
          continue;
        }
        std::vector<std::string> lines = {"scripted.test"};
        lines.insert(lines.end(), extensions.begin(), extensions.end());
        std::string reply;
        for (std::size_t i = 0; i < lines.size(); ++i)
          reply += std::string(i + 1 == lines.size() ? "250 " : "250-") + lines[i] + "\r\n";
        p.send(reply);
      } else if (verb == "HELO") {
        p.send("250 scripted.test\r\n");
      } else if (verb == "MAIL") {
        if (expect_pipelined_rcpts > 0) {
          std::lock_guard lock(mutex);
          if (p.lines_buffered(expect_pipelined_rcpts, 2000)) ++pipelined_groups;
        }
        if (check_unpipelined && !p.quiet(300)) {
          std::lock_guard lock(mutex);
          ++violations;
        }
        p.send("250 2.1.0 Ok\r\n");
      } else if (verb == "RCPT") {
        if (check_unpipelined && !p.quiet(300)) {
          std::lock_guard lock(mutex);
          ++violations;
        }
        p.send("250 2.1.5 Ok\r\n");
      } else if (verb == "DATA") {
        p.send("354 End data with <CR><LF>.<CR><LF>\r\n");
        auto data = p.data();
        if (!data) return;
        {
          std::lock_guard lock(mutex);
          messages.push_back(*data);
        }
        if (stall_after_data) {
          p.hold();
          return;
        }
        p.send("250 2.0.0 Ok: queued\r\n");
      } else if (verb == "RSET" || verb == "NOOP") {
        p.send("250 2.0.0 Ok\r\n");
      } else if (verb == "QUIT") {
        p.send("221 2.0.0 Bye\r\n");
        return;
      } else {
        p.send("502 5.5.2 Error: command not recognized\r\n");
      }
    }
  }

  std::vector<std::string> snapshot_commands() {
    std::lock_guard lock(mutex);
    return commands;
  }
};

std::unique_ptr<ScriptedServer> scripted(Script& script, const std::string& ip = "127.0.0.1", std::uint16_t port = 0) {
  return std::make_unique<ScriptedServer>([&script](Peer& p, int connection) { script.serve(p, connection); }, ip,
                                          port);
}

// ---------------------------------------------------------------- client helpers

sc::ClientOptions fast_options() {
  sc::ClientOptions options;
  options.helo_name = "client.test";
  options.connect_timeout = 5s;
  options.greeting_timeout = 5s;
  options.command_timeout = 5s;
  options.data_timeout = 5s;
  return options;
}

sc::Target target(std::uint16_t port, std::vector<std::string> addresses = {"127.0.0.1"}) {
  sc::Target t;
  t.host = "localhost";
  t.addresses = std::move(addresses);
  t.port = port;
  return t;
}

sc::TlsOptions tls(sc::TlsMode mode) {
  sc::TlsOptions options;
  options.mode = mode;
  return options;
}

sc::Message message(std::vector<std::string> recipients = {"rcpt@example.net"},
                    std::string data = "Subject: test\r\n\r\nHello\r\n") {
  sc::Message m;
  m.mail_from = "sender@example.com";
  m.recipients = std::move(recipients);
  m.data = std::make_shared<const std::string>(std::move(data));
  return m;
}

sc::Outcome send(sc::Client& client, const sc::Target& t, const sc::TlsOptions& options, sc::Message m,
                 const std::optional<sc::Credentials>& credentials = std::nullopt,
                 std::chrono::seconds wait = std::chrono::seconds(30)) {
  auto promise = std::make_shared<std::promise<sc::Outcome>>();
  auto future = promise->get_future();
  client.send(t, options, credentials, std::move(m),
              [promise](sc::Outcome outcome) { promise->set_value(std::move(outcome)); });
  if (future.wait_for(wait) != std::future_status::ready) {
    ADD_FAILURE() << "no outcome within " << wait.count() << " s";
    return {};
  }
  return future.get();
}

std::string describe(const sc::Outcome& o) {
  return std::string(sc::to_string(o.stage)) + " reply=\"" + o.reply.to_string() + "\" error=\"" + o.local_error + "\"";
}

template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return predicate();
}

class SmtpClient : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/postroom-smtp-client-XXXXXX";
    data_dir() = ::mkdtemp(pattern);
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove_all(data_dir(), ignored);
  }
};

}  // namespace

// ---------------------------------------------------------------- delivery and data

TEST_F(SmtpClient, DeliversExactBytesWithDotStuffingAndFinalCrlf) {
  TestServer server;
  sc::Client client(fast_options());
  const std::string body =
      "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\nmiddle . dot\r\n.\r\n\r\n.\r\nlast line without CRLF";
  auto outcome = send(client, target(server.plain_port), tls(sc::TlsMode::none), message({"a@example.net"}, body));
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_TRUE(outcome.delivered_any);
  EXPECT_EQ(outcome.reply.code, 250);
  EXPECT_EQ(outcome.reply.enhanced, "2.0.0");
  EXPECT_EQ(outcome.reply.text, "Ok: queued as 1");
  EXPECT_EQ(outcome.reply.to_string(), "250 2.0.0 Ok: queued as 1");
  EXPECT_EQ(outcome.remote_address, "127.0.0.1");
  EXPECT_FALSE(outcome.tls);
  ASSERT_EQ(outcome.recipients.size(), 1u);
  EXPECT_EQ(outcome.recipients[0].address, "a@example.net");
  EXPECT_EQ(outcome.recipients[0].reply.code, 250);

  // Ends with CRLF already: exactly the same bytes; bare LF and CR become CRLF.
  const std::string second = "Subject: two\r\n\r\n.\r\n..\r\nend\r\n";
  ASSERT_EQ(send(client, target(server.plain_port), tls(sc::TlsMode::none), message({"b@example.net"}, second)).stage,
            Stage::done);
  ASSERT_EQ(send(client, target(server.plain_port), tls(sc::TlsMode::none),
                 message({"c@example.net"}, "Subject: lf\n\nbare\nlf\r\nand\rcr\n.dot\n"))
                .stage,
            Stage::done);
  const auto deliveries = server.backend.snapshot();
  ASSERT_EQ(deliveries.size(), 3u);
  EXPECT_EQ(deliveries[0].data, body + "\r\n");
  EXPECT_EQ(deliveries[0].mail_from, "sender@example.com");
  EXPECT_EQ(deliveries[0].recipients, std::vector<std::string>{"a@example.net"});
  EXPECT_EQ(deliveries[1].data, second);
  EXPECT_EQ(deliveries[2].data, "Subject: lf\r\n\r\nbare\r\nlf\r\nand\r\ncr\r\n.dot\r\n");
  EXPECT_EQ(deliveries[0].size, body.size());  // SIZE= declared
}

TEST_F(SmtpClient, DesignatedInitializers) {
  TestServer server;
  sc::Client client({.helo_name = "client.test", .connect_timeout = 5s, .greeting_timeout = 5s});
  auto outcome = send(client, {.host = "localhost", .addresses = {"127.0.0.1"}, .port = server.plain_port},
                      {.mode = sc::TlsMode::opportunistic},
                      {.mail_from = "sender@example.com",
                       .recipients = {"rcpt@example.net"},
                       .data = std::make_shared<const std::string>("Subject: x\r\n\r\nx\r\n")},
                      sc::Credentials{.username = "user", .password = "secret", .allow_plaintext_auth = true});
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_EQ(server.backend.snapshot().at(0).user, "user");
}

TEST_F(SmtpClient, DotStuffingOnTheWire) {
  Script script;
  auto listener = scripted(script);
  sc::Client client(fast_options());
  auto outcome = send(client, target(listener->port()), tls(sc::TlsMode::none),
                      message({"a@example.net"}, ".one\r\ntwo\r\n..three\r\n.\r\nend"));
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  std::lock_guard lock(script.mutex);
  ASSERT_EQ(script.messages.size(), 1u);
  EXPECT_EQ(script.messages[0], "..one\r\ntwo\r\n...three\r\n..\r\nend\r\n");
}

TEST_F(SmtpClient, EmptyMessageData) {
  TestServer server;
  sc::Client client(fast_options());
  auto outcome = send(client, target(server.plain_port), tls(sc::TlsMode::none), message({"a@example.net"}, ""));
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_EQ(server.backend.snapshot().at(0).data, "");
}

// ---------------------------------------------------------------- pipelining, HELO, extensions

TEST_F(SmtpClient, PipelinesMailAndRcptWhenOffered) {
  Script script;
  script.expect_pipelined_rcpts = 2;  // both RCPTs are buffered behind MAIL before any reply
  auto listener = scripted(script);
  sc::Client client(fast_options());
  auto outcome =
      send(client, target(listener->port()), tls(sc::TlsMode::none), message({"a@example.net", "b@example.net"}));
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  std::lock_guard lock(script.mutex);
  EXPECT_EQ(script.pipelined_groups, 1);
  // DATA is not pipelined: it waits for the RCPT replies.
  const std::vector<std::string> expected = {"EHLO client.test", "MAIL FROM:<sender@example.com> SIZE=24",
                                             "RCPT TO:<a@example.net>", "RCPT TO:<b@example.net>", "DATA"};
  ASSERT_GE(script.commands.size(), expected.size());
  EXPECT_EQ(std::vector<std::string>(script.commands.begin(), script.commands.begin() + 5), expected);
}

TEST_F(SmtpClient, OneCommandAtATimeWithoutPipelining) {
  Script script;
  script.extensions = {"SIZE 1000000", "8BITMIME"};
  script.check_unpipelined = true;
  auto listener = scripted(script);
  sc::Client client(fast_options());
  auto outcome =
      send(client, target(listener->port()), tls(sc::TlsMode::none), message({"a@example.net", "b@example.net"}));
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_EQ(outcome.reply.enhanced, "2.0.0");
  std::lock_guard lock(script.mutex);
  EXPECT_EQ(script.violations, 0);
  EXPECT_EQ(script.messages.size(), 1u);
}

TEST_F(SmtpClient, FallsBackToHeloWhenEhloIsRefused) {
  Script script;
  script.ehlo_refused = true;
  auto listener = scripted(script);
  sc::Client client(fast_options());
  auto m = message({"a@example.net"});
  m.eight_bit = true;
  m.envid = "env-1";
  auto outcome = send(client, target(listener->port()), tls(sc::TlsMode::opportunistic), m);
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  const auto commands = script.snapshot_commands();
  ASSERT_GE(commands.size(), 3u);
  EXPECT_EQ(commands[0], "EHLO client.test");
  EXPECT_EQ(commands[1], "HELO client.test");
  EXPECT_EQ(commands[2], "MAIL FROM:<sender@example.com>");  // no ESMTP parameters after HELO
}

TEST_F(SmtpClient, MailParametersFollowExtensions) {
  Script script;
  script.extensions = {"PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "DSN"};
  auto listener = scripted(script);
  sc::Client client(fast_options());
  auto m = message({"δοκιμή@example.net"});
  m.mail_from = "";
  m.eight_bit = true;
  m.envid = "id+1=x";
  auto outcome = send(client, target(listener->port()), tls(sc::TlsMode::none), m);
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  const auto commands = script.snapshot_commands();
  ASSERT_GE(commands.size(), 3u);
  EXPECT_EQ(commands[1], "MAIL FROM:<> SIZE=24 BODY=8BITMIME SMTPUTF8 ENVID=id+2B1+3Dx");
  EXPECT_EQ(commands[2], "RCPT TO:<δοκιμή@example.net>");
}

TEST_F(SmtpClient, Smtputf8AndEightBitAgainstTheServer) {
  TestServer server;
  sc::Client client(fast_options());
  auto m = message({"δοκιμή@example.net"}, "Subject: ünïcödé\r\n\r\nbody\r\n");
  m.eight_bit = true;
  auto outcome = send(client, target(server.plain_port), tls(sc::TlsMode::none), m);
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  const auto d = server.backend.snapshot().at(0);
  EXPECT_TRUE(d.smtputf8);
  EXPECT_EQ(d.body, smtp::BodyType::eight_bit_mime);
  EXPECT_EQ(d.recipients, std::vector<std::string>{"δοκιμή@example.net"});
}

TEST_F(SmtpClient, Smtputf8NotOfferedIsALocalFailure) {
  Script script;  // no SMTPUTF8
  auto listener = scripted(script);
  sc::Client client(fast_options());
  auto outcome = send(client, target(listener->port()), tls(sc::TlsMode::none), message({"δοκιμή@example.net"}));
  EXPECT_EQ(outcome.stage, Stage::mail);
  EXPECT_EQ(outcome.reply.code, 0);
  EXPECT_TRUE(contains(outcome.local_error, "SMTPUTF8")) << outcome.local_error;
  EXPECT_FALSE(outcome.delivered_any);
  for (const auto& command : script.snapshot_commands()) EXPECT_NE(command.substr(0, 4), "MAIL");
}

TEST_F(SmtpClient, MultiLineRepliesAreJoined) {
  Script script;
  script.greeting = "220-scripted.test first line\r\n220-second line\r\n220 third line\r\n";
  script.hook = [](Peer& p, const std::string& line, int, bool&) {
    if (line.rfind("RCPT TO:<bad", 0) != 0) return false;
    p.send(
        "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
        "550-5.1.1 Please try double-checking the recipient's email address.\r\n"
        "550 5.1.1 See https://example.test/help\r\n");
    return true;
  };
  auto listener = scripted(script);
  sc::Client client(fast_options());
  auto outcome = send(client, target(listener->port()), tls(sc::TlsMode::none), message({"bad@example.net"}));
  EXPECT_EQ(outcome.stage, Stage::rcpt) << describe(outcome);
  EXPECT_EQ(outcome.reply.code, 550);
  EXPECT_EQ(outcome.reply.enhanced, "5.1.1");
  EXPECT_EQ(outcome.reply.text,
            "The email account that you tried to reach does not exist.\nPlease try double-checking the recipient's "
            "email address.\nSee https://example.test/help");
  EXPECT_EQ(outcome.recipients.at(0).reply.to_string(),
            "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the "
            "recipient's email address. See https://example.test/help");
}

TEST_F(SmtpClient, AbsurdReplyLineIsALocalError) {
  ScriptedServer listener([](Peer& p, int) {
    p.send("220 " + std::string(1024 * 1024, 'x'));  // 1 MB without a line end
    p.hold();
  });
  sc::Client client(fast_options());
  const auto start = std::chrono::steady_clock::now();
  auto outcome = send(client, target(listener.port()), tls(sc::TlsMode::none), message());
  EXPECT_EQ(outcome.stage, Stage::greeting);
  EXPECT_TRUE(contains(outcome.local_error, "reply line too long")) << outcome.local_error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

TEST_F(SmtpClient, MalformedReplyIsALocalError) {
  ScriptedServer listener([](Peer& p, int) {
    p.send("hello there\r\n");
    p.hold();
  });
  sc::Client client(fast_options());
  auto outcome = send(client, target(listener.port()), tls(sc::TlsMode::none), message());
  EXPECT_EQ(outcome.stage, Stage::greeting);
  EXPECT_TRUE(contains(outcome.local_error, "malformed reply")) << outcome.local_error;
}

TEST_F(SmtpClient, GreetingRefusal) {
  ScriptedServer listener([](Peer& p, int) {
    p.send("554 5.7.1 No SMTP service here\r\n");
    p.line();  // QUIT
    p.send("221 Bye\r\n");
  });
  sc::Client client(fast_options());
  auto outcome = send(client, target(listener.port()), tls(sc::TlsMode::none), message());
  EXPECT_EQ(outcome.stage, Stage::greeting);
  EXPECT_EQ(outcome.reply.to_string(), "554 5.7.1 No SMTP service here");
  EXPECT_TRUE(outcome.recipients.at(0).reply.permanent());
}

// ---------------------------------------------------------------- recipients

TEST_F(SmtpClient, MixedRecipientReplies) {
  TestServer server;
  sc::Client client(fast_options());
  auto outcome = send(client, target(server.plain_port), tls(sc::TlsMode::none),
                      message({"one@example.net", "reject@example.net", "tempfail@example.net", "two@example.net"}));
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_TRUE(outcome.delivered_any);
  ASSERT_EQ(outcome.recipients.size(), 4u);
  EXPECT_EQ(outcome.recipients[0].reply.to_string(), "250 2.0.0 Ok: queued as 1");
  EXPECT_EQ(outcome.recipients[1].reply.to_string(), "550 5.1.1 No such user");
  EXPECT_EQ(outcome.recipients[2].reply.to_string(), "451 4.2.0 Try again later");
  EXPECT_EQ(outcome.recipients[3].reply.to_string(), "250 2.0.0 Ok: queued as 1");
  const auto d = server.backend.snapshot().at(0);
  EXPECT_EQ(d.recipients, (std::vector<std::string>{"one@example.net", "two@example.net"}));
}

TEST_F(SmtpClient, AllRecipientsRejectedSendsNoData) {
  Script script;
  script.hook = [](Peer& p, const std::string& line, int, bool&) {
    if (line.rfind("RCPT", 0) != 0) return false;
    p.send(line.find("temp") != std::string::npos ? "451 4.2.0 Later\r\n" : "550 5.1.1 No such user\r\n");
    return true;
  };
  auto listener = scripted(script);
  sc::Client client(fast_options());
  auto outcome = send(client, target(listener->port()), tls(sc::TlsMode::none),
                      message({"reject@example.net", "temp@example.net"}));
  EXPECT_EQ(outcome.stage, Stage::rcpt) << describe(outcome);
  EXPECT_FALSE(outcome.delivered_any);
  EXPECT_EQ(outcome.reply.code, 451);
  EXPECT_EQ(outcome.recipients.at(0).reply.code, 550);
  EXPECT_EQ(outcome.recipients.at(1).reply.code, 451);
  // The connection stays usable: RSET, and it goes back to the pool.
  EXPECT_EQ(client.idle_connections(), 1u);
  const auto commands = script.snapshot_commands();
  EXPECT_EQ(std::count(commands.begin(), commands.end(), "DATA"), 0);
  EXPECT_EQ(commands.back(), "RSET");

  TestServer server;
  auto real = send(client, target(server.plain_port), tls(sc::TlsMode::none), message({"reject@example.net"}));
  EXPECT_EQ(real.stage, Stage::rcpt);
  EXPECT_EQ(real.reply.to_string(), "550 5.1.1 No such user");
  EXPECT_TRUE(server.backend.snapshot().empty());
}

TEST_F(SmtpClient, MailRefusedEndsAtMail) {
  Script script;
  script.hook = [](Peer& p, const std::string& line, int, bool&) {
    if (line.rfind("MAIL", 0) == 0) {
      p.send("550 5.7.1 Sender blocked\r\n");
      return true;
    }
    if (line.rfind("RCPT", 0) == 0) {
      p.send("503 5.5.1 Error: need MAIL command\r\n");
      return true;
    }
    return false;
  };
  auto listener = scripted(script);
  sc::Client client(fast_options());
  auto outcome =
      send(client, target(listener->port()), tls(sc::TlsMode::none), message({"a@example.net", "b@example.net"}));
  EXPECT_EQ(outcome.stage, Stage::mail);
  EXPECT_EQ(outcome.reply.to_string(), "550 5.7.1 Sender blocked");
  EXPECT_EQ(outcome.recipients.at(1).reply.code, 550);
  EXPECT_EQ(client.idle_connections(), 1u);  // the pipelined RCPT replies were read: still in step
  auto next = send(client, target(listener->port()), tls(sc::TlsMode::none), message());
  EXPECT_EQ(next.stage, Stage::mail);
  EXPECT_EQ(listener->connections(), 1);
}

TEST_F(SmtpClient, SizeLimitRefusedBeforeMail) {
  TestServer server([](smtp::ServerOptions& o) { o.limits.max_message_size = 1000; });
  sc::Client client(fast_options());
  auto outcome = send(client, target(server.plain_port), tls(sc::TlsMode::none),
                      message({"a@example.net"}, "Subject: big\r\n\r\n" + std::string(5000, 'x') + "\r\n"));
  EXPECT_EQ(outcome.stage, Stage::mail);
  EXPECT_EQ(outcome.reply.code, 0);
  EXPECT_EQ(outcome.local_error, "message size 5018 exceeds the server's limit of 1000 octets");
  EXPECT_FALSE(outcome.delivered_any);
  EXPECT_EQ(server.backend.mail_commands.load(), 0);
  EXPECT_EQ(client.idle_connections(), 1u);
  // A message that fits goes over the same connection.
  EXPECT_EQ(send(client, target(server.plain_port), tls(sc::TlsMode::none), message()).stage, Stage::done);
  EXPECT_EQ(server.backend.connections.load(), 1);
}

TEST_F(SmtpClient, InvalidEnvelopeIsRefusedWithoutConnecting) {
  ScriptedServer listener([](Peer& p, int) { p.hold(); });
  sc::Client client(fast_options());
  auto outcome = send(client, target(listener.port()), tls(sc::TlsMode::none),
                      message({"a@example.net>\r\nRCPT TO:<evil@example.net"}));
  EXPECT_EQ(outcome.stage, Stage::mail);
  EXPECT_TRUE(contains(outcome.local_error, "invalid recipient")) << outcome.local_error;
  auto none = send(client, target(listener.port()), tls(sc::TlsMode::none), message({}));
  EXPECT_EQ(none.local_error, "no recipients");
  EXPECT_EQ(listener.connections(), 0);
}

// ---------------------------------------------------------------- TLS

TEST_F(SmtpClient, OpportunisticStartTls) {
  TestServer server;
  sc::Client client(fast_options());
  auto outcome = send(client, target(server.starttls_port), tls(sc::TlsMode::opportunistic), message());
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_TRUE(outcome.tls);
  EXPECT_TRUE(outcome.tls_version.rfind("TLSv1.", 0) == 0) << outcome.tls_version;
  EXPECT_FALSE(outcome.tls_cipher.empty());
  EXPECT_TRUE(server.backend.snapshot().at(0).tls);

  // No STARTTLS offered: plain text.
  auto plain = send(client, target(server.plain_port), tls(sc::TlsMode::opportunistic), message());
  ASSERT_EQ(plain.stage, Stage::done) << describe(plain);
  EXPECT_FALSE(plain.tls);
  EXPECT_FALSE(server.backend.snapshot().at(1).tls);
}

TEST_F(SmtpClient, RequiredStartTls) {
  TestServer server;
  sc::Client client(fast_options());
  auto outcome = send(client, target(server.starttls_port), tls(sc::TlsMode::required), message());
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_TRUE(outcome.tls);

  auto refused = send(client, target(server.plain_port), tls(sc::TlsMode::required), message());
  EXPECT_EQ(refused.stage, Stage::starttls);
  EXPECT_EQ(refused.local_error, "the server does not offer STARTTLS (TLS required)");
  EXPECT_EQ(server.backend.snapshot().size(), 1u);
}

TEST_F(SmtpClient, StartTlsRefusedByTheServer) {
  Script script;
  script.extensions = {"PIPELINING", "STARTTLS"};
  script.hook = [](Peer& p, const std::string& line, int, bool&) {
    if (line != "STARTTLS") return false;
    p.send("454 4.7.0 TLS not available due to temporary reason\r\n");
    return true;
  };
  auto listener = scripted(script);
  sc::Client client(fast_options());
  // Opportunistic: carry on in plain text.
  auto outcome = send(client, target(listener->port()), tls(sc::TlsMode::opportunistic), message());
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_FALSE(outcome.tls);
  // Required: stop there.
  auto required = send(client, target(listener->port()), tls(sc::TlsMode::required), message());
  EXPECT_EQ(required.stage, Stage::starttls);
  EXPECT_EQ(required.reply.to_string(), "454 4.7.0 TLS not available due to temporary reason");
}

TEST_F(SmtpClient, FailedHandshakeIsATlsFailureOutcome) {
  Script script;
  script.extensions = {"PIPELINING", "STARTTLS"};
  script.hook = [](Peer& p, const std::string& line, int, bool& end) {
    if (line != "STARTTLS") return false;
    p.send("220 2.0.0 Ready to start TLS\r\n");
    p.fill(2000);  // the ClientHello
    p.send("this is not TLS\r\n");
    end = true;
    return true;
  };
  auto listener = scripted(script);
  sc::Client client(fast_options());
  for (auto mode : {sc::TlsMode::opportunistic, sc::TlsMode::required}) {
    auto outcome = send(client, target(listener->port()), tls(mode), message());
    EXPECT_EQ(outcome.stage, Stage::starttls);
    EXPECT_TRUE(outcome.local_error.rfind("TLS handshake failed: ", 0) == 0) << outcome.local_error;
    EXPECT_FALSE(outcome.delivered_any);
  }
  EXPECT_EQ(client.idle_connections(), 0u);
  // The caller's fallback: the same target without TLS.
  auto plain = send(client, target(listener->port()), tls(sc::TlsMode::none), message());
  EXPECT_EQ(plain.stage, Stage::done) << describe(plain);
}

TEST_F(SmtpClient, VerifiedStartTls) {
  TestServer server;
  sc::Client client(fast_options());
  sc::TlsOptions verified = tls(sc::TlsMode::required);
  verified.verify_peer = true;
  verified.ca_file = certificate();  // the server's self-signed certificate (localhost, 127.0.0.1)
  auto outcome = send(client, target(server.starttls_port), verified, message());
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_TRUE(outcome.tls);

  verified.server_name = "mx.elsewhere.test";
  auto mismatch = send(client, target(server.starttls_port), verified, message());
  EXPECT_EQ(mismatch.stage, Stage::starttls);
  EXPECT_TRUE(contains(mismatch.local_error, "TLS handshake failed: certificate verification failed"))
      << mismatch.local_error;

  sc::TlsOptions untrusted = tls(sc::TlsMode::opportunistic);
  untrusted.verify_peer = true;  // system store: does not know the self-signed certificate
  auto unknown = send(client, target(server.starttls_port), untrusted, message());
  EXPECT_EQ(unknown.stage, Stage::starttls);
  EXPECT_TRUE(contains(unknown.local_error, "certificate verification failed")) << unknown.local_error;

  sc::TlsOptions missing = verified;
  missing.ca_file = data_dir() + "/no-such-ca.pem";
  auto setup = send(client, target(server.starttls_port), missing, message());
  EXPECT_EQ(setup.stage, Stage::starttls);
  EXPECT_TRUE(contains(setup.local_error, "TLS setup failed")) << setup.local_error;
}

TEST_F(SmtpClient, ImplicitTls) {
  TestServer server;
  sc::Client client(fast_options());
  auto outcome = send(client, target(server.implicit_port), tls(sc::TlsMode::implicit), message());
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_TRUE(outcome.tls);
  EXPECT_TRUE(server.backend.snapshot().at(0).tls);

  // Implicit TLS against a plain-text server: the handshake fails at connect.
  auto plain = send(client, target(server.plain_port), tls(sc::TlsMode::implicit), message());
  EXPECT_EQ(plain.stage, Stage::connect);
  EXPECT_TRUE(plain.local_error.rfind("TLS handshake failed", 0) == 0) << plain.local_error;
}

// ---------------------------------------------------------------- AUTH

TEST_F(SmtpClient, AuthPlainOverStartTls) {
  TestServer server;
  sc::Client client(fast_options());
  sc::Credentials credentials{"user", "secret"};
  auto outcome = send(client, target(server.auth_port), tls(sc::TlsMode::required), message(), credentials);
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  const auto d = server.backend.snapshot().at(0);
  EXPECT_EQ(d.user, "user");
  EXPECT_EQ(d.mechanism, "PLAIN");
  EXPECT_TRUE(d.tls);

  sc::Credentials wrong{"user", "wrong"};
  auto refused = send(client, target(server.auth_port), tls(sc::TlsMode::required), message(), wrong);
  EXPECT_EQ(refused.stage, Stage::auth);
  EXPECT_EQ(refused.reply.to_string(), "535 5.7.8 Invalid login or password");

  // Without credentials the server wants AUTH: MAIL is refused.
  auto anonymous = send(client, target(server.auth_port), tls(sc::TlsMode::required), message());
  EXPECT_EQ(anonymous.stage, Stage::mail);
  EXPECT_EQ(anonymous.reply.code, 530);
}

TEST_F(SmtpClient, CredentialsNeverGoOutInPlainTextUnlessAllowed) {
  TestServer server;
  sc::Client client(fast_options());
  sc::Credentials credentials{"user", "secret"};
  auto refused = send(client, target(server.plain_port), tls(sc::TlsMode::opportunistic), message(), credentials);
  EXPECT_EQ(refused.stage, Stage::auth);
  EXPECT_EQ(refused.local_error, "refusing to send credentials without TLS");
  credentials.allow_plaintext_auth = true;
  auto allowed = send(client, target(server.plain_port), tls(sc::TlsMode::none), message(), credentials);
  ASSERT_EQ(allowed.stage, Stage::done) << describe(allowed);
  EXPECT_EQ(server.backend.snapshot().at(0).user, "user");
}

TEST_F(SmtpClient, AuthLoginWhenPlainIsNotOffered) {
  Script script;
  script.extensions = {"PIPELINING", "AUTH LOGIN CRAM-MD5"};
  std::atomic<bool> authenticated{false};
  script.hook = [&authenticated](Peer& p, const std::string& line, int, bool&) {
    if (line != "AUTH LOGIN") return false;
    p.send("334 VXNlcm5hbWU6\r\n");
    const auto user = p.line();
    p.send("334 UGFzc3dvcmQ6\r\n");
    const auto password = p.line();
    if (user && password && smtp::base64_decode(*user) == "user" && smtp::base64_decode(*password) == "pässword") {
      authenticated = true;
      p.send("235 2.7.0 Authentication successful\r\n");
    } else {
      p.send("535 5.7.8 Authentication credentials invalid\r\n");
    }
    return true;
  };
  auto listener = scripted(script);
  sc::Client client(fast_options());
  sc::Credentials credentials{"user", "pässword", true};
  auto outcome = send(client, target(listener->port()), tls(sc::TlsMode::opportunistic), message(), credentials);
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_TRUE(authenticated);

  // Pooled per credentials: other credentials need another connection.
  sc::Credentials other{"user", "other", true};
  auto refused = send(client, target(listener->port()), tls(sc::TlsMode::opportunistic), message(), other);
  EXPECT_EQ(refused.stage, Stage::auth);
  EXPECT_EQ(refused.reply.code, 535);
  EXPECT_EQ(listener->connections(), 2);
}

// ---------------------------------------------------------------- 421 and timeouts

TEST_F(SmtpClient, Reply421MidSessionClosesTheConnection) {
  Script script;
  std::atomic<bool> client_closed{false};
  script.hook = [&client_closed](Peer& p, const std::string& line, int, bool& end) {
    if (line.rfind("RCPT TO:<b@", 0) != 0) return false;
    p.send("421 4.3.2 Service shutting down\r\n");
    // The client sends nothing more (no QUIT) and closes: past the pipelined RCPT, the next read sees EOF.
    const auto start = std::chrono::steady_clock::now();
    bool quit = false;
    while (auto more = p.line(3000)) quit = quit || *more == "QUIT";
    client_closed = !quit && std::chrono::steady_clock::now() - start < 2500ms;
    end = true;
    return true;
  };
  auto listener = scripted(script);
  sc::Client client(fast_options());
  auto outcome = send(client, target(listener->port()), tls(sc::TlsMode::none),
                      message({"a@example.net", "b@example.net", "c@example.net"}));
  EXPECT_EQ(outcome.stage, Stage::rcpt);
  EXPECT_EQ(outcome.reply.to_string(), "421 4.3.2 Service shutting down");
  EXPECT_FALSE(outcome.delivered_any);
  ASSERT_EQ(outcome.recipients.size(), 3u);
  for (const auto& r : outcome.recipients) EXPECT_EQ(r.reply.code, 421) << r.address;
  EXPECT_EQ(client.idle_connections(), 0u);
  EXPECT_TRUE(eventually([&] { return client_closed.load(); }));
}

TEST_F(SmtpClient, ConnectTimeout) {
  // A listener that never accepts, its backlog filled: the kernel drops further SYNs, so connect() hangs.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 0), 0);
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    fillers.push_back(fd);
  }
  std::this_thread::sleep_for(100ms);
  auto options = fast_options();
  options.connect_timeout = 1s;
  sc::Client client(options);
  const auto start = std::chrono::steady_clock::now();
  auto outcome = send(client, target(ntohs(address.sin_port)), tls(sc::TlsMode::none), message());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(outcome.stage, Stage::connect);
  EXPECT_EQ(outcome.local_error, "connection timed out");
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 3s);
  for (int fd : fillers) ::close(fd);
  ::close(listener);
}

TEST_F(SmtpClient, GreetingTimeout) {
  ScriptedServer listener([](Peer& p, int) { p.hold(); });  // accepts and never greets
  auto options = fast_options();
  options.greeting_timeout = 1s;
  sc::Client client(options);
  const auto start = std::chrono::steady_clock::now();
  auto outcome = send(client, target(listener.port()), tls(sc::TlsMode::none), message());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(outcome.stage, Stage::greeting);
  EXPECT_EQ(outcome.local_error, "timed out waiting for the greeting");
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 3s);
}

TEST_F(SmtpClient, CommandTimeout) {
  Script script;
  script.hook = [](Peer& p, const std::string& line, int, bool& end) {
    if (line.rfind("EHLO", 0) != 0) return false;
    p.hold();
    end = true;
    return true;
  };
  auto listener = scripted(script);
  auto options = fast_options();
  options.command_timeout = 1s;
  sc::Client client(options);
  auto outcome = send(client, target(listener->port()), tls(sc::TlsMode::none), message());
  EXPECT_EQ(outcome.stage, Stage::ehlo);
  EXPECT_EQ(outcome.local_error, "timed out waiting for the reply to EHLO");
}

TEST_F(SmtpClient, StallAfterDataTimesOut) {
  Script script;
  script.stall_after_data = true;
  auto listener = scripted(script);
  auto options = fast_options();
  options.data_timeout = 1s;
  sc::Client client(options);
  const auto start = std::chrono::steady_clock::now();
  auto outcome = send(client, target(listener->port()), tls(sc::TlsMode::none), message());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  EXPECT_EQ(outcome.stage, Stage::data);
  EXPECT_FALSE(outcome.delivered_any);
  EXPECT_TRUE(outcome.maybe_delivered);
  EXPECT_EQ(outcome.local_error, "timed out waiting for the reply to the message; the message may have been delivered");
  EXPECT_EQ(client.idle_connections(), 0u);
  std::lock_guard lock(script.mutex);
  EXPECT_EQ(script.messages.size(), 1u);
}

TEST_F(SmtpClient, ShutdownAbortsSendsInFlight) {
  ScriptedServer listener([](Peer& p, int) { p.hold(); });
  auto promise = std::make_shared<std::promise<sc::Outcome>>();
  auto future = promise->get_future();
  const auto start = std::chrono::steady_clock::now();
  {
    sc::Client client(fast_options());
    client.send(target(listener.port()), tls(sc::TlsMode::none), std::nullopt, message(),
                [promise](sc::Outcome o) { promise->set_value(std::move(o)); });
    ASSERT_TRUE(eventually([&] { return listener.connections() == 1; }));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  ASSERT_EQ(future.wait_for(0s), std::future_status::ready);
  auto outcome = future.get();
  EXPECT_EQ(outcome.local_error, "client shutting down");
}

// ---------------------------------------------------------------- addresses

TEST_F(SmtpClient, RefusedAddressThenTheNextOne) {
  TestServer server;  // listens on 127.0.0.1 only: 127.0.0.2 refuses
  sc::Client client(fast_options());
  auto outcome = send(client, target(server.plain_port, {"127.0.0.2", "127.0.0.1"}), tls(sc::TlsMode::none), message());
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_EQ(outcome.remote_address, "127.0.0.1");

  auto refused = send(client, target(server.plain_port, {"127.0.0.2"}), tls(sc::TlsMode::none), message());
  EXPECT_EQ(refused.stage, Stage::connect);
  EXPECT_EQ(refused.local_error, "connection refused");
  EXPECT_EQ(refused.recipients.at(0).reply.code, 0);

  auto both = send(client, target(server.plain_port, {"127.0.0.2", "127.0.0.3"}), tls(sc::TlsMode::none), message());
  EXPECT_EQ(both.stage, Stage::connect);
  EXPECT_EQ(both.local_error, "127.0.0.2: connection refused; 127.0.0.3: connection refused");
}

TEST_F(SmtpClient, SilentAddressThenTheNextOne) {
  TestServer server;
  // Same port on 127.0.0.2: accepts, never greets.
  ScriptedServer silent([](Peer& p, int) { p.hold(); }, "127.0.0.2", server.plain_port);
  auto options = fast_options();
  options.greeting_timeout = 1s;
  sc::Client client(options);
  auto outcome = send(client, target(server.plain_port, {"127.0.0.2", "127.0.0.1"}), tls(sc::TlsMode::none), message());
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_EQ(outcome.remote_address, "127.0.0.1");
  EXPECT_EQ(silent.connections(), 1);
}

TEST_F(SmtpClient, HostIsResolvedWhenNoAddressesAreGiven) {
  TestServer server;
  sc::Client client(fast_options());
  auto outcome = send(client, target(server.plain_port, {}), tls(sc::TlsMode::none), message());
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_EQ(outcome.remote_address, "127.0.0.1");
}

TEST_F(SmtpClient, SourceAddress) {
  TestServer server;
  auto options = fast_options();
  options.source_address = "127.0.0.5";
  sc::Client client(options);
  auto outcome = send(client, target(server.plain_port), tls(sc::TlsMode::none), message());
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);

  options.source_address = "192.0.2.77";  // not a local address
  sc::Client unbindable(options);
  auto failed = send(unbindable, target(server.plain_port), tls(sc::TlsMode::none), message());
  EXPECT_EQ(failed.stage, Stage::connect);
  EXPECT_TRUE(contains(failed.local_error, "cannot bind to source address 192.0.2.77")) << failed.local_error;
}

// ---------------------------------------------------------------- connection reuse

TEST_F(SmtpClient, ReusesAConnection) {
  TestServer server;
  sc::Client client(fast_options());
  for (int i = 0; i < 3; ++i) {
    auto outcome = send(client, target(server.starttls_port), tls(sc::TlsMode::opportunistic), message());
    ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
    EXPECT_TRUE(outcome.tls);
    EXPECT_EQ(client.idle_connections(), 1u);
  }
  EXPECT_EQ(server.backend.connections.load(), 1);
  EXPECT_EQ(client.connections_opened(), 1u);
  EXPECT_EQ(server.backend.snapshot().size(), 3u);

  // A different TLS mode or target is a different pool entry.
  ASSERT_EQ(send(client, target(server.starttls_port), tls(sc::TlsMode::none), message()).stage, Stage::done);
  EXPECT_EQ(server.backend.connections.load(), 2);
  EXPECT_EQ(client.idle_connections(), 2u);
}

TEST_F(SmtpClient, MaxMessagesPerConnection) {
  TestServer server;
  auto options = fast_options();
  options.max_messages_per_connection = 2;
  sc::Client client(options);
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(send(client, target(server.plain_port), tls(sc::TlsMode::none), message()).stage, Stage::done);
  EXPECT_EQ(server.backend.connections.load(), 3);
  EXPECT_EQ(client.connections_opened(), 3u);
  EXPECT_EQ(server.backend.snapshot().size(), 5u);
}

TEST_F(SmtpClient, ConcurrentSendsOpenSeveralConnectionsAndPoolUpToTheLimit) {
  // Deliveries take 300 ms, so all six transactions are open at once: six connections.
  TestServer server([](smtp::ServerOptions& o) { o.worker_threads = 6; }, 300ms);
  auto options = fast_options();
  options.max_idle_connections_per_target = 2;
  options.io_threads = 2;
  sc::Client client(options);
  std::vector<std::future<sc::Outcome>> futures;
  for (int i = 0; i < 6; ++i) {
    auto promise = std::make_shared<std::promise<sc::Outcome>>();
    futures.push_back(promise->get_future());
    client.send(target(server.plain_port), tls(sc::TlsMode::none), std::nullopt, message(),
                [promise](sc::Outcome o) { promise->set_value(std::move(o)); });
  }
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
    EXPECT_EQ(f.get().stage, Stage::done);
  }
  EXPECT_EQ(client.connections_opened(), 6u);
  EXPECT_EQ(client.idle_connections(), 2u);
  EXPECT_TRUE(eventually([&] { return server.server->active_sessions() == 2; }));  // the other four QUIT
}

TEST_F(SmtpClient, DeadPooledConnectionIsReplaced) {
  // The server allows one message per connection: the reused connection gets 421 at MAIL.
  TestServer server([](smtp::ServerOptions& o) { o.limits.max_messages = 1; });
  sc::Client client(fast_options());
  ASSERT_EQ(send(client, target(server.plain_port), tls(sc::TlsMode::none), message()).stage, Stage::done);
  EXPECT_EQ(client.idle_connections(), 1u);
  auto outcome = send(client, target(server.plain_port), tls(sc::TlsMode::none), message());
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_EQ(server.backend.connections.load(), 2);
  EXPECT_EQ(server.backend.snapshot().size(), 2u);
}

TEST_F(SmtpClient, PooledConnectionClosedAtRsetIsReplaced) {
  Script script;
  script.hook = [](Peer&, const std::string& line, int connection, bool& end) {
    if (line != "RSET" || connection != 0) return false;
    end = true;  // the first connection dies silently when it is reused
    return true;
  };
  auto listener = scripted(script);
  sc::Client client(fast_options());
  ASSERT_EQ(send(client, target(listener->port()), tls(sc::TlsMode::none), message()).stage, Stage::done);
  auto outcome = send(client, target(listener->port()), tls(sc::TlsMode::none), message());
  ASSERT_EQ(outcome.stage, Stage::done) << describe(outcome);
  EXPECT_EQ(listener->connections(), 2);
  std::lock_guard lock(script.mutex);
  EXPECT_EQ(script.messages.size(), 2u);
}

TEST_F(SmtpClient, NoRetryOnceMailWasAccepted) {
  Script script;
  std::atomic<int> data_commands{0};
  script.hook = [&data_commands](Peer&, const std::string& line, int, bool& end) {
    if (line != "DATA" || ++data_commands != 2) return false;
    end = true;  // the reused connection dies after MAIL and RCPT were accepted
    return true;
  };
  auto listener = scripted(script);
  sc::Client client(fast_options());
  ASSERT_EQ(send(client, target(listener->port()), tls(sc::TlsMode::none), message()).stage, Stage::done);
  auto outcome = send(client, target(listener->port()), tls(sc::TlsMode::none), message());
  EXPECT_EQ(outcome.stage, Stage::data);
  EXPECT_EQ(outcome.local_error, "connection closed by the server while waiting for the reply to DATA");
  EXPECT_EQ(outcome.recipients.at(0).reply.code, 0);
  EXPECT_EQ(listener->connections(), 1);
}

TEST_F(SmtpClient, IdleConnectionClosedByTheServerLeavesThePool) {
  TestServer server([](smtp::ServerOptions& o) { o.command_timeout_seconds = 1; });
  sc::Client client(fast_options());
  ASSERT_EQ(send(client, target(server.plain_port), tls(sc::TlsMode::none), message()).stage, Stage::done);
  EXPECT_EQ(client.idle_connections(), 1u);
  // The server times the idle session out (421) and closes it; the pool notices without a send.
  EXPECT_TRUE(eventually([&] { return client.idle_connections() == 0; }, 4000ms));
  ASSERT_EQ(send(client, target(server.plain_port), tls(sc::TlsMode::none), message()).stage, Stage::done);
  EXPECT_EQ(server.backend.connections.load(), 2);
}

TEST_F(SmtpClient, IdleTimeoutQuits) {
  Script script;
  auto listener = scripted(script);
  auto options = fast_options();
  options.idle_timeout = 1s;
  sc::Client client(options);
  ASSERT_EQ(send(client, target(listener->port()), tls(sc::TlsMode::none), message()).stage, Stage::done);
  EXPECT_EQ(client.idle_connections(), 1u);
  EXPECT_TRUE(eventually([&] { return client.idle_connections() == 0; }, 3000ms));
  EXPECT_TRUE(eventually([&] {
    const auto commands = script.snapshot_commands();
    return !commands.empty() && commands.back() == "QUIT";
  }));
}

TEST_F(SmtpClient, DestructorQuitsPooledConnections) {
  Script script;
  auto listener = scripted(script);
  {
    sc::Client client(fast_options());
    ASSERT_EQ(send(client, target(listener->port()), tls(sc::TlsMode::none), message()).stage, Stage::done);
    EXPECT_EQ(client.idle_connections(), 1u);
  }
  const auto commands = script.snapshot_commands();
  ASSERT_FALSE(commands.empty());
  EXPECT_EQ(commands.back(), "QUIT");
}

// ---------------------------------------------------------------- Postfix smtp-sink

namespace {

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

bool accepts_connections(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

TEST_F(SmtpClient, ThousandMessagesToSmtpSinkOverReusedConnections) {
  const char* sink = "/usr/sbin/smtp-sink";
  // scripts/install-deps.sh --test installs postfix (smtp-sink); without it this test must fail, not skip.
  ASSERT_EQ(::access(sink, X_OK), 0) << sink << " not found (Debian package postfix)";
  const std::uint16_t port = free_port();
  const std::string output = data_dir() + "/smtp-sink.out";
  const std::string address = "127.0.0.1:" + std::to_string(port);
  std::vector<std::string> args = {sink, "-c"};
  if (::geteuid() == 0) {
    args.push_back("-u");
    args.push_back("nobody");
  }
  args.push_back(address);
  args.push_back("64");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, sink, &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  } reaper{pid};
  ASSERT_TRUE(eventually([&] { return accepts_connections(port); }, 5000ms)) << "smtp-sink did not start";

  constexpr int kMessages = 1000;
  constexpr int kInFlight = 4;
  std::mutex mutex;
  std::condition_variable finished;
  int started = 0;
  int done = 0;
  int delivered = 0;
  std::vector<std::string> failures;
  std::uint64_t opened = 0;
  {
    auto options = fast_options();
    options.max_messages_per_connection = 100;
    options.max_idle_connections_per_target = kInFlight;
    sc::Client client(options);
    const std::string body = "Subject: sink\r\n\r\n" + std::string(2000, 'x') + "\r\n.leading dot\r\n";
    const auto data = std::make_shared<const std::string>(body);
    std::function<void()> next;
    next = [&] {
      sc::Message m;
      m.mail_from = "sender@example.com";
      m.recipients = {"a@example.net", "b@example.net"};
      m.data = data;
      client.send(target(port), tls(sc::TlsMode::none), std::nullopt, std::move(m), [&](sc::Outcome outcome) {
        std::lock_guard lock(mutex);
        ++done;
        if (outcome.delivered_any && outcome.stage == Stage::done)
          ++delivered;
        else if (failures.size() < 5)
          failures.push_back(describe(outcome));
        if (started < kMessages) {
          ++started;
          next();
        }
        finished.notify_all();
      });
    };
    {
      std::lock_guard lock(mutex);
      for (int i = 0; i < kInFlight; ++i) {
        ++started;
        next();
      }
    }
    std::unique_lock lock(mutex);
    ASSERT_TRUE(finished.wait_for(lock, 120s, [&] { return done == kMessages; })) << done << " of " << kMessages;
    lock.unlock();
    opened = client.connections_opened();
  }  // QUIT for the pooled connections
  EXPECT_EQ(delivered, kMessages);
  for (const auto& f : failures) ADD_FAILURE() << f;
  // 100 messages per connection, 4 at a time: 10 connections at least, and far fewer than one per message.
  EXPECT_GE(opened, 10u);
  EXPECT_LE(opened, 16u);
  // smtp-sink's counters: sessions ended and messages received.
  std::smatch match;
  const std::regex counters(R"(sess=(\d+) quit=(\d+) mesg=(\d+))");
  std::string last;
  ASSERT_TRUE(eventually(
      [&] {
        std::ifstream in(output);
        std::stringstream text;
        text << in.rdbuf();
        const std::string all = text.str();
        last.clear();
        for (auto it = std::sregex_iterator(all.begin(), all.end(), counters); it != std::sregex_iterator(); ++it)
          last = it->str();
        // One more session than the client opened: the probe that saw smtp-sink listening.
        return std::regex_search(last, match, counters) && std::stoi(match[3]) == kMessages &&
               std::stoul(match[1]) == opened + 1;
      },
      5000ms))
      << "smtp-sink counters: " << last << ", client opened " << opened;
  EXPECT_EQ(std::stoul(match[2]), opened);  // every connection ended with QUIT
}
