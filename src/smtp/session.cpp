#include "smtp/session.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <exception>
#include <limits>
#include <utility>
#include <vector>

#include "core/crypto.h"
#include "smtp/command.h"

namespace postroom::smtp {
namespace {

// In DATA, a line longer than this is moved into the message in pieces (only when the text line limit is off).
constexpr std::size_t kDataChunk = 64 * 1024;
constexpr std::size_t kMaxReplyLine = 500;

enum class Phase { command, data, auth_plain, auth_login_user, auth_login_password, auth_cram, closed };
enum class Pending { none, auth, mail, rcpt, deliver };

bool valid_enhanced(std::string_view code, int reply_code) {
  // class.subject.detail: "[245].d{1,3}.d{1,3}" with the class of the reply code.
  if (code.size() < 5 || code[0] - '0' != reply_code / 100 || code[1] != '.') return false;
  std::size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    const std::size_t start = i;
    while (i < code.size() && code[i] >= '0' && code[i] <= '9') ++i;
    if (i == start || i - start > 3) return false;
    if (part == 0) {
      if (i >= code.size() || code[i] != '.') return false;
      ++i;
    }
  }
  return i == code.size();
}

// Reply text never carries control characters (no CR/LF injection from client input a backend quotes) and
// stays ASCII; '\n' separates the lines of a multi-line reply.
std::vector<std::string> reply_lines(std::string_view text) {
  std::vector<std::string> lines(1);
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      lines.emplace_back();
      continue;
    }
    if (u < 0x20 || u == 0x7F) continue;
    if (lines.back().size() >= kMaxReplyLine) continue;
    lines.back().push_back(u >= 0x80 ? '?' : c);
  }
  return lines;
}

bool is_hex_digest(std::string_view text) {
  if (text.size() != 32) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string sanitize_helo(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7F) out.push_back(c);
    if (out.size() >= 255) break;
  }
  return out;
}

}  // namespace

struct Session::State {
  SessionLimits limits;
  SessionPolicy policy;
  ConnectionInfo connection;
  bool tls_available;
  SmtpStats* stats;

  std::string input;
  std::size_t input_pos = 0;
  std::string output;
  Next next = Next::read;
  Phase phase = Phase::command;

  bool tls = false;
  bool greeted = false;  // HELO or EHLO seen
  bool esmtp = false;
  std::string helo;
  std::optional<Identity> identity;
  bool in_transaction = false;
  Transaction transaction;
  int errors = 0;
  int junk = 0;
  int messages = 0;
  bool shutdown_requested = false;
  bool discarding_long_line = false;  // command phase: skipping the rest of an over-long line

  // DATA
  std::string message;
  std::size_t message_size = 0;
  std::size_t message_limit = 0;
  std::size_t previous_message_size = 0;  // the buffer is sized for a message like the last one
  std::size_t data_line_length = 0;       // octets of the current line already consumed
  bool message_too_big = false;
  bool message_line_too_long = false;

  // Authentication exchange
  AuthMechanism auth_mechanism = AuthMechanism::plain;
  std::string login_username;
  std::string cram_challenge;

  // The backend call in flight and its result.
  Pending pending = Pending::none;
  AuthAttempt auth_attempt;
  AuthResult auth_result;
  Address rcpt_address;
  std::string deliver_message;
  Reply backend_reply;
  bool backend_failed = false;

  State(const SessionLimits& l, SessionPolicy p, ConnectionInfo c, bool tls_ok, SmtpStats* s)
      : limits(l), policy(std::move(p)), connection(std::move(c)), tls_available(tls_ok), stats(s) {
    tls = connection.mode == ListenerMode::implicit_tls;
  }

  // ---- replies

  void reply(int code, std::string_view enhanced, std::string_view text) {
    if (code < 200 || code > 599) {
      code = 451;
      enhanced = "4.3.0";
      text = "Error: internal error";
    }
    const bool with_enhanced = !enhanced.empty() && valid_enhanced(enhanced, code);
    const auto lines = reply_lines(text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      output += std::to_string(code);
      output.push_back(i + 1 == lines.size() ? ' ' : '-');
      if (with_enhanced) {
        output += enhanced;
        if (!lines[i].empty()) output.push_back(' ');
      }
      output += lines[i];
      output += "\r\n";
    }
    if (stats) stats->replies[static_cast<std::size_t>(code / 100)].fetch_add(1, std::memory_order_relaxed);
  }

  void reply(const Reply& r, std::string_view default_enhanced, std::string_view default_text) {
    if (r.positive() && r.text.empty())
      reply(r.code, r.enhanced.empty() ? default_enhanced : std::string_view(r.enhanced), default_text);
    else
      reply(r.code, r.enhanced, r.text);
  }

  void close_with(int code, std::string_view enhanced, std::string_view text) {
    reply(code, enhanced, limits.hostname + " " + std::string(text));
    close();
  }

  void close() {
    phase = Phase::closed;
    next = Next::close;
    input.clear();
    input_pos = 0;
  }

  // A protocol error: reply, then disconnect once the client has made too many.
  void error(int code, std::string_view enhanced, std::string_view text) {
    reply(code, enhanced, text);
    if (++errors >= limits.max_errors && limits.max_errors > 0) close_with(421, "4.7.0", "Error: too many errors");
  }

  void junk_command() {
    if (++junk > limits.max_junk_commands && limits.max_junk_commands > 0)
      close_with(421, "4.7.0", "Error: too many commands");
  }

  // ---- transaction

  void reset_transaction() {
    in_transaction = false;
    transaction = Transaction{};
    message.clear();
    message.shrink_to_fit();
  }

  std::size_t size_limit() const {
    std::size_t limit = limits.max_message_size;
    if (transaction.max_message_size && *transaction.max_message_size < limit) limit = *transaction.max_message_size;
    return limit;
  }

  void fill_transaction_context() {
    transaction.connection = connection;
    transaction.helo = helo;
    transaction.esmtp = esmtp;
    transaction.tls = tls;
    transaction.identity = identity;
  }

  bool auth_offered() const { return policy.auth_enabled && (tls || !policy.auth_requires_tls); }
  bool starttls_offered() const { return tls_available && !tls && connection.mode == ListenerMode::starttls; }

  // ---- input

  void process() {
    while (next == Next::read) {
      if (phase == Phase::data) {
        if (!process_data()) break;
      } else if (!process_line()) {
        break;
      }
    }
    if (input_pos > 0) {
      input.erase(0, input_pos);
      input_pos = 0;
    }
  }

  // One command or AUTH response line. Returns false when more input is needed.
  bool process_line() {
    if (shutdown_requested && phase == Phase::command && !in_transaction) {
      close_with(421, "4.3.2", "Service shutting down");
      return false;
    }
    const std::size_t hard_limit = std::max(limits.max_command_line, limits.max_auth_line);
    const auto lf = input.find('\n', input_pos);
    if (lf == std::string::npos) {
      if (input.size() - input_pos > hard_limit) {
        discarding_long_line = true;
        input_pos = input.size();
      }
      return false;
    }
    std::string_view line(input.data() + input_pos, lf - input_pos);
    input_pos = lf + 1;
    if (discarding_long_line) {
      discarding_long_line = false;
      line_too_long();
      return true;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t length = line.size() + 2;
    if (phase != Phase::command) {
      if (length > limits.max_auth_line) {
        phase = Phase::command;
        line_too_long();
      } else {
        auth_response(line);
      }
      return true;
    }
    const Command command = parse_command(line);
    const std::size_t limit = command.verb == Verb::auth ? limits.max_auth_line : limits.max_command_line;
    if (length > limit) {
      line_too_long();
      return true;
    }
    if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
      error(500, "5.5.2", "Error: bad character in command");
      return true;
    }
    execute(command);
    return true;
  }

  void line_too_long() { error(500, "5.5.2", "Error: line too long"); }

  // ---- commands

  void execute(const Command& command) {
    switch (command.verb) {
      case Verb::ehlo:
      case Verb::helo:
        return hello(command);
      case Verb::mail:
        return mail(command.argument);
      case Verb::rcpt:
        return rcpt(command.argument);
      case Verb::data:
        return data(command.argument);
      case Verb::rset:
        if (!command.argument.empty()) return error(501, "5.5.4", "Syntax: RSET");
        reset_transaction();
        reply(250, "2.0.0", "Ok");
        return junk_command();
      case Verb::noop:
        reply(250, "2.0.0", "Ok");
        return junk_command();
      case Verb::quit:
        reply(221, "2.0.0", "Bye");
        return close();
      case Verb::vrfy:
        // Disabled on purpose (address harvesting); 252 tells the client to just send (RFC 5321 3.5.3).
        reply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
        return junk_command();
      case Verb::expn:
        reply(502, "5.5.1", "Error: command not implemented");
        return junk_command();
      case Verb::help:
        reply(214, "2.0.0", "See RFC 5321");
        return junk_command();
      case Verb::starttls:
        return starttls(command.argument);
      case Verb::auth:
        return auth(command.argument);
      case Verb::http:
        reply(521, "5.5.1", "Error: this is an SMTP server");
        return close();
      case Verb::unknown:
        return error(500, "5.5.2", "Error: command not recognized");
    }
  }

  void hello(const Command& command) {
    const bool extended = command.verb == Verb::ehlo;
    if (command.argument.empty())
      return error(501, "5.5.4", extended ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
    reset_transaction();
    greeted = true;
    esmtp = extended;
    helo = sanitize_helo(command.argument);
    if (!extended) return reply(250, "", limits.hostname);
    std::string text = limits.hostname;
    text += "\nPIPELINING\nSIZE " + std::to_string(limits.max_message_size);
    text += "\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES";
    if (starttls_offered()) text += "\nSTARTTLS";
    if (auth_offered()) text += policy.offer_cram_md5 ? "\nAUTH PLAIN LOGIN CRAM-MD5" : "\nAUTH PLAIN LOGIN";
    reply(250, "", text);
  }

  void mail(std::string_view argument) {
    if (!greeted) return error(503, "5.5.1", "Error: send HELO/EHLO first");
    if (in_transaction) return error(503, "5.5.1", "Error: nested MAIL command");
    if (limits.max_messages > 0 && messages >= limits.max_messages)
      return close_with(421, "4.7.0", "Error: too many messages in this connection");
    if (policy.auth_enabled && policy.auth_required && !identity) {
      const Reply& r = policy.auth_required_reply;
      return error(r.code, r.enhanced, r.text);
    }
    PathArgument path = parse_path_argument(argument, "FROM");
    switch (path.error) {
      case PathError::none:
        break;
      case PathError::syntax:
        return error(501, "5.5.4", "Syntax: MAIL FROM:<address>");
      case PathError::address:
        return error(501, "5.1.7", "Bad sender address syntax");
      case PathError::parameter:
        return error(501, "5.5.4", "Error: invalid parameter syntax");
    }
    if (path.postmaster) return error(501, "5.1.7", "Bad sender address syntax");
    if (!esmtp && !path.params.empty()) return error(555, "5.5.4", "Error: parameters need EHLO");
    MailParameters params;
    for (const auto& p : path.params) {
      if (p.keyword == "SIZE" && p.value) {
        std::uint64_t size = 0;
        const auto& v = *p.value;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), size);
        if (ec != std::errc() || end != v.data() + v.size()) return error(501, "5.5.4", "Error: bad SIZE value");
        params.size = size;
      } else if (p.keyword == "BODY" && p.value) {
        const std::string value = lowercase(*p.value);
        if (value == "7bit")
          params.body = BodyType::seven_bit;
        else if (value == "8bitmime")
          params.body = BodyType::eight_bit_mime;
        else
          return error(501, "5.5.4", "Error: unsupported BODY type");
      } else if (p.keyword == "SMTPUTF8" && !p.value) {
        params.smtputf8 = true;
      } else if (p.keyword == "AUTH" && p.value) {
        if (!valid_xtext(*p.value)) return error(501, "5.5.4", "Error: bad AUTH parameter");
        params.auth = *p.value;
      } else {
        return error(555, "5.5.4", "Error: unsupported MAIL parameter");
      }
    }
    if (path.non_ascii && !params.smtputf8) return error(553, "5.6.7", "Error: this address needs SMTPUTF8");
    if (params.size && *params.size > limits.max_message_size) return reply(552, "5.3.4", "Error: message too big");
    transaction = Transaction{};
    fill_transaction_context();
    transaction.mail_from = std::move(path.address);
    transaction.params = params;
    request(Pending::mail);
  }

  void rcpt(std::string_view argument) {
    if (!in_transaction) return error(503, "5.5.1", "Error: need MAIL command");
    PathArgument path = parse_path_argument(argument, "TO");
    switch (path.error) {
      case PathError::none:
        break;
      case PathError::syntax:
        return error(501, "5.5.4", "Syntax: RCPT TO:<address>");
      case PathError::address:
        return error(501, "5.1.3", "Bad recipient address syntax");
      case PathError::parameter:
        return error(501, "5.5.4", "Error: invalid parameter syntax");
    }
    if (path.null_path) return error(501, "5.1.3", "Bad recipient address syntax");
    if (!path.params.empty()) return error(555, "5.5.4", "Error: unsupported RCPT parameter");
    if (path.non_ascii && !transaction.params.smtputf8)
      return error(553, "5.6.7", "Error: this address needs SMTPUTF8");
    if (transaction.recipients.size() >= limits.max_recipients)
      return reply(452, "4.5.3", "Error: too many recipients");
    rcpt_address = std::move(path.address);
    request(Pending::rcpt);
  }

  void data(std::string_view argument) {
    if (!argument.empty()) return error(501, "5.5.4", "Syntax: DATA");
    if (!in_transaction) return error(503, "5.5.1", "Error: need MAIL command");
    if (transaction.recipients.empty()) return error(554, "5.5.1", "Error: no valid recipients");
    reply(354, "", "End data with <CR><LF>.<CR><LF>");
    phase = Phase::data;
    message.clear();
    message_size = 0;
    message_limit = size_limit();
    message.reserve(
        std::min({previous_message_size + previous_message_size / 8 + 256, message_limit, std::size_t{1024 * 1024}}));
    data_line_length = 0;
    message_too_big = false;
    message_line_too_long = false;
  }

  void starttls(std::string_view argument) {
    if (!starttls_offered()) {
      if (tls) return error(503, "5.5.1", "Error: TLS already active");
      return error(502, "5.5.1", "Error: command not implemented");
    }
    if (!argument.empty()) return error(501, "5.5.4", "Syntax: STARTTLS");
    if (in_transaction) return error(503, "5.5.1", "Error: MAIL transaction in progress");
    reply(220, "2.0.0", "Ready to start TLS");
    // Anything pipelined after STARTTLS was sent in clear text and could be injected by a man in the middle
    // (CVE-2011-0411); drop it.
    input.clear();
    input_pos = 0;
    next = Next::start_tls;
  }

  // ---- AUTH (RFC 4954)

  void auth(std::string_view argument) {
    if (!auth_offered()) {
      if (policy.auth_enabled)
        return error(538, "5.7.11", "Encryption required for requested authentication mechanism");
      return error(502, "5.5.1", "Error: command not implemented");
    }
    if (!esmtp) return error(503, "5.5.1", "Error: send EHLO first");
    if (identity) return error(503, "5.5.1", "Error: already authenticated");
    if (in_transaction) return error(503, "5.5.1", "Error: MAIL transaction in progress");
    const auto space = argument.find(' ');
    const std::string mechanism = lowercase(argument.substr(0, space));
    std::string_view initial;
    bool has_initial = false;
    if (space != std::string_view::npos) {
      initial = argument.substr(space + 1);
      while (!initial.empty() && initial.front() == ' ') initial.remove_prefix(1);
      has_initial = !initial.empty();
    }
    if (mechanism == "plain") {
      auth_mechanism = AuthMechanism::plain;
      if (!has_initial) {
        phase = Phase::auth_plain;
        return reply(334, "", "");
      }
      return plain_response(initial);
    }
    if (mechanism == "login") {
      auth_mechanism = AuthMechanism::login;
      if (!has_initial) {
        phase = Phase::auth_login_user;
        return reply(334, "", "VXNlcm5hbWU6");  // "Username:"
      }
      phase = Phase::auth_login_user;
      return auth_response(initial);
    }
    if (mechanism == "cram-md5" && policy.offer_cram_md5) {
      if (has_initial) return error(501, "5.5.4", "Error: CRAM-MD5 takes no initial response");
      auth_mechanism = AuthMechanism::cram_md5;
      cram_challenge.assign(1, '<');
      cram_challenge += crypto::random_hex(16);
      cram_challenge += '.';
      cram_challenge += std::to_string(std::time(nullptr));
      cram_challenge += '@';
      cram_challenge += limits.hostname;
      cram_challenge += '>';
      phase = Phase::auth_cram;
      return reply(334, "", base64_encode(cram_challenge));
    }
    error(504, "5.5.4", "Error: unrecognized authentication type");
  }

  void auth_response(std::string_view line) {
    const Phase current = phase;
    phase = Phase::command;
    if (line == "*") return error(501, "5.0.0", "Error: authentication cancelled");
    // "=" stands for an empty initial response (RFC 4954 4); in a continuation an empty line is empty.
    if (line == "=") line = {};
    auto decoded = base64_decode(line);
    if (!decoded) return error(501, "5.5.2", "Error: cannot decode response");
    switch (current) {
      case Phase::auth_plain:
        return plain_decoded(*decoded);
      case Phase::auth_login_user:
        login_username = std::move(*decoded);
        phase = Phase::auth_login_password;
        return reply(334, "", "UGFzc3dvcmQ6");  // "Password:"
      case Phase::auth_login_password: {
        AuthAttempt attempt;
        attempt.mechanism = AuthMechanism::login;
        attempt.username = std::move(login_username);
        attempt.password = std::move(*decoded);
        return authenticate(std::move(attempt));
      }
      case Phase::auth_cram: {
        const std::string& response = *decoded;
        const auto space = response.rfind(' ');
        if (space == std::string::npos || space == 0 || !is_hex_digest(std::string_view(response).substr(space + 1)))
          return error(535, "5.7.8", "Error: authentication failed");
        AuthAttempt attempt;
        attempt.mechanism = AuthMechanism::cram_md5;
        attempt.username = response.substr(0, space);
        attempt.cram_challenge = cram_challenge;
        attempt.cram_digest = lowercase(std::string_view(response).substr(space + 1));
        return authenticate(std::move(attempt));
      }
      default:
        return;
    }
  }

  void plain_response(std::string_view initial) {
    if (initial == "=") return plain_decoded({});
    auto decoded = base64_decode(initial);
    if (!decoded) return error(501, "5.5.2", "Error: cannot decode response");
    plain_decoded(*decoded);
  }

  // authzid NUL authcid NUL passwd
  void plain_decoded(std::string_view decoded) {
    const auto first = decoded.find('\0');
    const auto second = first == std::string_view::npos ? first : decoded.find('\0', first + 1);
    if (second == std::string_view::npos || decoded.find('\0', second + 1) != std::string_view::npos)
      return error(535, "5.7.8", "Error: authentication failed");
    AuthAttempt attempt;
    attempt.mechanism = AuthMechanism::plain;
    attempt.authorization_id = std::string(decoded.substr(0, first));
    attempt.username = std::string(decoded.substr(first + 1, second - first - 1));
    attempt.password = std::string(decoded.substr(second + 1));
    authenticate(std::move(attempt));
  }

  void authenticate(AuthAttempt attempt) {
    attempt.tls = tls;
    attempt.client_ip = connection.client_ip;
    auth_attempt = std::move(attempt);
    request(Pending::auth);
  }

  // ---- DATA

  void append_message(std::string_view bytes) {
    message_size += bytes.size();
    if (message_size > message_limit) {
      // Stop buffering but keep reading to the final dot, so the reply lands where the client expects it.
      if (!message_too_big) {
        message_too_big = true;
        message.clear();
        message.shrink_to_fit();
      }
      return;
    }
    if (!message_line_too_long) message.append(bytes);
  }

  // Returns false when more input is needed.
  bool process_data() {
    const auto lf = input.find('\n', input_pos);
    if (lf == std::string::npos) {
      const std::size_t partial = input.size() - input_pos;
      if (limits.max_text_line > 0 && data_line_length + partial > limits.max_text_line) {
        // Over the limit: drop the bytes, but keep a trailing CR for the line-ending check.
        const std::size_t drop = partial - (input.back() == '\r' ? 1 : 0);
        if (std::string_view(input.data() + input_pos, drop).find('\r') != std::string_view::npos)
          return bare_line_ending("<CR>");
        message_line_too_long = true;
        data_line_length += drop;
        input_pos += drop;
      } else if (partial > kDataChunk) {
        // An endless line with the text line limit off: move it into the message in pieces. A trailing CR stays
        // buffered so the bare-CR check sees it with the byte that follows.
        std::string_view piece(input.data() + input_pos, partial - (input.back() == '\r' ? 1 : 0));
        if (piece.find('\r') != std::string_view::npos) return bare_line_ending("<CR>");
        if (data_line_length == 0 && !piece.empty() && piece.front() == '.') {
          piece.remove_prefix(1);
          ++input_pos;
          ++data_line_length;
        }
        append_message(piece);
        data_line_length += piece.size();
        input_pos += piece.size();
      }
      return false;
    }
    std::string_view line(input.data() + input_pos, lf + 1 - input_pos);
    input_pos = lf + 1;
    const bool continuation = data_line_length > 0;
    const std::size_t line_length = data_line_length + line.size();
    data_line_length = 0;
    // Only CRLF ends a line. A bare LF or CR could make us and another server disagree about where the
    // message ends (SMTP smuggling), so refuse the message and the connection.
    if (line.size() < 2 || line[line.size() - 2] != '\r') return bare_line_ending("<LF>");
    if (line.substr(0, line.size() - 2).find('\r') != std::string_view::npos) return bare_line_ending("<CR>");
    if (!continuation && line == ".\r\n") {
      end_of_data();
      return true;
    }
    if (limits.max_text_line > 0 && line_length > limits.max_text_line) {
      message_line_too_long = true;
      return true;
    }
    if (!continuation && line.front() == '.') line.remove_prefix(1);  // dot-unstuffing (RFC 5321 4.5.2)
    append_message(line);
    return true;
  }

  bool bare_line_ending(std::string_view what) {
    if (stats) stats->messages_rejected.fetch_add(1, std::memory_order_relaxed);
    reset_transaction();
    reply(521, "5.5.2", "Error: bare " + std::string(what) + " received");
    close();
    return false;
  }

  void end_of_data() {
    phase = Phase::command;
    if (message_too_big || message_line_too_long) {
      if (stats) stats->messages_rejected.fetch_add(1, std::memory_order_relaxed);
      reset_transaction();
      if (message_too_big) return reply(552, "5.3.4", "Error: message too big");
      return reply(500, "5.5.2", "Error: message line too long");
    }
    previous_message_size = message.size();
    deliver_message = std::move(message);
    message = std::string();
    request(Pending::deliver);
  }

  // ---- backend

  void request(Pending what) {
    pending = what;
    backend_failed = false;
    next = Next::backend;
  }

  void call(SmtpBackend& backend) {
    switch (pending) {
      case Pending::auth:
        auth_result = backend.authenticate(auth_attempt);
        break;
      case Pending::mail:
        backend_reply = backend.mail_from(transaction);
        break;
      case Pending::rcpt:
        backend_reply = backend.rcpt_to(transaction, rcpt_address);
        break;
      case Pending::deliver:
        backend_reply = backend.deliver(transaction, std::move(deliver_message));
        break;
      case Pending::none:
        break;
    }
  }

  void finish_backend() {
    const Pending done = pending;
    pending = Pending::none;
    next = Next::read;
    switch (done) {
      case Pending::auth: {
        const AuthAttempt attempt = std::exchange(auth_attempt, AuthAttempt{});
        if (backend_failed) return reply(454, "4.7.0", "Temporary authentication failure");
        if (auth_result.accepted()) {
          identity = Identity{attempt.username, attempt.mechanism, std::move(auth_result.data)};
          if (stats) stats->auth_succeeded.fetch_add(1, std::memory_order_relaxed);
          reply(auth_result.reply, "2.7.0", "Authentication successful");
        } else {
          if (stats) stats->auth_failed.fetch_add(1, std::memory_order_relaxed);
          const Reply r = auth_result.reply;
          error(r.code, r.enhanced, r.text);
        }
        auth_result = AuthResult{};
        return;
      }
      case Pending::mail:
        if (backend_failed) return reply(451, "4.3.0", "Error: internal error");
        if (backend_reply.positive()) {
          if (transaction.params.size && *transaction.params.size > size_limit()) {
            transaction = Transaction{};
            return reply(552, "5.3.4", "Error: message too big");
          }
          in_transaction = true;
          return reply(backend_reply, "2.1.0", "Ok");
        }
        reply(backend_reply, "", "");
        transaction = Transaction{};
        return;
      case Pending::rcpt:
        if (backend_failed) return reply(451, "4.3.0", "Error: internal error");
        if (backend_reply.positive()) transaction.recipients.push_back(std::move(rcpt_address));
        return reply(backend_reply, "2.1.5", "Ok");
      case Pending::deliver:
        deliver_message = std::string();
        if (backend_failed) {
          if (stats) stats->messages_rejected.fetch_add(1, std::memory_order_relaxed);
          reply(451, "4.3.0", "Error: internal error");
        } else if (backend_reply.positive()) {
          ++messages;
          if (stats) {
            stats->messages_accepted.fetch_add(1, std::memory_order_relaxed);
            stats->message_bytes.fetch_add(message_size, std::memory_order_relaxed);
          }
          reply(backend_reply, "2.0.0", "Ok: queued");
        } else {
          if (stats) stats->messages_rejected.fetch_add(1, std::memory_order_relaxed);
          reply(backend_reply, "", "");
        }
        return reset_transaction();
      case Pending::none:
        return;
    }
  }
};

Session::Session(const SessionLimits& limits, SessionPolicy policy, ConnectionInfo connection, bool tls_available,
                 SmtpStats* stats)
    : state_(std::make_unique<State>(limits, std::move(policy), std::move(connection), tls_available, stats)) {}

Session::~Session() = default;

void Session::start() {
  State& s = *state_;
  if (s.policy.refuse) {
    const Reply& r = *s.policy.refuse;
    s.reply(r.positive() ? 554 : r.code, r.enhanced, r.text);
    s.close();
    return;
  }
  s.reply(220, "", s.limits.hostname + " " + s.limits.banner);
}

void Session::receive(std::string_view bytes) {
  State& s = *state_;
  if (s.phase == Phase::closed) return;
  s.input.append(bytes);
  if (s.next == Next::read) s.process();
}

void Session::run_backend(SmtpBackend& backend) {
  State& s = *state_;
  try {
    s.call(backend);
  } catch (const std::exception&) {
    s.backend_failed = true;
  }
}

bool Session::deliver_async(SmtpBackend& backend, std::function<void(Reply)> done) {
  State& s = *state_;
  if (s.pending != Pending::deliver) return false;
  try {
    return backend.deliver_async(s.transaction, s.deliver_message, std::move(done));
  } catch (const std::exception&) {
    return false;  // the blocking path reports it
  }
}

void Session::set_backend_reply(Reply reply) { state_->backend_reply = std::move(reply); }

BackendCall Session::pending_call() const {
  switch (state_->pending) {
    case Pending::auth:
      return BackendCall::authenticate;
    case Pending::mail:
      return BackendCall::mail_from;
    case Pending::rcpt:
      return BackendCall::rcpt_to;
    case Pending::deliver:
    case Pending::none:
      break;
  }
  return BackendCall::deliver;
}

void Session::backend_done() {
  State& s = *state_;
  if (s.pending == Pending::none) return;
  s.finish_backend();
  s.process();
}

void Session::tls_started() {
  State& s = *state_;
  // RFC 3207 4.2: forget everything learned before the handshake.
  s.tls = true;
  s.greeted = false;
  s.esmtp = false;
  s.helo.clear();
  s.identity.reset();
  s.reset_transaction();
  s.input.clear();
  s.input_pos = 0;
  s.phase = Phase::command;
  s.next = Next::read;
  if (s.stats) s.stats->tls_started.fetch_add(1, std::memory_order_relaxed);
}

void Session::timeout() {
  State& s = *state_;
  if (s.phase == Phase::closed) return;
  s.close_with(421, "4.4.2", "Error: timeout exceeded");
}

void Session::shutdown() {
  State& s = *state_;
  s.shutdown_requested = true;
  if (idle()) s.close_with(421, "4.3.2", "Service shutting down");
}

void Session::disconnected() { state_->close(); }

std::string Session::take_output() { return std::exchange(state_->output, std::string()); }
bool Session::has_output() const { return !state_->output.empty(); }
Session::Next Session::next() const { return state_->next; }

bool Session::idle() const {
  const State& s = *state_;
  return s.phase == Phase::command && !s.in_transaction && s.next == Next::read && s.pending == Pending::none;
}

bool Session::in_data() const { return state_->phase == Phase::data; }
bool Session::tls_active() const { return state_->tls; }
const Transaction& Session::transaction() const { return state_->transaction; }
int Session::errors() const { return state_->errors; }

// ---- base64 and CRAM-MD5

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                   static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    const auto n = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const auto n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int padding = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<std::size_t>(k)];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++padding;
        continue;
      }
      if (padding > 0) return std::nullopt;  // data after padding
      v[k] = value(c);
      if (v[k] < 0) return std::nullopt;
    }
    const int n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>((n >> 16) & 0xFF));
    if (padding < 2) out.push_back(static_cast<char>((n >> 8) & 0xFF));
    if (padding < 1) out.push_back(static_cast<char>(n & 0xFF));
  }
  return out;
}

bool verify_cram_md5(const AuthAttempt& attempt, std::string_view secret) {
  if (attempt.mechanism != AuthMechanism::cram_md5 || attempt.cram_challenge.empty()) return false;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_md5(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(attempt.cram_challenge.data()), attempt.cram_challenge.size(),
            digest, &length))
    return false;
  const std::string expected = crypto::to_hex(std::string_view(reinterpret_cast<const char*>(digest), length));
  return crypto::constant_time_equals(expected, lowercase(attempt.cram_digest));
}

}  // namespace postroom::smtp
