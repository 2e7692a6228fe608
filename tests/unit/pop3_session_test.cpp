// The POP3 session state machine against an in-memory maildrop (every command in each state, pipelining,
// byte-stuffing, TOP, errors, login limits, STLS), then the sandbox's Pop3Mailbox against SQLite and PostgreSQL.
#include "pop3/session.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "accounts/service.h"
#include "sandbox/events.h"
#include "sandbox/inboxes.h"
#include "sandbox/messages.h"
#include "sandbox/pop3_mailbox.h"
#include "smtp/session.h"  // base64_encode
#include "test_support.h"

using namespace postroom;
using namespace postroom::pop3;

namespace {

// ---- an in-memory maildrop

struct FakeBackend;

struct FakeMaildrop : Maildrop {
  FakeMaildrop(FakeBackend& b, std::vector<MaildropMessage> m) : backend(b), list(std::move(m)) {}
  ~FakeMaildrop() override;
  const std::vector<MaildropMessage>& messages() const override { return list; }
  std::optional<std::string> content(std::size_t index) override;
  void retrieved(std::size_t index) override;
  bool remove(const std::vector<std::size_t>& indexes) override;

  FakeBackend& backend;
  std::vector<MaildropMessage> list;
};

struct FakeBackend : Backend {
  std::vector<std::string> bodies{"Subject: one\r\n\r\nfirst\r\n", "Subject: two\r\nX-A: b\r\n\r\nl1\r\nl2\r\nl3\r\n",
                                  "Subject: three\r\n\r\n.hidden\r\n..double\r\nend.\r\n"};
  std::set<std::size_t> vanished;  // content() finds these gone
  bool locked = false;
  bool fail_open = false;
  bool fail_remove = false;
  int opens = 0;
  std::vector<LoginAttempt> attempts;
  std::vector<std::size_t> retrieved;
  std::vector<std::vector<std::size_t>> removals;

  LoginResult open(const LoginAttempt& attempt) override {
    ++opens;
    attempts.push_back(attempt);
    if (fail_open) throw std::runtime_error("storage down");
    if (attempt.username != "user" || attempt.password != "secret pass")
      return LoginResult::refuse(LoginStatus::invalid);
    if (locked) return LoginResult::refuse(LoginStatus::in_use);
    locked = true;
    std::vector<MaildropMessage> list;
    for (std::size_t i = 0; i < bodies.size(); ++i)
      list.push_back({"uid-" + std::to_string(i + 10), normalized_size(bodies[i])});
    return {LoginStatus::ok, std::make_unique<FakeMaildrop>(*this, std::move(list))};
  }
};

FakeMaildrop::~FakeMaildrop() { backend.locked = false; }
std::optional<std::string> FakeMaildrop::content(std::size_t index) {
  if (backend.vanished.contains(index)) return std::nullopt;
  return normalize_line_endings(backend.bodies.at(index));
}
void FakeMaildrop::retrieved(std::size_t index) { backend.retrieved.push_back(index); }
bool FakeMaildrop::remove(const std::vector<std::size_t>& indexes) {
  backend.removals.push_back(indexes);
  return !backend.fail_remove;
}

// Drives a session as the server does, without sockets: backend calls inline, pauses and handshakes at once.
struct Driver {
  explicit Driver(FakeBackend& b, SessionLimits limits = {}, ListenerMode mode = ListenerMode::stls,
                  bool tls_available = true, Pop3Stats* stats = nullptr)
      : backend(b), session(limits, ConnectionInfo{"test", "127.0.0.1", 1234, mode}, tls_available, stats) {
    session.start();
    greeting = drain();
  }

  std::string send(std::string_view bytes) {
    session.receive(bytes);
    return drain();
  }

  std::string drain() {
    std::string out;
    while (true) {
      out += session.take_output();
      switch (session.next()) {
        case Session::Next::backend:
          session.run_backend(backend);
          session.backend_done();
          continue;
        case Session::Next::pause:
          ++pauses;
          session.resume();
          continue;
        case Session::Next::start_tls:
          if (!complete_handshakes) return out;
          session.tls_started();
          continue;
        default:
          return out;
      }
    }
  }

  std::string login() { return send("USER user\r\nPASS secret pass\r\n"); }
  bool closed() const { return session.next() == Session::Next::close; }

  FakeBackend& backend;
  Session session;
  std::string greeting;
  int pauses = 0;
  bool complete_handshakes = true;
};

std::string maildrop_total(const FakeBackend& b) {
  std::uint64_t octets = 0;
  for (const auto& body : b.bodies) octets += normalized_size(body);
  return std::to_string(octets);
}

}  // namespace

// ---- helpers

TEST(Pop3Format, LineEndingsAreNormalizedToCrlf) {
  for (const std::string raw : {"", "a", "a\r\n", "a\nb\n", "a\rb\r", "a\r\n\r\nb", "\n\n", "x\r\r\ny", "end"}) {
    const std::string normalized = normalize_line_endings(raw);
    EXPECT_EQ(normalized.size(), normalized_size(raw)) << raw;
    for (std::size_t i = 0; i < normalized.size(); ++i) {
      if (normalized[i] == '\n') {
        EXPECT_TRUE(i > 0 && normalized[i - 1] == '\r') << raw;
      }
      if (normalized[i] == '\r') {
        EXPECT_TRUE(i + 1 < normalized.size() && normalized[i + 1] == '\n') << raw;
      }
    }
    EXPECT_EQ(normalize_line_endings(normalized), normalized) << "idempotent: " << raw;
  }
  EXPECT_EQ(normalize_line_endings("a\nb"), "a\r\nb\r\n");
  EXPECT_EQ(normalize_line_endings("a\rb\r\n"), "a\r\nb\r\n");
  EXPECT_EQ(normalize_line_endings(""), "");
}

TEST(Pop3Format, MultilineResponsesAreByteStuffedAndTerminated) {
  std::string out;
  append_multiline(out, ".a\r\nb.\r\n..\r\n.\r\nlast");
  EXPECT_EQ(out, "..a\r\nb.\r\n...\r\n..\r\nlast\r\n.\r\n");
  out.clear();
  append_multiline(out, "");
  EXPECT_EQ(out, ".\r\n");
  out.clear();
  append_multiline(out, "x\n.y\n");
  EXPECT_EQ(out, "x\r\n..y\r\n.\r\n");
}

// ---- AUTHORIZATION state

TEST(Pop3Session, GreetsAndListsCapabilities) {
  FakeBackend backend;
  Driver d(backend);
  EXPECT_EQ(d.greeting, "+OK Postroom POP3 server ready\r\n");
  EXPECT_EQ(d.send("CAPA\r\n"),
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\n"
            "SASL PLAIN\r\nSTLS\r\nIMPLEMENTATION Postroom\r\n.\r\n");
  d.login();
  const std::string after = d.send("capa\r\n");
  EXPECT_EQ(after.find("USER"), std::string::npos);
  EXPECT_EQ(after.find("STLS"), std::string::npos);
  EXPECT_NE(after.find("UIDL\r\n"), std::string::npos);
}

TEST(Pop3Session, TransactionCommandsNeedALogin) {
  FakeBackend backend;
  SessionLimits limits;
  limits.max_errors = 0;  // more mistakes than the default allows
  Driver d(backend, limits);
  for (const char* command : {"STAT", "LIST", "LIST 1", "UIDL", "TOP 1 0", "RETR 1", "DELE 1", "RSET", "NOOP"})
    EXPECT_EQ(d.send(std::string(command) + "\r\n"), "-ERR log in first\r\n") << command;
  EXPECT_EQ(d.send("APOP user 0123456789abcdef\r\n"), "-ERR APOP not supported, use USER and PASS\r\n");
  EXPECT_EQ(d.send("XYZZY\r\n"), "-ERR unknown command\r\n");
  EXPECT_EQ(backend.opens, 0);
}

TEST(Pop3Session, UserAndPassOpenTheMaildrop) {
  FakeBackend backend;
  Driver d(backend);
  EXPECT_EQ(d.send("PASS secret pass\r\n"), "-ERR send USER first\r\n");
  EXPECT_EQ(d.send("USER\r\n"), "-ERR syntax: USER name\r\n");
  EXPECT_EQ(d.send("user user\r\n"), "+OK send PASS\r\n");
  EXPECT_EQ(d.send("pass secret pass\r\n"), "+OK maildrop has 3 messages (" + maildrop_total(backend) + " octets)\r\n");
  EXPECT_EQ(d.session.state(), Session::State::transaction);
  ASSERT_EQ(backend.attempts.size(), 1u);
  EXPECT_EQ(backend.attempts[0].password, "secret pass");  // the rest of the line, spaces included
  EXPECT_EQ(backend.attempts[0].mechanism, LoginMechanism::user_pass);
  EXPECT_EQ(backend.attempts[0].client_ip, "127.0.0.1");
  EXPECT_FALSE(backend.attempts[0].tls);
}

TEST(Pop3Session, PassMustFollowUserDirectly) {
  FakeBackend backend;
  Driver d(backend);
  d.send("USER user\r\n");
  d.send("CAPA\r\n");
  EXPECT_EQ(d.send("PASS secret pass\r\n"), "-ERR send USER first\r\n");
}

TEST(Pop3Session, LoginCommandsAreRefusedOnceLoggedIn) {
  FakeBackend backend;
  Driver d(backend);
  d.login();
  for (const char* command : {"USER user", "PASS x", "APOP a b", "AUTH PLAIN", "STLS"})
    EXPECT_EQ(d.send(std::string(command) + "\r\n"), "-ERR already logged in\r\n") << command;
  EXPECT_EQ(d.send("BOGUS\r\n"), "-ERR unknown command\r\n");
}

TEST(Pop3Session, FailedLoginsArePausedThenTheConnectionCloses) {
  FakeBackend backend;
  Driver d(backend);
  EXPECT_EQ(d.send("USER user\r\nPASS wrong\r\n"), "+OK send PASS\r\n-ERR [AUTH] invalid login or password\r\n");
  EXPECT_EQ(d.pauses, 1);
  EXPECT_FALSE(d.closed());
  EXPECT_EQ(d.send("USER nobody\r\nPASS secret pass\r\n"),
            "+OK send PASS\r\n-ERR [AUTH] invalid login or password\r\n");
  EXPECT_FALSE(d.closed());
  EXPECT_EQ(d.send("USER user\r\nPASS nope\r\nUSER user\r\n"),
            "+OK send PASS\r\n-ERR [AUTH] invalid login or password\r\n");
  EXPECT_EQ(d.pauses, 3);
  EXPECT_TRUE(d.closed());
  EXPECT_EQ(d.send("USER user\r\n"), "");
}

TEST(Pop3Session, TheSessionSurvivesAFailedLogin) {
  FakeBackend backend;
  Driver d(backend);
  d.send("USER user\r\nPASS wrong\r\n");
  EXPECT_EQ(d.login(), "+OK send PASS\r\n+OK maildrop has 3 messages (" + maildrop_total(backend) + " octets)\r\n");
}

TEST(Pop3Session, ASecondSessionGetsInUse) {
  FakeBackend backend;
  Driver first(backend);
  first.login();
  Driver second(backend);
  EXPECT_EQ(second.login(), "+OK send PASS\r\n-ERR [IN-USE] this sandbox is open in another POP3 session\r\n");
  EXPECT_EQ(second.pauses, 0);  // the credentials were right
  EXPECT_EQ(first.send("QUIT\r\n"), "+OK Postroom POP3 server signing off (3 messages left)\r\n");
  EXPECT_FALSE(backend.locked);
  EXPECT_EQ(second.login(),
            "+OK send PASS\r\n+OK maildrop has 3 messages (" + maildrop_total(backend) + " octets)\r\n");
}

TEST(Pop3Session, StorageFailuresAreTemporary) {
  FakeBackend backend;
  backend.fail_open = true;
  Driver d(backend);
  EXPECT_EQ(d.login(), "+OK send PASS\r\n-ERR [SYS/TEMP] unable to open the maildrop, try again later\r\n");
  EXPECT_FALSE(d.closed());
}

TEST(Pop3Session, AuthPlainWithAndWithoutInitialResponse) {
  FakeBackend backend;
  {
    Driver d(backend);
    EXPECT_EQ(d.send("AUTH\r\n"), "+OK SASL mechanisms follow\r\nPLAIN\r\n.\r\n");
    EXPECT_EQ(d.send("AUTH LOGIN\r\n"), "-ERR unsupported authentication mechanism\r\n");
    const std::string response = smtp::base64_encode(std::string("\0user\0secret pass", 17));
    EXPECT_EQ(d.send("AUTH PLAIN " + response + "\r\n"),
              "+OK maildrop has 3 messages (" + maildrop_total(backend) + " octets)\r\n");
    EXPECT_EQ(backend.attempts.back().mechanism, LoginMechanism::sasl_plain);
  }
  {
    Driver d(backend);
    EXPECT_EQ(d.send("AUTH PLAIN\r\n"), "+ \r\n");
    EXPECT_EQ(d.send("*\r\n"), "-ERR authentication cancelled\r\n");
    EXPECT_EQ(d.send("AUTH PLAIN\r\n"), "+ \r\n");
    EXPECT_EQ(d.send("not base64!\r\n"), "-ERR invalid base64 in AUTH PLAIN response\r\n");
    // Acting as someone else is refused like a wrong password.
    const std::string other = smtp::base64_encode(std::string("admin\0user\0secret pass", 22));
    EXPECT_EQ(d.send("AUTH PLAIN " + other + "\r\n"), "-ERR [AUTH] invalid login or password\r\n");
    EXPECT_EQ(d.pauses, 1);
    const std::string same = smtp::base64_encode(std::string("user\0user\0secret pass", 21));
    EXPECT_EQ(d.send("AUTH PLAIN\r\n" + same + "\r\n"),
              "+ \r\n+OK maildrop has 3 messages (" + maildrop_total(backend) + " octets)\r\n");
  }
}

TEST(Pop3Session, StlsUpgradesAndDiscardsWhatWasPipelinedBeforeIt) {
  FakeBackend backend;
  Driver d(backend);
  d.complete_handshakes = false;
  EXPECT_EQ(d.send("STLS\r\nUSER injected\r\n"), "+OK Begin TLS negotiation\r\n");
  EXPECT_EQ(d.session.next(), Session::Next::start_tls);
  d.session.tls_started();
  EXPECT_TRUE(d.session.tls_active());
  EXPECT_EQ(d.send("PASS secret pass\r\n"), "-ERR send USER first\r\n");  // the injected USER is gone
  EXPECT_EQ(d.send("CAPA\r\n").find("STLS"), std::string::npos);
  EXPECT_EQ(d.send("STLS\r\n"), "-ERR command not permitted when TLS active\r\n");
  d.login();
  EXPECT_TRUE(backend.attempts.back().tls);
}

TEST(Pop3Session, StlsIsOnlyOfferedWhereTlsIsPossible) {
  FakeBackend backend;
  Driver plain(backend, {}, ListenerMode::plain, false);
  EXPECT_EQ(plain.send("CAPA\r\n").find("STLS"), std::string::npos);
  EXPECT_EQ(plain.send("STLS\r\n"), "-ERR STLS not available\r\n");
  Driver implicit(backend, {}, ListenerMode::implicit_tls, true);
  EXPECT_TRUE(implicit.session.tls_active());
  EXPECT_EQ(implicit.send("STLS\r\n"), "-ERR command not permitted when TLS active\r\n");
}

TEST(Pop3Session, LoginCanBeRestrictedToTls) {
  FakeBackend backend;
  SessionLimits limits;
  limits.login_requires_tls = true;
  Driver d(backend, limits);
  const std::string capa = d.send("CAPA\r\n");
  EXPECT_EQ(capa.find("USER"), std::string::npos);
  EXPECT_NE(capa.find("STLS"), std::string::npos);
  const std::string refusal =
      "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections, use STLS first\r\n";
  EXPECT_EQ(d.send("USER user\r\n"), refusal);
  EXPECT_EQ(d.send("AUTH PLAIN\r\n"), refusal);
  EXPECT_EQ(d.send("STLS\r\n"), "+OK Begin TLS negotiation\r\n");
  EXPECT_EQ(d.login(), "+OK send PASS\r\n+OK maildrop has 3 messages (" + maildrop_total(backend) + " octets)\r\n");
}

// ---- TRANSACTION state

TEST(Pop3Session, StatListAndUidl) {
  FakeBackend backend;
  Driver d(backend);
  d.login();
  const auto s0 = std::to_string(normalized_size(backend.bodies[0]));
  const auto s1 = std::to_string(normalized_size(backend.bodies[1]));
  const auto s2 = std::to_string(normalized_size(backend.bodies[2]));
  EXPECT_EQ(d.send("STAT\r\n"), "+OK 3 " + maildrop_total(backend) + "\r\n");
  EXPECT_EQ(d.send("LIST\r\n"), "+OK 3 messages (" + maildrop_total(backend) + " octets)\r\n1 " + s0 + "\r\n2 " + s1 +
                                    "\r\n3 " + s2 + "\r\n.\r\n");
  EXPECT_EQ(d.send("LIST 2\r\n"), "+OK 2 " + s1 + "\r\n");
  EXPECT_EQ(d.send("UIDL\r\n"), "+OK unique-id listing follows\r\n1 uid-10\r\n2 uid-11\r\n3 uid-12\r\n.\r\n");
  EXPECT_EQ(d.send("UIDL 3\r\n"), "+OK 3 uid-12\r\n");
  EXPECT_EQ(d.send("NOOP\r\n"), "+OK\r\n");
  EXPECT_EQ(d.send("STAT 1\r\n"), "-ERR syntax: STAT\r\n");
}

TEST(Pop3Session, OutOfRangeAndMalformedNumbers) {
  FakeBackend backend;
  Driver d(backend);
  d.login();
  const std::string none = "-ERR no such message, only 3 messages in maildrop\r\n";
  for (const char* command : {"LIST 0", "LIST 4", "UIDL 99", "RETR 4", "TOP 4 0", "DELE 0", "RETR 99999999999999999"})
    EXPECT_EQ(d.send(std::string(command) + "\r\n"), none) << command;
  for (const char* command : {"LIST x", "RETR -1", "DELE 1.5", "UIDL 1a", "RETR 999999999999999999999"})
    EXPECT_EQ(d.send(std::string(command) + "\r\n"), "-ERR invalid message number\r\n") << command;
  EXPECT_EQ(d.send("RETR\r\n"), "-ERR syntax: RETR msg\r\n");
  EXPECT_EQ(d.send("TOP 1\r\n"), "-ERR syntax: TOP msg n\r\n");
  EXPECT_EQ(d.send("TOP 1 x\r\n"), "-ERR invalid number of lines\r\n");
  EXPECT_EQ(d.send("LIST 1 2\r\n"), "-ERR syntax: LIST [msg]\r\n");
}

TEST(Pop3Session, RetrSendsTheMessageByteStuffed) {
  FakeBackend backend;
  backend.bodies.push_back("Subject: bare\nX: y\n\nline\n.\nno final newline");
  Driver d(backend);
  d.login();
  EXPECT_EQ(d.send("RETR 3\r\n"), "+OK " + std::to_string(normalized_size(backend.bodies[2])) +
                                      " octets\r\nSubject: three\r\n\r\n..hidden\r\n...double\r\nend.\r\n.\r\n");
  const std::string bare = "Subject: bare\r\nX: y\r\n\r\nline\r\n.\r\nno final newline\r\n";
  const std::string listed = d.send("LIST 4\r\n");
  EXPECT_EQ(listed, "+OK 4 " + std::to_string(bare.size()) + "\r\n");
  EXPECT_EQ(d.send("RETR 4\r\n"),
            "+OK " + std::to_string(bare.size()) +
                " octets\r\nSubject: bare\r\nX: y\r\n\r\nline\r\n..\r\nno final newline\r\n.\r\n");
  EXPECT_EQ(backend.retrieved, (std::vector<std::size_t>{2, 3}));
}

TEST(Pop3Session, AnEmptyMessageIsJustTheTerminator) {
  FakeBackend backend;
  backend.bodies = {""};
  Driver d(backend);
  d.login();
  EXPECT_EQ(d.send("LIST 1\r\n"), "+OK 1 0\r\n");
  EXPECT_EQ(d.send("RETR 1\r\n"), "+OK 0 octets\r\n.\r\n");
  EXPECT_EQ(d.send("TOP 1 0\r\n"), "+OK top of message follows\r\n.\r\n");
}

TEST(Pop3Session, TopSendsHeadersAndTheFirstLines) {
  FakeBackend backend;
  backend.bodies.push_back("Subject: no body\r\nX: 1\r\n");
  backend.bodies.push_back("\r\nbody only\r\n");
  Driver d(backend);
  d.login();
  const std::string head = "+OK top of message follows\r\nSubject: two\r\nX-A: b\r\n\r\n";
  EXPECT_EQ(d.send("TOP 2 0\r\n"), head + ".\r\n");
  EXPECT_EQ(d.send("TOP 2 1\r\n"), head + "l1\r\n.\r\n");
  EXPECT_EQ(d.send("TOP 2 2\r\n"), head + "l1\r\nl2\r\n.\r\n");
  EXPECT_EQ(d.send("TOP 2 100\r\n"), head + "l1\r\nl2\r\nl3\r\n.\r\n");
  EXPECT_EQ(d.send("TOP 2 99999999999999999999999\r\n"), head + "l1\r\nl2\r\nl3\r\n.\r\n");
  EXPECT_EQ(d.send("TOP 3 1\r\n"), "+OK top of message follows\r\nSubject: three\r\n\r\n..hidden\r\n.\r\n");
  EXPECT_EQ(d.send("TOP 4 0\r\n"), "+OK top of message follows\r\nSubject: no body\r\nX: 1\r\n.\r\n");
  EXPECT_EQ(d.send("TOP 5 0\r\n"), "+OK top of message follows\r\n\r\n.\r\n");
  EXPECT_TRUE(backend.retrieved.empty()) << "TOP does not mark a message read";
}

TEST(Pop3Session, DeletedMessagesAreHiddenUntilRset) {
  FakeBackend backend;
  Driver d(backend);
  d.login();
  const auto s1 = normalized_size(backend.bodies[1]);
  EXPECT_EQ(d.send("DELE 2\r\n"), "+OK message 2 deleted\r\n");
  const std::string gone = "-ERR message 2 already deleted\r\n";
  for (const char* command : {"DELE 2", "RETR 2", "TOP 2 0", "LIST 2", "UIDL 2"})
    EXPECT_EQ(d.send(std::string(command) + "\r\n"), gone) << command;
  const std::uint64_t left = std::stoull(maildrop_total(backend)) - s1;
  EXPECT_EQ(d.send("STAT\r\n"), "+OK 2 " + std::to_string(left) + "\r\n");
  const std::string list = d.send("LIST\r\n");
  EXPECT_TRUE(list.starts_with("+OK 2 messages (" + std::to_string(left) + " octets)\r\n1 ")) << list;
  EXPECT_EQ(list.find("\r\n2 "), std::string::npos);
  EXPECT_EQ(d.send("UIDL\r\n").find("uid-11"), std::string::npos);
  EXPECT_EQ(d.send("RSET\r\n"), "+OK maildrop has 3 messages (" + maildrop_total(backend) + " octets)\r\n");
  EXPECT_EQ(d.send("LIST 2\r\n"), "+OK 2 " + std::to_string(s1) + "\r\n");
  EXPECT_EQ(d.send("QUIT\r\n"), "+OK Postroom POP3 server signing off (3 messages left)\r\n");
  EXPECT_TRUE(backend.removals.empty());
}

TEST(Pop3Session, QuitAppliesTheDeletions) {
  FakeBackend backend;
  Driver d(backend);
  d.login();
  d.send("DELE 3\r\nDELE 1\r\n");
  EXPECT_EQ(d.send("QUIT\r\n"), "+OK Postroom POP3 server signing off (1 message left)\r\n");
  EXPECT_TRUE(d.closed());
  ASSERT_EQ(backend.removals.size(), 1u);
  EXPECT_EQ(backend.removals[0], (std::vector<std::size_t>{0, 2}));
  EXPECT_FALSE(backend.locked);
}

TEST(Pop3Session, DeletingEverythingEmptiesTheMaildrop) {
  FakeBackend backend;
  Driver d(backend);
  d.login();
  EXPECT_EQ(d.send("DELE 1\r\nDELE 2\r\nDELE 3\r\nQUIT\r\n"),
            "+OK message 1 deleted\r\n+OK message 2 deleted\r\n+OK message 3 deleted\r\n"
            "+OK Postroom POP3 server signing off (maildrop empty)\r\n");
}

TEST(Pop3Session, AFailedUpdateIsReported) {
  FakeBackend backend;
  backend.fail_remove = true;
  Driver d(backend);
  d.login();
  EXPECT_EQ(d.send("DELE 1\r\nQUIT\r\n"), "+OK message 1 deleted\r\n-ERR some deleted messages not removed\r\n");
  EXPECT_TRUE(d.closed());
}

TEST(Pop3Session, WithoutQuitNothingIsDeleted) {
  FakeBackend backend;
  {
    Driver d(backend);
    d.login();
    d.send("DELE 1\r\n");
    d.session.disconnected();
    EXPECT_FALSE(backend.locked) << "the maildrop lock goes with the connection";
  }
  {
    Driver d(backend);
    d.login();
    d.send("DELE 1\r\n");
    d.session.timeout();
    EXPECT_EQ(d.session.take_output(), "-ERR disconnected for inactivity\r\n");
    EXPECT_TRUE(d.closed());
  }
  {
    Driver d(backend);
    d.login();
    d.send("DELE 1\r\n");
    d.session.shutdown();
    EXPECT_EQ(d.session.take_output(), "-ERR [SYS/TEMP] server shutting down\r\n");
    EXPECT_TRUE(d.closed());
  }
  EXPECT_TRUE(backend.removals.empty());
  EXPECT_FALSE(backend.locked);
}

TEST(Pop3Session, AVanishedMessageIsReported) {
  FakeBackend backend;
  backend.vanished = {1};
  Driver d(backend);
  d.login();
  EXPECT_EQ(d.send("RETR 2\r\n"), "-ERR message 2 is no longer available\r\n");
  EXPECT_EQ(d.send("RETR 1\r\n").substr(0, 4), "+OK ");
}

TEST(Pop3Session, PipelinedCommandsAreAnsweredInOrder) {
  FakeBackend backend;
  const std::string script =
      "CAPA\r\nUSER user\r\nPASS secret pass\r\nSTAT\r\nRETR 1\r\nTOP 2 0\r\nDELE 1\r\nLIST\r\nUIDL 2\r\nQUIT\r\n";
  Pop3Stats stats;
  Driver whole(backend, {}, ListenerMode::stls, true, &stats);
  const std::string expected = whole.send(script);
  EXPECT_TRUE(whole.closed());
  EXPECT_EQ(stats.logins_succeeded.load(), 1u);
  EXPECT_EQ(stats.messages_retrieved.load(), 1u);
  EXPECT_EQ(stats.messages_deleted.load(), 1u);
  EXPECT_NE(expected.find("+OK maildrop has 3 messages"), std::string::npos);
  EXPECT_TRUE(expected.ends_with("+OK Postroom POP3 server signing off (2 messages left)\r\n")) << expected;
  // The same bytes one at a time give the same answer.
  Driver bytewise(backend);
  std::string out;
  for (char c : script) out += bytewise.send(std::string(1, c));
  EXPECT_EQ(out, expected);
}

TEST(Pop3Session, CommandLinesAreLimitedTo255Octets) {
  FakeBackend backend;
  Driver d(backend);
  const std::string longest = "USER " + std::string(255 - 5 - 2, 'u') + "\r\n";
  ASSERT_EQ(longest.size(), 255u);
  EXPECT_EQ(d.send(longest), "+OK send PASS\r\n");
  EXPECT_EQ(d.send("USER " + std::string(255 - 5 - 1, 'u') + "\r\n"), "-ERR line too long\r\n");
  // A line without an end is dropped as it arrives, and answered once it ends.
  EXPECT_EQ(d.send(std::string(10000, 'x')), "");
  EXPECT_EQ(d.send(std::string(10000, 'x') + "\r\nNOOP\r\n"), "-ERR line too long\r\n-ERR log in first\r\n");
  EXPECT_EQ(d.send("US\0R x\r\n"), "");  // std::string_view stops at the NUL: nothing complete yet
  EXPECT_EQ(d.send(std::string("US\0R x\r\n", 8)), "-ERR bad character in command\r\n");
}

TEST(Pop3Session, TooManyErrorsCloseTheConnection) {
  FakeBackend backend;
  Driver d(backend);
  for (int i = 1; i < 10; ++i) EXPECT_EQ(d.send("BAD\r\n"), "-ERR unknown command\r\n");
  EXPECT_EQ(d.send("BAD\r\nNOOP\r\n"), "-ERR too many errors, closing connection\r\n");
  EXPECT_TRUE(d.closed());
}

TEST(Pop3Session, QuitBeforeLoginJustSignsOff) {
  FakeBackend backend;
  Driver d(backend);
  EXPECT_EQ(d.send("QUIT\r\nUSER user\r\n"), "+OK Postroom POP3 server signing off\r\n");
  EXPECT_TRUE(d.closed());
  EXPECT_EQ(backend.opens, 0);
}

TEST(Pop3Session, ShutdownWaitsForTheBackendCallInFlight) {
  FakeBackend backend;
  Driver d(backend);
  d.session.receive("USER user\r\nPASS secret pass\r\n");
  ASSERT_EQ(d.session.next(), Session::Next::backend);
  EXPECT_FALSE(d.session.idle());
  d.session.shutdown();
  EXPECT_FALSE(d.closed());
  d.session.run_backend(backend);
  d.session.backend_done();
  EXPECT_TRUE(d.session.take_output().ends_with("-ERR [SYS/TEMP] server shutting down\r\n"));
  EXPECT_TRUE(d.closed());
  EXPECT_FALSE(backend.locked);
}

// ---- the sandbox behind it, on both storage backends

class Pop3MailboxTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db = test_support::make_database(GetParam());
    accounts = std::make_unique<accounts::AccountsService>(*db, clock);
    boot = accounts->bootstrap("admin@example.test");
    inboxes = std::make_unique<sandbox::InboxesService>(*db, clock, config);
    messages = std::make_unique<sandbox::MessagesService>(*db, clock, config.sandbox, config.plans, events);
    mailbox = std::make_unique<sandbox::Pop3Mailbox>(*db, *inboxes, *messages, clock, GetParam() == "sqlite");
  }

  std::int64_t capture(std::int64_t inbox_id, const std::string& raw) {
    return messages->capture(*messages->target_for(inbox_id), raw, sandbox::Envelope{});
  }

  LoginResult open(const std::string& user, const std::string& password) {
    return mailbox->open(LoginAttempt{LoginMechanism::user_pass, user, password, false, "127.0.0.1"});
  }

  LoginResult open_bootstrap() { return open(*boot.smtp_username, *boot.smtp_password); }

  ManualClock clock{1'780'000'000};
  Config config;
  sandbox::EventHub events;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<accounts::AccountsService> accounts;
  accounts::BootstrapResult boot;
  std::unique_ptr<sandbox::InboxesService> inboxes;
  std::unique_ptr<sandbox::MessagesService> messages;
  std::unique_ptr<sandbox::Pop3Mailbox> mailbox;
};

TEST_P(Pop3MailboxTest, TheSandboxCredentialsOpenIt) {
  EXPECT_EQ(open(*boot.smtp_username, "wrong").status, LoginStatus::invalid);
  EXPECT_EQ(open("nobody", *boot.smtp_password).status, LoginStatus::invalid);
  EXPECT_EQ(open("", "").status, LoginStatus::invalid);
  const auto opened = open_bootstrap();
  ASSERT_EQ(opened.status, LoginStatus::ok);
  EXPECT_TRUE(opened.maildrop->messages().empty());
}

TEST_P(Pop3MailboxTest, TheMaildropIsASnapshotInArrivalOrderWithServedSizes) {
  const std::int64_t inbox = *boot.inbox_id;
  const std::string crlf = "Subject: first\r\n\r\nhello\r\n";
  const std::string bare_lf = "Subject: second\n\nbare\nline endings";
  const std::int64_t first = capture(inbox, crlf);
  const std::int64_t second = capture(inbox, bare_lf);
  auto opened = open_bootstrap();
  ASSERT_EQ(opened.status, LoginStatus::ok);
  capture(inbox, "Subject: later\r\n\r\nafter the login\r\n");
  Maildrop& drop = *opened.maildrop;
  ASSERT_EQ(drop.messages().size(), 2u) << "a message captured after the login waits for the next one";
  EXPECT_EQ(drop.messages()[0].uid, std::to_string(first));
  EXPECT_EQ(drop.messages()[1].uid, std::to_string(second));
  EXPECT_EQ(drop.messages()[0].size, crlf.size());
  for (std::size_t i = 0; i < 2; ++i) {
    const auto content = drop.content(i);
    ASSERT_TRUE(content);
    EXPECT_EQ(content->size(), drop.messages()[i].size);
  }
  EXPECT_EQ(*drop.content(1), "Subject: second\r\n\r\nbare\r\nline endings\r\n");
  // Sizes come from the cache the second time; they must not change.
  opened = LoginResult{};
  const auto again = open_bootstrap();
  ASSERT_EQ(again.maildrop->messages().size(), 3u);
  EXPECT_EQ(again.maildrop->messages()[1].size, normalized_size(bare_lf));
}

TEST_P(Pop3MailboxTest, OneSessionPerSandbox) {
  auto first = open_bootstrap();
  ASSERT_EQ(first.status, LoginStatus::ok);
  EXPECT_TRUE(mailbox->is_open(*boot.inbox_id));
  EXPECT_EQ(open_bootstrap().status, LoginStatus::in_use);
  first.maildrop.reset();
  EXPECT_FALSE(mailbox->is_open(*boot.inbox_id));
  EXPECT_EQ(open_bootstrap().status, LoginStatus::ok);
}

TEST_P(Pop3MailboxTest, RetrievedMessagesAreMarkedRead) {
  const std::int64_t inbox = *boot.inbox_id;
  const std::int64_t id = capture(inbox, "Subject: unread\r\n\r\nx\r\n");
  auto opened = open_bootstrap();
  ASSERT_TRUE(opened.maildrop->content(0));
  opened.maildrop->retrieved(0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!messages->get(boot.account_id, inbox, id).is_read && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(messages->get(boot.account_id, inbox, id).is_read);
}

TEST_P(Pop3MailboxTest, RemoveDeletesInOneGoAndToleratesVanishedMessages) {
  const std::int64_t inbox = *boot.inbox_id;
  const std::int64_t a = capture(inbox, "Subject: a\r\n\r\na\r\n");
  const std::int64_t b = capture(inbox, "Subject: b\r\n\r\nb\r\n");
  const std::int64_t c = capture(inbox, "Subject: c\r\n\r\nc\r\n");
  auto opened = open_bootstrap();
  messages->remove(boot.account_id, inbox, b);  // through the API, during the session
  EXPECT_FALSE(opened.maildrop->content(1)) << "a message deleted elsewhere is gone";
  std::vector<std::int64_t> deleted_events;
  const auto subscription = events.subscribe([&](const sandbox::SandboxEvent& e) {
    if (e.type == sandbox::SandboxEvent::Type::message_deleted) deleted_events.push_back(e.message_id);
  });
  EXPECT_TRUE(opened.maildrop->remove({0, 1}));
  events.unsubscribe(subscription);
  EXPECT_EQ(deleted_events, std::vector<std::int64_t>{a});
  const auto left = messages->list(boot.account_id, inbox, "", std::nullopt, std::nullopt);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, c);
}

TEST_P(Pop3MailboxTest, ASandboxShowsOnlyItsOwnMessages) {
  const auto admin = *accounts->authenticate(boot.api_token);
  const auto other = inboxes->create_inbox(admin, boot.account_id, *boot.project_id, "Other");
  const std::int64_t mine = capture(*boot.inbox_id, "Subject: mine\r\n\r\nA\r\n");
  const std::int64_t theirs = capture(other.id, "Subject: theirs\r\n\r\nB\r\n");
  auto a = open_bootstrap();
  ASSERT_EQ(a.maildrop->messages().size(), 1u);
  EXPECT_EQ(a.maildrop->messages()[0].uid, std::to_string(mine));
  auto b = open(other.smtp_username, other.smtp_password);
  ASSERT_EQ(b.status, LoginStatus::ok) << "another sandbox is not locked by the first session";
  ASSERT_EQ(b.maildrop->messages().size(), 1u);
  EXPECT_EQ(b.maildrop->messages()[0].uid, std::to_string(theirs));
  EXPECT_EQ(*b.maildrop->content(0), "Subject: theirs\r\n\r\nB\r\n");
  // Credentials of one sandbox never open the other.
  EXPECT_EQ(open(other.smtp_username, *boot.smtp_password).status, LoginStatus::invalid);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, Pop3MailboxTest, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, Pop3MailboxTest, ::testing::Values("postgres"));
