#pragma once
// The POP3 session state machine: RFC 1939 (USER/PASS, STAT, LIST, UIDL, TOP, RETR, DELE, RSET, NOOP, QUIT),
// CAPA with response codes (RFC 2449, RFC 3206), STLS (RFC 2595) and AUTH PLAIN (RFC 5034). Transport-neutral:
// it consumes received bytes and events and produces reply bytes plus the next thing the transport must do. The
// server and the fuzz target drive this one class.
//
// Driving loop (see server.cpp):
//   session.start();
//   loop: write take_output() unless next() is backend or pause;
//         switch next(): read → receive(bytes) or timeout();  backend → run_backend(b) (on a worker unless the
//         backend runs that call inline), then backend_done();  pause → wait pause_duration(), then resume();
//         start_tls → handshake, then tls_started();  close → close the connection.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pop3/backend.h"

namespace postroom::pop3 {

struct SessionLimits {
  std::string greeting = "Postroom POP3 server ready";
  std::size_t max_command_line = 255;  // octets with CRLF (RFC 2449 4)
  std::size_t max_auth_line = 4096;    // AUTH PLAIN continuation lines (RFC 5034 4)
  int max_errors = 10;                 // unknown or malformed commands, then -ERR and close; 0: unlimited
  int max_login_failures = 3;          // then the connection closes; 0: unlimited
  // Each failed login is answered only after this long, so one connection cannot guess quickly.
  std::chrono::milliseconds login_failure_delay{1000};
  // USER/PASS and AUTH only after STLS (or on an implicit-TLS listener); CAPA then hides them before TLS.
  bool login_requires_tls = false;
};

// Counters shared by all sessions of a server (all atomics, any thread).
struct Pop3Stats {
  std::atomic<std::uint64_t> sessions{0};
  std::atomic<std::uint64_t> sessions_refused{0};
  std::atomic<std::uint64_t> logins_succeeded{0};
  std::atomic<std::uint64_t> logins_failed{0};
  std::atomic<std::uint64_t> messages_retrieved{0};
  std::atomic<std::uint64_t> messages_deleted{0};
  std::atomic<std::uint64_t> tls_started{0};
};

class Session {
 public:
  enum class Next { read, backend, pause, start_tls, close };
  enum class State { authorization, transaction, closed };

  // `tls_available`: STLS may be offered (an stls listener with a TLS context).
  Session(const SessionLimits& limits, ConnectionInfo connection, bool tls_available, Pop3Stats* stats = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Queues the greeting.
  void start();
  // Feeds received bytes. Processing stops at anything that needs the transport (backend, pause, TLS, close);
  // the rest stays buffered and continues after the event.
  void receive(std::string_view bytes);
  // Which backend call run_backend() will make (while next() is Next::backend).
  BackendCall pending_call() const;
  // Performs the pending backend call. May run on another thread while the session is otherwise untouched.
  void run_backend(Backend& backend);
  // Applies the backend result and continues with buffered input. On the session's own thread.
  void backend_done();
  // How long the transport waits (next() is Next::pause) before sending the output and calling resume().
  std::chrono::milliseconds pause_duration() const;
  void resume();
  // The TLS handshake after STLS succeeded: buffered input is dropped (RFC 2595 4).
  void tls_started();
  // The transport's idle deadline passed: -ERR and close, without the UPDATE state.
  void timeout();
  // Server shutdown: -ERR and close now when idle, otherwise once the backend call in flight has finished. No
  // UPDATE state: the client's deletions are not applied.
  void shutdown();
  // The peer closed the connection or the transport failed (no UPDATE state).
  void disconnected();

  std::string take_output();
  bool has_output() const;
  Next next() const;
  State state() const;
  // Waiting for a command with nothing in flight (safe to close).
  bool idle() const;
  bool tls_active() const;
  int errors() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A message as POP3 serves it: every CR, LF and CRLF becomes CRLF, and a non-empty message ends with CRLF.
std::string normalize_line_endings(std::string_view message);
// normalize_line_endings(message).size() without building it.
std::uint64_t normalized_size(std::string_view message);
// Appends `content` as a multi-line response body: line endings normalized, lines starting with '.' byte-stuffed,
// then the terminating ".\r\n" (RFC 1939 3).
void append_multiline(std::string& out, std::string_view content);

}  // namespace postroom::pop3
