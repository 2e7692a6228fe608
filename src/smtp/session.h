#pragma once
// The SMTP session state machine (RFC 5321 with PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES,
// STARTTLS and AUTH PLAIN/LOGIN/CRAM-MD5). Transport-neutral: it consumes received bytes and events and
// produces reply bytes plus the next thing the transport must do. Every listener and the fuzz target drive
// this one class.
//
// Driving loop (see server.cpp):
//   session.start();
//   loop: write take_output();
//         switch next(): read → receive(bytes) or timeout();  backend → run_backend(b) on a worker, then
//         backend_done();  start_tls → handshake, then tls_started();  close → close the connection.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/backend.h"

namespace postroom::smtp {

struct SessionLimits {
  std::string hostname = "localhost";  // greeting, EHLO and 421 replies
  std::string banner = "ESMTP Postroom";
  std::size_t max_command_line = 512;               // octets with CRLF (RFC 5321 4.5.3.1.4)
  std::size_t max_auth_line = 12288;                // AUTH and its responses (RFC 4954 4)
  std::size_t max_text_line = 1000;                 // DATA lines with CRLF (RFC 5321 4.5.3.1.6); 0: unlimited
  std::size_t max_message_size = 25 * 1024 * 1024;  // advertised in SIZE; backends may lower it
  std::size_t max_recipients = 100;
  int max_errors = 10;          // bad commands, then 421 and close; 0: unlimited
  int max_junk_commands = 100;  // NOOP, RSET, VRFY, EXPN, HELP; 0: unlimited
  int max_messages = 0;         // per session; 0: unlimited
};

// Counters shared by all sessions of a server (all atomics, any thread).
struct SmtpStats {
  std::atomic<std::uint64_t> sessions{0};
  std::atomic<std::uint64_t> sessions_refused{0};
  std::atomic<std::uint64_t> messages_accepted{0};
  std::atomic<std::uint64_t> messages_rejected{0};
  std::atomic<std::uint64_t> message_bytes{0};
  std::atomic<std::uint64_t> auth_succeeded{0};
  std::atomic<std::uint64_t> auth_failed{0};
  std::atomic<std::uint64_t> tls_started{0};
  std::array<std::atomic<std::uint64_t>, 6> replies{};  // by first digit 0..5
};

class Session {
 public:
  enum class Next { read, backend, start_tls, close };

  // `tls_available`: STARTTLS may be offered (listener mode starttls and a TLS context exists).
  Session(const SessionLimits& limits, SessionPolicy policy, ConnectionInfo connection, bool tls_available,
          SmtpStats* stats = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Queues the greeting (or the policy's refusal, then close).
  void start();
  // Feeds received bytes. Processing stops at anything that needs the transport (backend, TLS, close); the
  // rest stays buffered and continues after the event.
  void receive(std::string_view bytes);
  // Performs the pending backend call. May run on another thread while the session is otherwise untouched.
  void run_backend(SmtpBackend& backend);
  // Which backend call run_backend() will make (while next() is Next::backend).
  BackendCall pending_call() const;
  // For a pending delivery: hands it to backend.deliver_async(); false when the backend wants the blocking path
  // (then call run_backend()). When true, pass the reply `done` receives to set_backend_reply(), then call
  // backend_done(), on the session's own thread.
  bool deliver_async(SmtpBackend& backend, std::function<void(Reply)> done);
  void set_backend_reply(Reply reply);
  // Applies the backend result and continues with buffered input. On the session's own thread.
  void backend_done();
  // The TLS handshake after STARTTLS succeeded: the session starts over (RFC 3207 4.2).
  void tls_started();
  // The transport's read deadline passed: 421 and close.
  void timeout();
  // Server shutdown: 421 and close now if idle, otherwise once the open transaction ends.
  void shutdown();
  // The peer closed the connection or the transport failed.
  void disconnected();

  std::string take_output();
  bool has_output() const;
  Next next() const;
  // Waiting for a command with no open transaction (safe to close with 421).
  bool idle() const;
  // Receiving message data (the transport uses the DATA timeout).
  bool in_data() const;
  bool tls_active() const;

  // For tests and logs.
  const Transaction& transaction() const;
  int errors() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Base64 (RFC 4648) helpers for AUTH; decode rejects invalid input.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace postroom::smtp
