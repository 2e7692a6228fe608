#pragma once
// The seam between the POP3 server (protocol, limits, TLS) and the mailboxes it serves. The server owns the
// protocol (RFC 1939, CAPA, STLS, AUTH PLAIN); the backend decides who may log in and what a maildrop holds.
//
// Threading: open() and Maildrop::remove() run on a worker thread unless runs_inline() says the call is quick;
// calls for one session never overlap, and the session waits for each. A Maildrop is destroyed on an I/O thread
// when its session ends, so its destructor (which releases the maildrop lock) must not block.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace postroom::pop3 {

enum class ListenerMode { plain, stls, implicit_tls };

// The connection as the server sees it.
struct ConnectionInfo {
  std::string listener;  // the listener's name from ServerOptions (e.g. "sandbox")
  std::string client_ip;
  std::uint16_t client_port = 0;
  ListenerMode mode = ListenerMode::plain;
};

enum class LoginMechanism { user_pass, sasl_plain };

struct LoginAttempt {
  LoginMechanism mechanism = LoginMechanism::user_pass;
  std::string username;
  std::string password;
  bool tls = false;
  std::string client_ip;
};

// One message of the maildrop as the snapshot taken at login saw it.
struct MaildropMessage {
  std::string uid;         // the UIDL: 1-70 characters 0x21-0x7E, unique in the maildrop, stable across sessions
  std::uint64_t size = 0;  // octets of content() exactly as RETR sends them, before byte-stuffing
};

// An opened, locked maildrop: a snapshot of its messages at login. Messages that arrive later are not part of it
// (the next login sees them).
class Maildrop {
 public:
  virtual ~Maildrop() = default;
  // In maildrop order (message number n is messages()[n - 1]); fixed for the session.
  virtual const std::vector<MaildropMessage>& messages() const = 0;
  // The message's bytes with CRLF line endings, ending in CRLF unless empty: exactly messages()[index].size
  // octets. nullopt when the message is gone since the snapshot (deleted elsewhere). Throws on storage errors.
  virtual std::optional<std::string> content(std::size_t index) = 0;
  // RETR sent the whole message (the sandbox marks it read). Must not block.
  virtual void retrieved(std::size_t index) {}
  // The UPDATE state: deletes the messages at `indexes` in one transaction. Messages already gone count as
  // deleted. Returns false (or throws) when nothing could be deleted.
  virtual bool remove(const std::vector<std::size_t>& indexes) = 0;
};

enum class LoginStatus {
  ok,           // `maildrop` is set and locked
  invalid,      // wrong user name or password: -ERR [AUTH]
  in_use,       // another session holds the maildrop: -ERR [IN-USE]
  unavailable,  // temporary failure: -ERR [SYS/TEMP]
};

struct LoginResult {
  LoginStatus status = LoginStatus::invalid;
  std::unique_ptr<Maildrop> maildrop;

  static LoginResult refuse(LoginStatus status) { return {status, nullptr}; }
};

enum class BackendCall { open, content, update };

class Backend {
 public:
  virtual ~Backend() = default;
  // Calls for which this returns true never wait on the network or an fsync; the server runs them on the I/O
  // thread.
  virtual bool runs_inline(BackendCall call) const { return false; }
  // Checks the credentials and opens (locks and snapshots) the maildrop.
  virtual LoginResult open(const LoginAttempt& attempt) = 0;
};

}  // namespace postroom::pop3
