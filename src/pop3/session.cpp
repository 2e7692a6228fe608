#include "pop3/session.h"

#include <algorithm>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

#include "smtp/session.h"  // base64_decode (AUTH PLAIN)

namespace postroom::pop3 {
namespace {

enum class Phase { command, auth_plain_response, closed };
enum class Pending { none, open, content, update };

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// Decimal digits only; nullopt for anything else or more than 18 digits (beyond any maildrop anyway).
std::optional<std::uint64_t> parse_number(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

// Arguments separated by spaces (RFC 1939 says one; clients sometimes send more).
std::vector<std::string_view> split_arguments(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

// A unique-id as RFC 1939 7 allows it: 1-70 characters in 0x21-0x7E.
std::string safe_uid(const std::string& uid, std::size_t number) {
  std::string out;
  for (char c : uid)
    if (c >= 0x21 && c <= 0x7E && out.size() < 70) out.push_back(c);
  return out.empty() ? std::to_string(number) : out;
}

// The headers, the blank line and the first `lines` body lines of a normalized message (TOP).
std::string_view top_of(std::string_view message, std::uint64_t lines) {
  std::size_t header_end = message.size();
  if (message.starts_with("\r\n")) {
    header_end = 2;
  } else if (const auto blank = message.find("\r\n\r\n"); blank != std::string_view::npos) {
    header_end = blank + 4;
  }
  std::size_t end = header_end;
  for (std::uint64_t i = 0; i < lines && end < message.size(); ++i) {
    const auto eol = message.find("\r\n", end);
    end = eol == std::string_view::npos ? message.size() : eol + 2;
  }
  return message.substr(0, end);
}

}  // namespace

std::uint64_t normalized_size(std::string_view message) {
  std::uint64_t size = 0;
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\r') {
      if (i + 1 < message.size() && message[i + 1] == '\n') ++i;
      size += 2;
    } else if (message[i] == '\n') {
      size += 2;
    } else {
      ++size;
    }
  }
  if (!message.empty() && message.back() != '\n' && message.back() != '\r') size += 2;
  return size;
}

std::string normalize_line_endings(std::string_view message) {
  std::string out;
  out.reserve(static_cast<std::size_t>(normalized_size(message)));
  std::size_t pos = 0;
  while (pos < message.size()) {
    const auto eol = message.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) {
      out.append(message.substr(pos));
      out += "\r\n";
      break;
    }
    out.append(message.substr(pos, eol - pos));
    out += "\r\n";
    pos = eol + 1;
    if (message[eol] == '\r' && pos < message.size() && message[pos] == '\n') ++pos;
  }
  return out;
}

void append_multiline(std::string& out, std::string_view content) {
  out.reserve(out.size() + content.size() + content.size() / 64 + 5);
  std::size_t pos = 0;
  while (pos < content.size()) {
    if (content[pos] == '.') out.push_back('.');  // byte-stuffing (RFC 1939 3)
    const auto eol = content.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) {
      out.append(content.substr(pos));
      out += "\r\n";
      break;
    }
    out.append(content.substr(pos, eol - pos));
    out += "\r\n";
    pos = eol + 1;
    if (content[eol] == '\r' && pos < content.size() && content[pos] == '\n') ++pos;
  }
  out += ".\r\n";
}

struct Session::Impl {
  SessionLimits limits;
  ConnectionInfo connection;
  bool tls_available;
  Pop3Stats* stats;

  std::string input;
  std::size_t input_pos = 0;
  std::string output;
  Next next = Next::read;
  Next after_pause = Next::read;
  State state = State::authorization;
  Phase phase = Phase::command;
  bool tls = false;
  bool discarding_long_line = false;  // skipping the rest of an over-long line
  bool shutdown_requested = false;
  int errors = 0;
  int login_failures = 0;
  std::optional<std::string> user;  // USER accepted, waiting for PASS

  // TRANSACTION state
  std::unique_ptr<Maildrop> maildrop;
  std::vector<bool> deleted;

  // The backend call in flight and its result.
  Pending pending = Pending::none;
  bool backend_failed = false;
  LoginAttempt attempt;
  LoginResult login;
  std::size_t message_index = 0;
  bool whole_message = true;  // RETR; TOP otherwise
  std::uint64_t top_lines = 0;
  std::optional<std::string> content;
  std::vector<std::size_t> to_remove;
  bool removed = false;

  Impl(const SessionLimits& l, ConnectionInfo c, bool tls_ok, Pop3Stats* s)
      : limits(l), connection(std::move(c)), tls_available(tls_ok), stats(s) {
    tls = connection.mode == ListenerMode::implicit_tls;
  }

  // ---- replies

  void ok(std::string_view text) {
    output += "+OK";
    if (!text.empty()) {
      output.push_back(' ');
      output += text;
    }
    output += "\r\n";
  }

  void err(std::string_view text) {
    output += "-ERR ";
    output += text;
    output += "\r\n";
  }

  // A protocol error: reply, or close once the client has made too many.
  void error(std::string_view text) {
    if (++errors >= limits.max_errors && limits.max_errors > 0)
      return close_with("too many errors, closing connection");
    err(text);
  }

  void close_with(std::string_view text) {
    err(text);
    close();
  }

  void close() {
    phase = Phase::closed;
    state = State::closed;
    next = Next::close;
    input.clear();
    input_pos = 0;
    user.reset();
    maildrop.reset();  // releases the maildrop lock; no UPDATE state
  }

  // ---- maildrop

  std::size_t message_count() const { return maildrop ? maildrop->messages().size() : 0; }

  std::pair<std::uint64_t, std::uint64_t> live_totals() const {
    std::uint64_t count = 0;
    std::uint64_t octets = 0;
    for (std::size_t i = 0; i < message_count(); ++i) {
      if (deleted[i]) continue;
      ++count;
      octets += maildrop->messages()[i].size;
    }
    return {count, octets};
  }

  std::string maildrop_summary() const {
    const auto [count, octets] = live_totals();
    return "maildrop has " + std::to_string(count) + (count == 1 ? " message (" : " messages (") +
           std::to_string(octets) + " octets)";
  }

  // The index of message number `text`, or a reply explaining why there is none.
  std::optional<std::size_t> message_number(std::string_view text) {
    const auto number = parse_number(text);
    if (!number) {
      error("invalid message number");
      return std::nullopt;
    }
    if (*number == 0 || *number > message_count()) {
      err("no such message, only " + std::to_string(message_count()) +
          (message_count() == 1 ? " message in maildrop" : " messages in maildrop"));
      return std::nullopt;
    }
    const auto index = static_cast<std::size_t>(*number - 1);
    if (deleted[index]) {
      err("message " + std::to_string(*number) + " already deleted");
      return std::nullopt;
    }
    return index;
  }

  // ---- input

  void process() {
    while (next == Next::read) {
      if (!process_line()) break;
    }
    if (input_pos > 0) {
      input.erase(0, input_pos);
      input_pos = 0;
    }
  }

  // One command or AUTH response line. Returns false when more input is needed.
  bool process_line() {
    if (shutdown_requested) {
      close_with("[SYS/TEMP] server shutting down");
      return false;
    }
    const std::size_t limit = phase == Phase::auth_plain_response ? limits.max_auth_line : limits.max_command_line;
    const auto lf = input.find('\n', input_pos);
    if (lf == std::string::npos) {
      if (input.size() - input_pos > limit) {
        discarding_long_line = true;
        input_pos = input.size();
      }
      return false;
    }
    std::string_view line(input.data() + input_pos, lf - input_pos);
    input_pos = lf + 1;
    if (discarding_long_line || line.size() + 1 > limit) {
      discarding_long_line = false;
      phase = Phase::command;
      user.reset();
      error("line too long");
      return true;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
      phase = Phase::command;
      error("bad character in command");
      return true;
    }
    if (phase == Phase::auth_plain_response) {
      phase = Phase::command;
      auth_plain_response(line);
    } else {
      execute(line);
    }
    return true;
  }

  // ---- commands

  void execute(std::string_view line) {
    const auto space = line.find(' ');
    const std::string verb = upper(line.substr(0, space));
    const std::string_view rest = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    const auto args = split_arguments(rest);
    if (verb != "PASS") user.reset();  // PASS must follow USER at once (RFC 1939 7)

    if (verb == "CAPA") return capa(args);
    if (verb == "QUIT") return quit(args);
    if (state == State::authorization) {
      if (verb == "USER") return user_command(rest);
      if (verb == "PASS") return pass_command(rest);
      if (verb == "AUTH") return auth(args);
      if (verb == "STLS") return stls(args);
      if (verb == "APOP") return error("APOP not supported, use USER and PASS");
      if (verb == "STAT" || verb == "LIST" || verb == "UIDL" || verb == "TOP" || verb == "RETR" || verb == "DELE" ||
          verb == "RSET" || verb == "NOOP")
        return error("log in first");
      return error("unknown command");
    }
    if (verb == "STAT") return stat(args);
    if (verb == "LIST") return list(args, false);
    if (verb == "UIDL") return list(args, true);
    if (verb == "RETR") return retr(args);
    if (verb == "TOP") return top(args);
    if (verb == "DELE") return dele(args);
    if (verb == "RSET") return rset(args);
    if (verb == "NOOP") return args.empty() ? ok("") : error("syntax: NOOP");
    if (verb == "USER" || verb == "PASS" || verb == "APOP" || verb == "AUTH" || verb == "STLS")
      return error("already logged in");
    return error("unknown command");
  }

  bool login_offered() const { return tls || !limits.login_requires_tls; }
  bool stls_offered() const {
    return state == State::authorization && tls_available && !tls && connection.mode == ListenerMode::stls;
  }

  void capa(const std::vector<std::string_view>& args) {
    if (!args.empty()) return error("syntax: CAPA");
    ok("Capability list follows");
    output += "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n";
    if (state == State::authorization && login_offered()) output += "USER\r\nSASL PLAIN\r\n";
    if (stls_offered()) output += "STLS\r\n";
    output += "IMPLEMENTATION Postroom\r\n.\r\n";
  }

  void quit(const std::vector<std::string_view>& args) {
    if (!args.empty()) return error("syntax: QUIT");
    if (state != State::transaction) {
      ok("Postroom POP3 server signing off");
      return close();
    }
    to_remove.clear();
    for (std::size_t i = 0; i < deleted.size(); ++i)
      if (deleted[i]) to_remove.push_back(i);
    if (to_remove.empty()) return sign_off();
    request(Pending::update);
  }

  void sign_off() {
    const auto [count, octets] = live_totals();
    if (count == 0) {
      ok("Postroom POP3 server signing off (maildrop empty)");
    } else {
      ok("Postroom POP3 server signing off (" + std::to_string(count) +
         (count == 1 ? " message left)" : " messages left)"));
    }
    close();
  }

  bool refuse_plaintext_login() {
    if (login_offered()) return false;
    err("[AUTH] Plaintext authentication disallowed on non-secure connections, use STLS first");
    return true;
  }

  void user_command(std::string_view name) {
    if (refuse_plaintext_login()) return;
    if (name.empty()) return error("syntax: USER name");
    user = std::string(name);
    ok("send PASS");
  }

  void pass_command(std::string_view password) {
    if (refuse_plaintext_login()) return;
    if (!user) return error("send USER first");
    // The whole rest of the line: a password may contain spaces (RFC 1939 7).
    begin_login(LoginMechanism::user_pass, std::exchange(user, std::nullopt).value(), std::string(password));
  }

  void auth(const std::vector<std::string_view>& args) {
    if (args.empty()) {
      // The mechanism list older clients ask for (RFC 1734 behaviour).
      ok("SASL mechanisms follow");
      output += login_offered() ? "PLAIN\r\n.\r\n" : ".\r\n";
      return;
    }
    if (refuse_plaintext_login()) return;
    if (upper(args[0]) != "PLAIN") return err("unsupported authentication mechanism");
    if (args.size() > 2) return error("syntax: AUTH PLAIN [initial-response]");
    if (args.size() == 2) return auth_plain(args[1] == "=" ? std::string_view{} : args[1]);
    output += "+ \r\n";
    phase = Phase::auth_plain_response;
  }

  void auth_plain_response(std::string_view line) {
    if (line == "*") return err("authentication cancelled");
    auth_plain(line);
  }

  // RFC 4616: [authzid] NUL authcid NUL passwd.
  void auth_plain(std::string_view base64) {
    const auto decoded = smtp::base64_decode(base64);
    if (!decoded) return error("invalid base64 in AUTH PLAIN response");
    const auto first = decoded->find('\0');
    const auto second = first == std::string::npos ? first : decoded->find('\0', first + 1);
    if (second == std::string::npos || decoded->find('\0', second + 1) != std::string::npos)
      return error("malformed AUTH PLAIN response");
    const std::string authzid = decoded->substr(0, first);
    std::string username = decoded->substr(first + 1, second - first - 1);
    // Acting as another user is not supported: an authorization identity must name the user itself.
    if (!authzid.empty() && authzid != username) return login_failed();
    begin_login(LoginMechanism::sasl_plain, std::move(username), decoded->substr(second + 1));
  }

  void begin_login(LoginMechanism mechanism, std::string username, std::string password) {
    attempt = LoginAttempt{mechanism, std::move(username), std::move(password), tls, connection.client_ip};
    request(Pending::open);
  }

  void login_failed() {
    ++login_failures;
    if (stats) stats->logins_failed.fetch_add(1, std::memory_order_relaxed);
    err("[AUTH] invalid login or password");
    const bool last = limits.max_login_failures > 0 && login_failures >= limits.max_login_failures;
    if (limits.login_failure_delay.count() > 0) {
      after_pause = last ? Next::close : Next::read;
      next = Next::pause;
      if (last) {
        phase = Phase::closed;
        state = State::closed;
      }
    } else if (last) {
      close();
    }
  }

  void stls(const std::vector<std::string_view>& args) {
    if (!args.empty()) return error("syntax: STLS");
    if (tls) return err("command not permitted when TLS active");
    if (!stls_offered()) return err("STLS not available");
    ok("Begin TLS negotiation");
    next = Next::start_tls;
  }

  void stat(const std::vector<std::string_view>& args) {
    if (!args.empty()) return error("syntax: STAT");
    const auto [count, octets] = live_totals();
    ok(std::to_string(count) + " " + std::to_string(octets));
  }

  std::string listing_line(std::size_t index, bool unique_ids) const {
    const MaildropMessage& m = maildrop->messages()[index];
    return std::to_string(index + 1) + " " + (unique_ids ? safe_uid(m.uid, index + 1) : std::to_string(m.size));
  }

  void list(const std::vector<std::string_view>& args, bool unique_ids) {
    if (args.size() > 1) return error(unique_ids ? "syntax: UIDL [msg]" : "syntax: LIST [msg]");
    if (args.size() == 1) {
      const auto index = message_number(args[0]);
      if (index) ok(listing_line(*index, unique_ids));
      return;
    }
    if (unique_ids) {
      ok("unique-id listing follows");
    } else {
      const auto [count, octets] = live_totals();
      ok(std::to_string(count) + (count == 1 ? " message (" : " messages (") + std::to_string(octets) + " octets)");
    }
    for (std::size_t i = 0; i < message_count(); ++i) {
      if (deleted[i]) continue;
      output += listing_line(i, unique_ids);
      output += "\r\n";
    }
    output += ".\r\n";
  }

  void retr(const std::vector<std::string_view>& args) {
    if (args.size() != 1) return error("syntax: RETR msg");
    const auto index = message_number(args[0]);
    if (!index) return;
    message_index = *index;
    whole_message = true;
    request(Pending::content);
  }

  void top(const std::vector<std::string_view>& args) {
    if (args.size() != 2) return error("syntax: TOP msg n");
    const auto lines = parse_number(args[1]);
    if (!lines && !args[1].empty() &&
        std::all_of(args[1].begin(), args[1].end(), [](char c) { return c >= '0' && c <= '9'; })) {
      top_lines = UINT64_MAX;  // more lines than any message has
    } else if (!lines) {
      return error("invalid number of lines");
    } else {
      top_lines = *lines;
    }
    const auto index = message_number(args[0]);
    if (!index) return;
    message_index = *index;
    whole_message = false;
    request(Pending::content);
  }

  void dele(const std::vector<std::string_view>& args) {
    if (args.size() != 1) return error("syntax: DELE msg");
    const auto index = message_number(args[0]);
    if (!index) return;
    deleted[*index] = true;
    ok("message " + std::to_string(*index + 1) + " deleted");
  }

  void rset(const std::vector<std::string_view>& args) {
    if (!args.empty()) return error("syntax: RSET");
    std::fill(deleted.begin(), deleted.end(), false);
    ok(maildrop_summary());
  }

  // ---- backend

  void request(Pending what) {
    pending = what;
    backend_failed = false;
    next = Next::backend;
  }

  void call(Backend& backend) {
    switch (pending) {
      case Pending::open:
        login = backend.open(attempt);
        break;
      case Pending::content:
        content = maildrop->content(message_index);
        if (content && whole_message) maildrop->retrieved(message_index);
        break;
      case Pending::update:
        removed = maildrop->remove(to_remove);
        break;
      case Pending::none:
        break;
    }
  }

  void finish_backend() {
    const Pending done = std::exchange(pending, Pending::none);
    next = Next::read;
    switch (done) {
      case Pending::open:
        return finish_login();
      case Pending::content:
        return finish_content();
      case Pending::update:
        if (backend_failed || !removed) return close_with("some deleted messages not removed");
        if (stats) stats->messages_deleted.fetch_add(to_remove.size(), std::memory_order_relaxed);
        return sign_off_after_update();
      case Pending::none:
        return;
    }
  }

  void sign_off_after_update() {
    // The deleted messages are gone; the sign-off counts what remains.
    std::uint64_t left = message_count() - to_remove.size();
    if (left == 0) {
      ok("Postroom POP3 server signing off (maildrop empty)");
    } else {
      ok("Postroom POP3 server signing off (" + std::to_string(left) +
         (left == 1 ? " message left)" : " messages left)"));
    }
    close();
  }

  void finish_login() {
    attempt = LoginAttempt{};
    LoginResult result = std::exchange(login, LoginResult{});
    if (backend_failed) return err("[SYS/TEMP] unable to open the maildrop, try again later");
    switch (result.status) {
      case LoginStatus::ok:
        if (!result.maildrop) return err("[SYS/TEMP] unable to open the maildrop, try again later");
        maildrop = std::move(result.maildrop);
        deleted.assign(maildrop->messages().size(), false);
        state = State::transaction;
        if (stats) stats->logins_succeeded.fetch_add(1, std::memory_order_relaxed);
        return ok(maildrop_summary());
      case LoginStatus::in_use:
        return err("[IN-USE] this sandbox is open in another POP3 session");
      case LoginStatus::unavailable:
        return err("[SYS/TEMP] unable to open the maildrop, try again later");
      case LoginStatus::invalid:
        return login_failed();
    }
  }

  void finish_content() {
    std::optional<std::string> bytes = std::exchange(content, std::nullopt);
    const std::string number = std::to_string(message_index + 1);
    if (backend_failed) return err("[SYS/TEMP] unable to read message " + number + ", try again later");
    if (!bytes) return err("message " + number + " is no longer available");
    const std::string message = normalize_line_endings(*bytes);
    bytes.reset();
    if (whole_message) {
      ok(std::to_string(message.size()) + " octets");
      append_multiline(output, message);
      if (stats) stats->messages_retrieved.fetch_add(1, std::memory_order_relaxed);
    } else {
      ok("top of message follows");
      append_multiline(output, top_of(message, top_lines));
    }
  }
};

Session::Session(const SessionLimits& limits, ConnectionInfo connection, bool tls_available, Pop3Stats* stats)
    : impl_(std::make_unique<Impl>(limits, std::move(connection), tls_available, stats)) {}

Session::~Session() = default;

void Session::start() { impl_->ok(impl_->limits.greeting); }

void Session::receive(std::string_view bytes) {
  Impl& s = *impl_;
  if (s.phase == Phase::closed) return;
  s.input.append(bytes);
  if (s.next == Next::read) s.process();
}

BackendCall Session::pending_call() const {
  switch (impl_->pending) {
    case Pending::content:
      return BackendCall::content;
    case Pending::update:
      return BackendCall::update;
    case Pending::open:
    case Pending::none:
      break;
  }
  return BackendCall::open;
}

void Session::run_backend(Backend& backend) {
  Impl& s = *impl_;
  try {
    s.call(backend);
  } catch (const std::exception&) {
    s.backend_failed = true;
  }
}

void Session::backend_done() {
  Impl& s = *impl_;
  if (s.pending == Pending::none) return;
  s.finish_backend();
  s.process();
}

std::chrono::milliseconds Session::pause_duration() const { return impl_->limits.login_failure_delay; }

void Session::resume() {
  Impl& s = *impl_;
  if (s.next != Next::pause) return;
  if (s.after_pause == Next::close) return s.close();
  s.next = Next::read;
  s.process();
}

void Session::tls_started() {
  Impl& s = *impl_;
  // RFC 2595 4: whatever the client sent before the handshake is discarded; the session starts over.
  s.tls = true;
  s.user.reset();
  s.input.clear();
  s.input_pos = 0;
  s.phase = Phase::command;
  s.next = Next::read;
  if (s.stats) s.stats->tls_started.fetch_add(1, std::memory_order_relaxed);
}

void Session::timeout() {
  Impl& s = *impl_;
  if (s.phase == Phase::closed) return;
  s.close_with("disconnected for inactivity");
}

void Session::shutdown() {
  Impl& s = *impl_;
  if (s.phase == Phase::closed) return;
  s.shutdown_requested = true;
  if (idle()) s.close_with("[SYS/TEMP] server shutting down");
}

void Session::disconnected() { impl_->close(); }

std::string Session::take_output() { return std::exchange(impl_->output, std::string()); }
bool Session::has_output() const { return !impl_->output.empty(); }
Session::Next Session::next() const { return impl_->next; }
Session::State Session::state() const { return impl_->state; }

bool Session::idle() const {
  const Impl& s = *impl_;
  return s.phase != Phase::closed && s.next == Next::read && s.pending == Pending::none;
}

bool Session::tls_active() const { return impl_->tls; }
int Session::errors() const { return impl_->errors; }

}  // namespace postroom::pop3
