#pragma once
// The outbound SMTP client (RFC 5321): delivers one message per send() to a recipient's MX host or to a
// smarthost, with ESMTP extensions (PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, DSN's ENVID,
// STARTTLS, AUTH PLAIN/LOGIN), per-phase timeouts and a pool of idle connections per target. Asio and OpenSSL
// stay inside client.cpp; this header is cheap and callers need no Asio.
//
//   smtp::client::Client client({.helo_name = "mta.example.com"});
//   client.send({.host = "mx.example.net", .addresses = {"192.0.2.25"}}, {}, std::nullopt,
//               {.mail_from = "bounce@example.com", .recipients = {"rcpt@example.net"}, .data = bytes},
//               [](smtp::client::Outcome outcome) { ... });  // on a client thread, exactly once
//
// TLS modes (RFC 3207, RFC 7435, RFC 8314):
//   none           never STARTTLS.
//   opportunistic  STARTTLS when the server offers it; plain text when it does not, or when it refuses the
//                  STARTTLS command. When STARTTLS is offered but the handshake fails, the connection is unusable:
//                  the outcome is a TLS failure (stage starttls, local_error "TLS handshake failed: …") and the
//                  caller decides whether to retry with TlsMode::none. The client never downgrades by itself.
//   required       STARTTLS or nothing: a server without STARTTLS, a refused STARTTLS or a failed handshake ends
//                  at stage starttls.
//   implicit       TLS from the first byte (port 465). A failed handshake counts as a failed connection attempt:
//                  the next address is tried.
// Certificates are verified only with verify_peer (against ca_file, or the system store when empty), checking
// server_name (default: Target::host, else the address) against the certificate; otherwise TLS is unauthenticated
// encryption, as RFC 7435 intends for MX delivery.
//
// Outcomes decided locally, before anything is sent for the message (stage mail, reply code 0, local_error set;
// the connection stays pooled): a message larger than the server's SIZE, a non-ASCII envelope or smtputf8 when
// SMTPUTF8 is not offered, and (without connecting) an envelope address with control characters or angle
// brackets, no recipients or no data. Replies: multi-line replies are joined; an enhanced status code is taken
// whenever a line starts with one of the reply's class (not only after ENHANCEDSTATUSCODES); a reply line over
// 16 KiB, a reply of more than 1,000 lines or a line without a valid code is a local error and closes the
// connection. Any 421 closes the connection. When several addresses fail, local_error lists each
// ("192.0.2.1: connection refused; 192.0.2.2: connection timed out") and stage/reply come from the attempt that
// got furthest.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::smtp::client {

enum class TlsMode { none, opportunistic, required, implicit };

struct TlsOptions {
  TlsMode mode = TlsMode::opportunistic;
  bool verify_peer = false;
  std::string ca_file{};      // PEM trust anchors for verify_peer; empty: the system's default store
  std::string server_name{};  // SNI and the name verified; empty: Target::host (no SNI for an IP literal)
};

struct Target {
  std::string host{};                    // MX or relay name, for logs, SNI and verification
  std::vector<std::string> addresses{};  // IPs to try in order; empty: `host` is resolved (A/AAAA) instead
  std::uint16_t port = 25;
};

// Smarthost AUTH (PLAIN, else LOGIN). Sent only over TLS unless allow_plaintext_auth.
struct Credentials {
  std::string username{};
  std::string password{};
  bool allow_plaintext_auth = false;
};

struct Reply {
  int code = 0;            // 0: no reply (see Outcome::local_error)
  std::string enhanced{};  // RFC 3463 "x.y.z" when the server sent one; empty otherwise
  std::string text{};      // the lines' text without code and enhanced code, joined with '\n'
  // "550 5.1.1 text" on one line (the lines of a multi-line reply separated by spaces); "" when code is 0.
  std::string to_string() const;
  bool positive() const { return code >= 200 && code < 400; }
  bool permanent() const { return code >= 500 && code < 600; }
};

struct RecipientOutcome {
  std::string address{};
  // The reply that decided this recipient: its RCPT refusal; for an accepted one, the DATA reply (or whatever
  // ended the transaction after RCPT); when the transaction ended before its RCPT was answered, the reply that
  // ended it (code 0 when that was a local error).
  Reply reply{};
};

struct Outcome {
  enum class Stage { connect, greeting, ehlo, starttls, auth, mail, rcpt, data, done };
  Stage stage = Stage::connect;  // where it ended; done: the DATA reply was positive
  bool delivered_any = false;    // the server took responsibility for the message (for the accepted recipients)
  // One entry per Message::recipients, in order, even when the transaction ended before RCPT (see
  // RecipientOutcome::reply).
  std::vector<RecipientOutcome> recipients{};
  Reply reply{};                 // the reply that ended the transaction (the DATA reply after DATA); code 0 if none
  std::string local_error{};     // when no SMTP reply decided it: "connection refused", "connection timed out",
                                 // "TLS handshake failed: …", "message size … exceeds …", …
  std::string remote_address{};  // the IP that answered (or the last one tried)
  bool tls = false;
  std::string tls_version{};
  std::string tls_cipher{};
  // True when the connection was lost after the final "." was sent and before the reply: the server may
  // have accepted the message, so a retry may deliver it twice (RFC 1047).
  bool maybe_delivered = false;
};

std::string_view to_string(Outcome::Stage stage);

struct Message {
  std::string mail_from{};                    // reverse path without <>; empty: the null sender <>
  std::vector<std::string> recipients{};      // forward paths without <>
  std::shared_ptr<const std::string> data{};  // RFC 5322 bytes with CRLF line ends (bare CR/LF are sent as CRLF)
  bool smtputf8 = false;                      // needs SMTPUTF8 (also implied by a non-ASCII envelope address)
  bool eight_bit = false;                     // 8-bit body: BODY=8BITMIME when offered (sent as is otherwise)
  std::string envid{};                        // DSN ENVID (RFC 3461), sent when the server offers DSN
};

struct ClientOptions {
  std::string helo_name = "localhost";
  int io_threads = 1;
  // RFC 5321 4.5.3.2: connect (not in the RFC), greeting 5 min, commands 5 min, DATA block and final reply 10 min.
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds greeting_timeout{300};
  std::chrono::seconds command_timeout{300};
  std::chrono::seconds data_timeout{600};
  std::string source_address{};                     // bind() to this local IP before connecting when set
  std::size_t max_idle_connections_per_target = 4;  // 0: no pooling (QUIT after every message)
  std::chrono::seconds idle_timeout{30};            // an idle pooled connection is closed (QUIT) after this
  int max_messages_per_connection = 100;            // then QUIT and a new connection; 0: no limit
};

class Client {
 public:
  explicit Client(ClientOptions options);
  // Aborts sends in flight (their callbacks get local_error "client shutting down"), closes pooled connections
  // with QUIT, and stops the I/O threads. Must not be called from a completion callback.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Delivers one message to one target. Reuses an idle pooled connection to the same (addresses or host, port,
  // TLS options, credentials) when one exists (RSET first), else connects, trying each address in order until
  // one answers with a greeting. A pooled connection found dead (I/O error, timeout or 421 before MAIL was
  // accepted) is replaced by one fresh connection, transparently. Calls `done` exactly once, on a client thread
  // (never inside send()); it must not block for long, since it runs on the I/O thread.
  void send(const Target& target, const TlsOptions& tls, const std::optional<Credentials>& credentials, Message message,
            std::function<void(Outcome)> done);

  std::size_t idle_connections() const;
  // Connections opened since construction (greeted or not), for metrics and tests.
  std::uint64_t connections_opened() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace postroom::smtp::client
