#include "sandbox/smtp_capture.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/crypto.h"

namespace postroom::sandbox {
namespace {

// Per-transaction state: the sandboxes the message goes to. Their limits are counted at the end of DATA.
struct Targets {
  std::vector<CaptureTarget> targets;
};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "no+such+user%21" → "no such user!"
std::string url_decode_words(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

bool is_enhanced_code(std::string_view text) {
  // class.subject.detail: 2/4/5, then 1-3 digits, then 1-3 digits
  const auto first = text.find('.');
  const auto second = first == std::string_view::npos ? first : text.find('.', first + 1);
  if (second == std::string_view::npos || first != 1) return false;
  if (text[0] != '2' && text[0] != '4' && text[0] != '5') return false;
  auto digits = [](std::string_view part) {
    return !part.empty() && part.size() <= 3 &&
           std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  };
  return digits(text.substr(first + 1, second - first - 1)) && digits(text.substr(second + 1));
}

smtp::Reply auth_required() { return smtp::Reply::make(530, "5.7.1", "Authentication required"); }

void add_target(Targets& state, const CaptureTarget& target) {
  const bool known = std::any_of(state.targets.begin(), state.targets.end(),
                                 [&](const CaptureTarget& t) { return t.inbox_id == target.inbox_id; });
  if (!known) state.targets.push_back(target);
}

Targets& targets_of(smtp::Transaction& transaction) {
  if (!transaction.data) transaction.data = std::make_shared<Targets>();
  return *std::static_pointer_cast<Targets>(transaction.data);
}

std::optional<smtp::Reply> refusal(Admission admission) {
  switch (admission) {
    case Admission::rate_limited:
      return smtp::Reply::make(550, "5.7.0", "Requested action not taken: too many emails per second");
    case Admission::monthly_limit_reached:
      return smtp::Reply::make(535, "5.7.0", "Monthly messages limit reached");
    case Admission::accepted:
      break;
  }
  return std::nullopt;
}

}  // namespace

std::optional<smtp::Reply> bounce_emulator_reply(std::string_view local_part) {
  const std::string lowered = lower(local_part);
  if (!lowered.starts_with("bounce+")) return std::nullopt;
  std::string_view rest = local_part.substr(7);
  const auto plus = rest.find('+');
  const std::string_view code_text = rest.substr(0, plus);
  if (code_text.size() != 3 || !std::all_of(code_text.begin(), code_text.end(),
                                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return std::nullopt;
  const int code = std::stoi(std::string(code_text));
  if (code < 400 || code > 599) return std::nullopt;
  rest = plus == std::string_view::npos ? std::string_view{} : rest.substr(plus + 1);
  std::string enhanced;
  const auto next = rest.find('+');
  const std::string_view maybe_enhanced = rest.substr(0, next);
  if (is_enhanced_code(maybe_enhanced) && maybe_enhanced[0] == code_text[0]) {
    enhanced = std::string(maybe_enhanced);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
  }
  std::string text = url_decode_words(rest);
  if (text.empty()) text = "Bounce emulated";
  return smtp::Reply::make(code, enhanced, text);
}

SmtpCapture::SmtpCapture(InboxesService& inboxes, MessagesService& messages, const SandboxSettings& settings,
                         bool local_storage)
    : inboxes_(inboxes), messages_(messages), settings_(settings), local_storage_(local_storage) {}

smtp::SessionPolicy SmtpCapture::session_policy(const smtp::ConnectionInfo&) {
  smtp::SessionPolicy policy;
  // Mail to a sandbox's own address needs no login, so MAIL is allowed before AUTH; RCPT decides.
  policy.auth_required = false;
  policy.auth_required_reply = auth_required();
  return policy;
}

smtp::AuthResult SmtpCapture::authenticate(const smtp::AuthAttempt& attempt) {
  const auto invalid = smtp::AuthResult::reject(smtp::Reply::make(535, "5.7.0", "Invalid login or password"));
  const auto inbox = inboxes_.find_by_smtp_username(attempt.username);
  if (!inbox) return invalid;
  const bool valid = attempt.mechanism == smtp::AuthMechanism::cram_md5
                         ? smtp::verify_cram_md5(attempt, inbox->smtp_password)
                         : crypto::constant_time_equals(attempt.password, inbox->smtp_password);
  if (!valid) return invalid;
  if (messages_.monthly_limit_reached(inbox->account_id))
    return smtp::AuthResult::reject(smtp::Reply::make(535, "5.7.0", "Monthly messages limit reached"));
  auto target = std::make_shared<CaptureTarget>(
      CaptureTarget{inbox->account_id, inbox->inbox_id, inbox->max_messages, inbox->max_message_size});
  return smtp::AuthResult::accept(std::move(target));
}

smtp::Reply SmtpCapture::mail_from(smtp::Transaction& transaction) {
  Targets& state = targets_of(transaction);
  if (!transaction.identity) return smtp::Reply::ok();  // RCPT decides (sandbox addresses, default sandbox)
  const auto target = std::static_pointer_cast<CaptureTarget>(transaction.identity->data);
  // Refuse early, but count the message only when it is delivered (an abandoned transaction uses no rate).
  if (auto refused = refusal(messages_.peek(*target))) return *refused;
  add_target(state, *target);
  transaction.max_message_size = static_cast<std::size_t>(messages_.max_message_size(*target));
  return smtp::Reply::ok();
}

smtp::Reply SmtpCapture::rcpt_to(smtp::Transaction& transaction, const smtp::Address& recipient) {
  if (auto bounce = bounce_emulator_reply(recipient.local_part)) return *bounce;
  Targets& state = targets_of(transaction);
  if (transaction.identity) return smtp::Reply::ok();  // every recipient lands in the authenticated sandbox
  if (!settings_.email_domain.empty() && lower(recipient.domain) == lower(settings_.email_domain)) {
    const auto route = inboxes_.find_by_email_username(recipient.local_part);
    if (!route) return smtp::Reply::make(554, "5.5.1", "Error: no sandbox for this email");
    add_target(state, CaptureTarget{route->account_id, route->inbox_id, route->max_messages, route->max_message_size});
  } else if (settings_.default_inbox_id > 0) {
    const auto target = messages_.target_for(settings_.default_inbox_id);
    if (!target) return auth_required();
    add_target(state, *target);
  } else {
    return auth_required();
  }
  std::int64_t smallest = 0;
  for (const CaptureTarget& target : state.targets) {
    const std::int64_t limit = messages_.max_message_size(target);
    smallest = smallest == 0 ? limit : std::min(smallest, limit);
  }
  transaction.max_message_size = static_cast<std::size_t>(smallest);
  return smtp::Reply::ok();
}

Envelope SmtpCapture::envelope_of(const smtp::Transaction& transaction) {
  Envelope envelope;
  envelope.mail_from = transaction.mail_from.text();
  for (const smtp::Address& r : transaction.recipients) envelope.rcpt_to.push_back(r.text());
  envelope.client_ip = transaction.connection.client_ip;
  envelope.helo = transaction.helo;
  envelope.tls = transaction.tls;
  envelope.auth_user = transaction.identity ? transaction.identity->username : "";
  envelope.via = "smtp";
  return envelope;
}

std::optional<smtp::Reply> SmtpCapture::check_targets(const smtp::Transaction& transaction) {
  if (!transaction.data) return smtp::Reply::make(554, "5.5.1", "Error: no valid recipients");
  // Every sandbox must take the message before any keeps a copy: a refused message is stored nowhere (the
  // client retries it, and a partial capture would then be a duplicate).
  for (const CaptureTarget& target : std::static_pointer_cast<Targets>(transaction.data)->targets) {
    // A sandbox deleted since MAIL/RCPT (a long-lived session) is gone for good: a permanent refusal, not 451.
    if (!messages_.target_for(target.inbox_id))
      return smtp::Reply::make(554, "5.5.1", "Error: no sandbox for this email");
    if (auto refused = refusal(messages_.peek(target))) return refused;
  }
  return std::nullopt;
}

bool SmtpCapture::deliver_async(const smtp::Transaction& transaction, std::string& message,
                                std::function<void(smtp::Reply)> done) {
  // One sandbox, embedded store: the checks are local reads and the write completes from the store's commit.
  // Several sandboxes take the blocking path, which stores the copies one after another.
  if (!local_storage_ || !transaction.data || std::static_pointer_cast<Targets>(transaction.data)->targets.size() != 1)
    return false;
  if (auto refused = check_targets(transaction)) {
    done(*refused);
    return true;
  }
  const CaptureTarget target = std::static_pointer_cast<Targets>(transaction.data)->targets.front();
  if (auto refused = refusal(messages_.admit(target))) {
    done(*refused);
    return true;
  }
  const std::string raw = std::move(message);
  try {
    messages_.capture_async(target, raw, envelope_of(transaction), [done](std::optional<std::int64_t> id) {
      if (!id) return done(smtp::Reply::make(451, "4.3.0", "Error: local error in processing, try again later"));
      std::string text = "Ok: queued as ";
      text += std::to_string(*id);
      done(smtp::Reply::make(250, "2.0.0", std::move(text)));
    });
  } catch (const std::exception& e) {  // preparing the message failed: nothing was stored
    spdlog::error("sandbox capture into inbox {} failed: {}", target.inbox_id, e.what());
    done(smtp::Reply::make(451, "4.3.0", "Error: local error in processing, try again later"));
  }
  return true;
}

smtp::Reply SmtpCapture::deliver(const smtp::Transaction& transaction, std::string message) {
  if (auto refused = check_targets(transaction)) return *refused;
  const Targets& state = *std::static_pointer_cast<Targets>(transaction.data);
  const Envelope envelope = envelope_of(transaction);
  std::string ids;
  for (const CaptureTarget& target : state.targets) {
    if (auto refused = refusal(messages_.admit(target))) return *refused;
    try {
      const std::int64_t id = messages_.capture(target, message, envelope);
      if (!ids.empty()) ids += ' ';
      ids += std::to_string(id);
    } catch (const std::exception& e) {
      spdlog::error("sandbox capture into inbox {} failed: {}", target.inbox_id, e.what());
      return smtp::Reply::make(451, "4.3.0", "Error: local error in processing, try again later");
    }
  }
  return smtp::Reply::make(250, "2.0.0", "Ok: queued as " + ids);
}

}  // namespace postroom::sandbox
