#pragma once
// The seam between the SMTP server (protocol, limits, TLS) and what a listener is for (sandbox capture,
// submission, inbound bounces). The server owns the protocol; the backend owns every policy decision:
// who may log in, which senders and recipients are accepted, how large a message may be, where it goes.
//
// Threading: every virtual call except session_policy() and runs_inline() runs on a worker thread, off the I/O
// threads, and the session waits for it, so a backend may block (a storage commit, a lookup) — unless the
// backend's runs_inline() says that call is quick. Calls for different sessions run concurrently (which lets the
// storage group their commits); calls for one session never overlap.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::smtp {

// An SMTP reply. The server writes `code`, the enhanced status code when present, then `text`. Text is
// sanitized before it is written: control characters are dropped and '\n' starts a new reply line, so a
// backend may quote client input safely. A positive reply with empty text gets the server's default text.
struct Reply {
  int code = 250;
  std::string enhanced;  // RFC 3463 "x.y.z"; empty: none
  std::string text;

  bool positive() const { return code >= 200 && code < 400; }
  static Reply ok() { return {250, "", ""}; }
  static Reply make(int code, std::string enhanced, std::string text) {
    return {code, std::move(enhanced), std::move(text)};
  }
};

enum class ListenerMode { plain, starttls, implicit_tls };

// The connection as the server sees it.
struct ConnectionInfo {
  std::string listener;  // the listener's name from ServerOptions (e.g. "sandbox")
  std::string client_ip;
  std::uint16_t client_port = 0;
  std::string local_ip;
  std::uint16_t local_port = 0;
  ListenerMode mode = ListenerMode::plain;
};

// Decided once per connection by the backend.
struct SessionPolicy {
  // Offer AUTH at all (an inbound MX would not).
  bool auth_enabled = true;
  // MAIL before a successful AUTH is refused with auth_required_reply.
  bool auth_required = true;
  // Offer and accept AUTH only on TLS (implicit or after STARTTLS).
  bool auth_requires_tls = false;
  // CRAM-MD5 needs the plaintext secret on the server side; offer it only when the backend has one.
  bool offer_cram_md5 = true;
  Reply auth_required_reply{530, "5.7.1", "Authentication required"};
  // Set to a negative reply to refuse the connection at once (e.g. 554 5.7.1 for a blocked network).
  std::optional<Reply> refuse;
};

enum class AuthMechanism { plain, login, cram_md5 };
std::string_view mechanism_name(AuthMechanism mechanism);

struct AuthAttempt {
  AuthMechanism mechanism = AuthMechanism::plain;
  std::string username;          // authentication identity
  std::string password;          // PLAIN and LOGIN; empty for CRAM-MD5
  std::string authorization_id;  // PLAIN's optional authzid; empty when the client sent none
  // CRAM-MD5 only: the challenge the server sent and the client's lowercase hex HMAC-MD5 digest. The backend
  // looks up the user's plaintext secret and calls verify_cram_md5().
  std::string cram_challenge;
  std::string cram_digest;
  bool tls = false;
  std::string client_ip;
};

// Constant-time check of a CRAM-MD5 response against the user's plaintext secret.
bool verify_cram_md5(const AuthAttempt& attempt, std::string_view secret);

struct AuthResult {
  // Accepted when reply.code is 235. Defaults: 235 2.7.0 Authentication successful.
  // Typical refusals: 535 5.7.0 Invalid login or password; 535 5.7.8 Too many connections per account;
  // 454 4.7.0 for a temporary failure.
  Reply reply{535, "5.7.8", "Authentication credentials invalid"};
  // Opaque to the server, kept until the session ends or authenticates again, and handed back in every
  // Transaction. Its destructor runs on an I/O thread when the session ends, so it can release a per-account
  // connection slot; it must not block.
  std::shared_ptr<void> data;

  bool accepted() const { return reply.code == 235; }
  static AuthResult accept(std::shared_ptr<void> data = {}) { return {{235, "", ""}, std::move(data)}; }
  static AuthResult reject(Reply reply) { return {std::move(reply), {}}; }
};

struct Identity {
  std::string username;
  AuthMechanism mechanism = AuthMechanism::plain;
  std::shared_ptr<void> data;  // AuthResult::data
};

struct Address {
  std::string local_part;  // as written; a quoted local part keeps its quotes
  std::string domain;      // as written (compare case-insensitively); "[1.2.3.4]" for literals; empty for <postmaster>
  // local@domain, "postmaster" for the bare special address, "" for the null reverse path <>.
  std::string text() const;
  bool empty() const { return local_part.empty() && domain.empty(); }
};

enum class BodyType { unspecified, seven_bit, eight_bit_mime };

struct MailParameters {
  std::optional<std::uint64_t> size;  // SIZE= declared by the client
  BodyType body = BodyType::unspecified;
  bool smtputf8 = false;
  std::optional<std::string> auth;  // AUTH= (RFC 4954), xtext as sent
};

// One mail transaction, from MAIL to the end of DATA (or RSET). Backends may keep state in `data`.
struct Transaction {
  ConnectionInfo connection;
  std::string helo;  // EHLO/HELO argument as sent (control characters removed)
  bool esmtp = false;
  bool tls = false;  // the connection is encrypted now
  std::optional<Identity> identity;
  Address mail_from;  // empty for the null reverse path
  MailParameters params;
  std::vector<Address> recipients;  // the ones the backend accepted, in order
  // Set by the backend in mail_from() or rcpt_to() to lower the server's message size limit for this
  // transaction (never raises it). Checked against SIZE= and while reading DATA.
  std::optional<std::size_t> max_message_size;
  std::shared_ptr<void> data;  // backend state for this transaction, dropped at RSET or after DATA
};

enum class BackendCall { authenticate, mail_from, rcpt_to, deliver };

class SmtpBackend {
 public:
  virtual ~SmtpBackend() = default;

  // Calls for which this returns true never wait on the network or an fsync (lookups in an embedded database,
  // in-memory checks): the server runs them on the I/O thread and saves two thread hand-offs per command.
  virtual bool runs_inline(BackendCall call) const { return false; }

  // Called on the I/O thread when a connection is accepted; must not block.
  virtual SessionPolicy session_policy(const ConnectionInfo& connection) = 0;

  virtual AuthResult authenticate(const AuthAttempt& attempt) = 0;

  // After the server checked syntax, parameters and the session's state. A positive reply opens the
  // transaction (default text: 250 2.1.0 Ok). Typical refusals: 550 5.7.0 rate limit, 535 5.7.0 quota.
  virtual Reply mail_from(Transaction& transaction) = 0;

  // Before the recipient is added to transaction.recipients. Default positive text: 250 2.1.5 Ok.
  virtual Reply rcpt_to(Transaction& transaction, const Address& recipient) = 0;

  // The complete message: dot-unstuffed, CRLF line endings, without the terminating ".". Return success only
  // once the message is durably stored: the client is told 250 (default text: 250 2.0.0 Ok: queued) and may
  // then discard its copy.
  virtual Reply deliver(const Transaction& transaction, std::string message) = 0;

  // Delivery without a blocked thread, called on the I/O thread instead of deliver(). Return false to use
  // deliver() on a worker; return true after taking `message` (move from it) and arranging for `done` to be
  // called exactly once, from any thread, with the reply — only once the message is durably stored when the
  // reply is positive. Must not block.
  virtual bool deliver_async(const Transaction& transaction, std::string& message, std::function<void(Reply)> done) {
    return false;
  }
};

}  // namespace postroom::smtp
