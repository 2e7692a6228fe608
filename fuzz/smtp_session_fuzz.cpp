// Feeds arbitrary bytes into the SMTP session state machine, in chunks of varying size, with a fake backend,
// STARTTLS completions, and now and then a shutdown. Input: what a client would send (seeds are transcripts).
// Checks the invariants the server relies on: every reply line is "NNN[ -]…" with no stray CR/LF, a delivered
// message has only CRLF line endings and fits the size limit, and a closed session stays closed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/session.h"

using namespace postroom::smtp;

namespace {

constexpr std::size_t kMaxMessage = 2000;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

struct FuzzBackend : SmtpBackend {
  SessionPolicy session_policy(const ConnectionInfo&) override { return {}; }

  AuthResult authenticate(const AuthAttempt& attempt) override {
    if (attempt.username == "user" && (attempt.password == "pass" || verify_cram_md5(attempt, "pass")))
      return AuthResult::accept();
    return AuthResult::reject({535, "5.7.0", "Invalid login or password"});
  }

  Reply mail_from(Transaction& transaction) override {
    if (transaction.mail_from.local_part == "small") transaction.max_message_size = 50;
    return Reply::ok();
  }

  Reply rcpt_to(Transaction&, const Address& recipient) override {
    if (recipient.local_part == "reject") return {550, "5.1.1", "No such user: " + recipient.text()};
    if (recipient.local_part == "throw") throw std::runtime_error("backend failure");
    return Reply::ok();
  }

  Reply deliver(const Transaction& transaction, std::string message) override {
    const std::size_t limit = transaction.max_message_size ? *transaction.max_message_size : kMaxMessage;
    require(message.size() <= limit);
    require(!transaction.recipients.empty());
    for (std::size_t i = 0; i < message.size(); ++i) {
      if (message[i] == '\n') require(i > 0 && message[i - 1] == '\r');
      if (message[i] == '\r') require(i + 1 < message.size() && message[i + 1] == '\n');
    }
    require(message.empty() || message.ends_with("\r\n"));
    return Reply::ok();
  }
};

void check_replies(const std::string& output) {
  std::size_t start = 0;
  while (start < output.size()) {
    const auto end = output.find("\r\n", start);
    require(end != std::string::npos);
    const std::string_view line(output.data() + start, end - start);
    require(line.size() >= 4);
    for (int i = 0; i < 3; ++i)
      require(line[static_cast<std::size_t>(i)] >= '0' && line[static_cast<std::size_t>(i)] <= '9');
    require(line[3] == ' ' || line[3] == '-');
    for (char c : line) require(c != '\r' && c != '\n');
    start = end + 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  SessionLimits limits;
  limits.hostname = "fuzz.test";
  limits.max_message_size = kMaxMessage;
  limits.max_text_line = 200;
  limits.max_recipients = 3;
  limits.max_errors = 30;
  FuzzBackend backend;
  ConnectionInfo info;
  info.mode = ListenerMode::starttls;
  SessionPolicy policy;
  policy.auth_required = (size % 2) == 0;  // both policies, chosen by the input
  Session session(limits, policy, info, true);
  session.start();
  check_replies(session.take_output());

  // A small deterministic generator picks chunk sizes, so one input is always replayed the same way.
  std::uint32_t state = static_cast<std::uint32_t>(size) * 2654435761u + 1;
  auto random = [&state] {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t position = 0;
  bool shut_down = false;
  while (position < input.size()) {
    if (session.next() == Session::Next::close) break;
    const std::size_t chunk = 1 + random() % 97;
    session.receive(input.substr(position, chunk));
    position += chunk;
    while (true) {
      check_replies(session.take_output());
      const auto next = session.next();
      if (next == Session::Next::backend) {
        session.run_backend(backend);
        session.backend_done();
      } else if (next == Session::Next::start_tls) {
        session.tls_started();
      } else {
        break;
      }
    }
    if (!shut_down && random() % 499 == 0) {
      shut_down = true;
      session.shutdown();
      check_replies(session.take_output());
    }
  }
  if (session.next() == Session::Next::close) {
    session.receive("NOOP\r\n");
    require(!session.has_output());
  }
  session.timeout();
  check_replies(session.take_output());
  return 0;
}
