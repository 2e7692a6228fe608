// Feeds arbitrary bytes into the POP3 session state machine, in chunks of varying size, with an in-memory maildrop
// (messages with leading dots, bare CR/LF, no final newline, an empty one, one that cannot be read), STLS
// completions, and now and then a shutdown. Input: what a client would send (seeds are transcripts).
// Checks the invariants clients rely on: the output is CRLF lines only; every response starts with +OK, -ERR or
// "+ "; multi-line responses are byte-stuffed and terminated; a RETR body has exactly the octets its status line
// announces; deletions reach the maildrop only at QUIT, once, with valid numbers; the maildrop lock is released
// when the session ends; a closed session stays closed.
#include <cstddef>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pop3/session.h"

using namespace postroom::pop3;

namespace {

void require(bool condition) {
  if (!condition) __builtin_trap();
}

const std::vector<std::string> kMessages = {
    "Subject: a\r\n\r\nbody\r\n", ".\r\n..\r\n.x\n", "no newline", "", "bare\rcr\nlf\r\n\r\n.end", "unreadable",
};

struct FuzzBackend;

struct FuzzMaildrop : Maildrop {
  FuzzMaildrop(FuzzBackend& b);
  ~FuzzMaildrop() override;
  const std::vector<MaildropMessage>& messages() const override { return list; }
  std::optional<std::string> content(std::size_t index) override {
    require(index < kMessages.size());
    if (index == 5) throw std::runtime_error("storage failure");
    return kMessages[index];  // not normalized: the session must serve it with CRLF anyway
  }
  bool remove(const std::vector<std::size_t>& indexes) override;

  FuzzBackend& backend;
  std::vector<MaildropMessage> list;
};

struct FuzzBackend : Backend {
  bool locked = false;
  int removals = 0;
  LoginResult open(const LoginAttempt& attempt) override {
    if (attempt.username == "boom") throw std::runtime_error("storage failure");
    if (attempt.username != "user" || attempt.password != "pass") return LoginResult::refuse(LoginStatus::invalid);
    if (locked) return LoginResult::refuse(LoginStatus::in_use);
    return {LoginStatus::ok, std::make_unique<FuzzMaildrop>(*this)};
  }
};

FuzzMaildrop::FuzzMaildrop(FuzzBackend& b) : backend(b) {
  require(!backend.locked);
  backend.locked = true;
  for (std::size_t i = 0; i < kMessages.size(); ++i)
    list.push_back({"uid" + std::to_string(i), normalized_size(kMessages[i])});
}

FuzzMaildrop::~FuzzMaildrop() { backend.locked = false; }

bool FuzzMaildrop::remove(const std::vector<std::size_t>& indexes) {
  require(!indexes.empty());
  std::set<std::size_t> unique(indexes.begin(), indexes.end());
  require(unique.size() == indexes.size());
  for (std::size_t i : indexes) require(i < list.size());
  ++backend.removals;
  return indexes.size() != 3;  // sometimes the update fails
}

bool multiline_status(std::string_view line) {
  if (!line.starts_with("+OK")) return false;
  return line == "+OK Capability list follows" || line == "+OK SASL mechanisms follow" ||
         line == "+OK unique-id listing follows" || line == "+OK top of message follows" || line.ends_with(" octets") ||
         line.find(" messages (") != std::string_view::npos || line.find(" message (") != std::string_view::npos;
}

// Parses the whole transcript and checks the framing.
void check_transcript(std::string_view out) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < out.size()) {
    const auto end = out.find("\r\n", start);
    require(end != std::string_view::npos);
    const std::string_view line = out.substr(start, end - start);
    require(line.find('\r') == std::string_view::npos && line.find('\n') == std::string_view::npos);
    lines.push_back(line);
    start = end + 2;
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view status = lines[i];
    require(status.starts_with("+OK") || status.starts_with("-ERR ") || status == "+ ");
    // "+OK maildrop has …" answers PASS and RSET: one line.
    if (!multiline_status(status) || status.starts_with("+OK maildrop has")) continue;
    std::uint64_t octets = 0;
    bool terminated = false;
    for (++i; i < lines.size(); ++i) {
      const std::string_view line = lines[i];
      if (line == ".") {
        terminated = true;
        break;
      }
      if (line.starts_with(".")) require(line.starts_with(".."));  // byte-stuffed
      octets += line.size() + 2 - (line.starts_with(".") ? 1 : 0);
    }
    require(terminated);
    if (status.ends_with(" octets") && status.find("messages (") == std::string_view::npos &&
        status.find("message (") == std::string_view::npos) {
      const std::string announced(status.substr(4, status.size() - 4 - 7));
      require(std::stoull(announced) == octets);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  SessionLimits limits;
  limits.max_errors = 40;
  limits.login_requires_tls = (size % 3) == 0;  // both policies, chosen by the input
  FuzzBackend backend;
  std::string transcript;
  {
    Session session(limits, ConnectionInfo{"fuzz", "127.0.0.1", 1, ListenerMode::stls}, true);
    session.start();
    transcript += session.take_output();

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
        transcript += session.take_output();
        const auto next = session.next();
        if (next == Session::Next::backend) {
          const int removals_before = backend.removals;
          session.run_backend(backend);
          session.backend_done();
          if (backend.removals != removals_before) require(session.next() == Session::Next::close);
        } else if (next == Session::Next::pause) {
          session.resume();
        } else if (next == Session::Next::start_tls) {
          session.tls_started();
        } else {
          break;
        }
      }
      if (!shut_down && random() % 499 == 0) {
        shut_down = true;
        session.shutdown();
        transcript += session.take_output();
      }
    }
    if (session.next() == Session::Next::close) {
      require(!backend.locked);
      session.receive("NOOP\r\n");
      require(!session.has_output());
    }
    session.timeout();
    transcript += session.take_output();
    require(session.next() == Session::Next::close);
    require(!backend.locked);
  }
  require(backend.removals <= 1);
  check_transcript(transcript);
  return 0;
}
