#include "sandbox/forwarding.h"

#include <boost/json.hpp>

#include <algorithm>

#include <spdlog/spdlog.h>
#include "accounts/service.h"
#include "core/crypto.h"
#include "core/errors.h"
#include "mime/build.h"
#include "mime/raw_headers.h"
#include "mime/send_request.h"
#include "mime/text.h"
#include "sending/platform_mail.h"
#include "store/accounts_store.h"
#include "store/forwarding_store.h"
#include "store/inboxes_store.h"

namespace postroom::sandbox {
namespace json = boost::json;

namespace {

constexpr const char* kVerificationPrefix = "postroom-forwarding-verification=";

bool valid_domain(const std::string& domain) {
  if (domain.empty() || domain.size() > 253 || domain.find('.') == std::string::npos) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      if (label == 0 || label > 63 || domain[i - 1] == '-' || domain[i - label] == '-') return false;
      label = 0;
      continue;
    }
    const char c = domain[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    ++label;
  }
  return true;
}

std::string domain_part(const std::string& email) {
  const auto at = email.rfind('@');
  return at == std::string::npos ? std::string() : email.substr(at + 1);
}

// Addresses of the To and Cc lists in the stored summary (Bcc is ignored, as the docs say).
std::vector<std::string> visible_recipients(const MessageSummary& message) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  const json::value recipients = json::parse(message.recipients_json, ec);
  if (ec || !recipients.is_object()) return out;
  for (const char* field : {"to", "cc"}) {
    const json::value* list = recipients.as_object().if_contains(field);
    if (!list || !list->is_array()) continue;
    for (const json::value& entry : list->as_array()) {
      const json::value* email = entry.is_object() ? entry.as_object().if_contains("email") : nullptr;
      if (email && email->is_string()) out.push_back(mime::text::ascii_lower(email->as_string()));
    }
  }
  return out;
}

}  // namespace

std::string forward_from_address(const std::string& smtp_username, std::int64_t inbox_id,
                                 const std::string& forward_domain) {
  return smtp_username + "-i" + std::to_string(inbox_id) + "@" + forward_domain;
}

std::string rewrite_for_forwarding(std::string_view raw, const std::string& from_address) {
  const std::string original_from = mime::raw_header(raw, "From").value_or("");
  const std::string stripped = mime::remove_headers(
      raw, {"From", "Sender", "Return-Path", "DKIM-Signature", "X-Mailtrap-Original-From", "Delivered-To"});
  std::vector<std::pair<std::string, std::string>> fields{{"From", "Postroom Forward <" + from_address + ">"}};
  if (!original_from.empty()) fields.emplace_back("X-Mailtrap-Original-From", original_from);
  return mime::prepend_headers(stripped, fields);
}

ForwardingService::ForwardingService(store::Database& db, const Clock& clock, const PlanLimits& plans,
                                     ForwardingSettings settings, MessagesService& messages, EventHub& events,
                                     std::shared_ptr<const dns::Resolver> resolver)
    : db_(db),
      clock_(clock),
      plans_(plans),
      settings_(std::move(settings)),
      messages_(messages),
      events_(events),
      resolver_(std::move(resolver)) {}

ForwardingService::~ForwardingService() { stop(); }

void ForwardingService::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  automatic_inboxes_.clear();
  for (const ForwardRule& rule : db_.read([](store::Tx& tx) { return store::ForwardingStore(tx).active_automatic(); }))
    automatic_inboxes_.insert(rule.inbox_id);
  subscription_ = events_.subscribe([this](const SandboxEvent& event) {
    if (event.type != SandboxEvent::Type::message_created) return;
    std::lock_guard lock(mutex_);
    // The capture path publishes on its commit thread: only a set lookup here, the work runs on our thread.
    if (stopping_ || !automatic_inboxes_.contains(event.inbox_id)) return;
    pending_.push_back({event.account_id, event.inbox_id, event.message_id});
    wake_.notify_one();
  });
  thread_ = std::thread([this] { worker(); });
}

void ForwardingService::stop() {
  if (subscription_) {
    events_.unsubscribe(*subscription_);
    subscription_.reset();
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void ForwardingService::worker() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) break;  // stopping with nothing left
    const Pending next = pending_.front();
    pending_.pop_front();
    lock.unlock();
    try {
      automatic_forward(next);
    } catch (const std::exception& e) {
      spdlog::warn("automatic forwarding of message {} failed: {}", next.message_id, e.what());
    }
    lock.lock();
  }
}

void ForwardingService::refresh_automatic_inboxes() {
  auto rules = db_.read([](store::Tx& tx) { return store::ForwardingStore(tx).active_automatic(); });
  std::lock_guard lock(mutex_);
  automatic_inboxes_.clear();
  for (const ForwardRule& rule : rules) automatic_inboxes_.insert(rule.inbox_id);
}

std::vector<ForwardRule> ForwardingService::rules(std::int64_t account_id, std::int64_t inbox_id) {
  return db_.read([&](store::Tx& tx) {
    if (!store::InboxesStore(tx).find(account_id, inbox_id)) throw NotFound();
    return store::ForwardingStore(tx).list(account_id, inbox_id);
  });
}

ForwardRule ForwardingService::load_rule(std::int64_t account_id, std::int64_t inbox_id, std::int64_t rule_id) {
  auto rule = db_.read([&](store::Tx& tx) { return store::ForwardingStore(tx).find(account_id, inbox_id, rule_id); });
  if (!rule) throw NotFound();
  return *rule;
}

Inbox ForwardingService::load_inbox(std::int64_t account_id, std::int64_t inbox_id) {
  auto inbox = db_.read([&](store::Tx& tx) { return store::InboxesStore(tx).find(account_id, inbox_id); });
  if (!inbox) throw NotFound();
  return std::move(*inbox);
}

std::string ForwardingService::forward_address(const Inbox& inbox) const {
  return forward_from_address(inbox.smtp_username, inbox.id, settings_.forward_domain);
}

void ForwardingService::check_new_rule(std::int64_t account_id, std::int64_t inbox_id, const std::string& kind,
                                       const std::string& purpose, const std::string& value) {
  db_.read([&](store::Tx& tx) {
    if (!store::InboxesStore(tx).find(account_id, inbox_id)) throw NotFound();
    store::ForwardingStore rules(tx);
    if (rules.find_value(inbox_id, kind, purpose, value))
      throw ValidationError(kind == forward_kind::email ? "email" : "domain", "has already been added");
    if (rules.count(account_id) >= settings_.max_rules_per_account)
      throw ValidationError(
          "base", "The limit of " + std::to_string(settings_.max_rules_per_account) + " forwarding rules is reached");
  });
}

sending::PlatformMail ForwardingService::confirmation_mail(const ForwardRule& rule, const std::string& token,
                                                           const Inbox& inbox) const {
  const std::string link = settings_.public_url + "/forwarding/confirm/" + token;
  const std::string what = rule.purpose == forward_purpose::automatic ? "automatically forward" : "forward";
  const std::string from_address = forward_address(inbox);
  const std::string& inbox_name = inbox.name;
  mime::OutgoingMessage message;
  message.from = {"Postroom Forward", from_address};
  message.to = {{"", rule.value}};
  message.subject = "Confirm email forwarding from the sandbox \"" + inbox_name + "\"";
  message.text = "Someone asked Postroom to " + what + " test emails captured in the sandbox \"" + inbox_name +
                 "\" to " + rule.value + ".\r\n\r\nTo agree, open this link and press Confirm:\r\n" + link +
                 "\r\n\r\nIf you did not expect this, ignore this email: nothing is forwarded to you without "
                 "your confirmation.\r\n";
  message.html = "<p>Someone asked Postroom to " + what + " test emails captured in the sandbox <b>" +
                 mime::text::escape_html(inbox_name) + "</b> to " + mime::text::escape_html(rule.value) +
                 ".</p><p><a href=\"" + mime::text::escape_html(link) +
                 "\">Confirm forwarding</a></p><p>If you did not expect this, ignore this email: nothing is "
                 "forwarded to you without your confirmation.</p>";
  mime::BuildOptions options;
  options.message_id_domain = settings_.forward_domain;
  options.date = clock_.now();
  return {.account_id = rule.account_id,
          .from = from_address,
          .mail_from = from_address,
          .to = rule.value,
          .subject = message.subject,
          .raw = mime::build_message(message, options)};
}

ForwardRule ForwardingService::add_address(std::int64_t account_id, std::int64_t inbox_id, const std::string& email,
                                           const std::string& purpose) {
  const std::string address = mime::text::ascii_lower(mime::text::trim(email));
  if (address.empty()) throw ValidationError("email", "can't be blank");
  if (!mime::is_valid_email(address)) throw ValidationError("email", "is invalid");
  if (purpose != forward_purpose::manual && purpose != forward_purpose::automatic)
    throw ValidationError("purpose", "must be manual or auto");
  check_new_rule(account_id, inbox_id, std::string(forward_kind::email), purpose, address);
  const Inbox inbox = load_inbox(account_id, inbox_id);

  const std::int64_t now = clock_.now();
  ForwardRule rule;
  rule.account_id = account_id;
  rule.inbox_id = inbox_id;
  rule.kind = std::string(forward_kind::email);
  rule.purpose = purpose;
  rule.value = address;
  rule.created_at = now;
  const std::string token = crypto::new_api_token();
  std::optional<std::int64_t> queued;
  db_.write([&](store::Tx& tx) {
    store::ForwardingStore store(tx);
    // The owner already agreed to mail from this account's sandboxes: no second confirmation.
    bool confirmed = false;
    for (const auto& other : store.list_account_emails(account_id, address))
      confirmed = confirmed || other.status == forward_status::active;
    rule.status = std::string(confirmed ? forward_status::active : forward_status::pending);
    rule.token_hash = crypto::sha256_hex(token);
    if (confirmed) {
      rule.confirmed_at = now;
    } else {
      rule.confirmation_sent_at = now;
      queued = sending::store_platform_mail(tx, confirmation_mail(rule, token, inbox), now);
    }
    rule.id = store.add(rule);
  });
  if (queued && on_enqueued_) on_enqueued_({*queued});
  if (rule.status == forward_status::active && purpose == forward_purpose::automatic) refresh_automatic_inboxes();
  return rule;
}

ForwardRule ForwardingService::add_domain(std::int64_t account_id, std::int64_t inbox_id, const std::string& domain) {
  std::string name = mime::text::ascii_lower(mime::text::trim(domain));
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name.empty()) throw ValidationError("domain", "can't be blank");
  if (!valid_domain(name)) throw ValidationError("domain", "is invalid");
  const std::string purpose(forward_purpose::automatic);
  check_new_rule(account_id, inbox_id, std::string(forward_kind::domain), purpose, name);
  ForwardRule rule;
  rule.account_id = account_id;
  rule.inbox_id = inbox_id;
  rule.kind = std::string(forward_kind::domain);
  rule.purpose = purpose;
  rule.value = name;
  rule.status = std::string(forward_status::pending);
  rule.verification_value = kVerificationPrefix + crypto::random_hex(32);
  rule.created_at = clock_.now();
  db_.write([&](store::Tx& tx) { rule.id = store::ForwardingStore(tx).add(rule); });
  return rule;
}

ForwardRule ForwardingService::resend_confirmation(std::int64_t account_id, std::int64_t inbox_id,
                                                   std::int64_t rule_id) {
  ForwardRule rule = load_rule(account_id, inbox_id, rule_id);
  if (rule.kind != forward_kind::email) throw ValidationError("base", "Only email addresses are confirmed by email");
  if (rule.status == forward_status::active) throw ValidationError("base", "This address is already confirmed");
  const Inbox inbox = load_inbox(account_id, inbox_id);
  const std::int64_t now = clock_.now();
  // A new link; the old one stops working.
  const std::string token = crypto::new_api_token();
  rule.token_hash = crypto::sha256_hex(token);
  rule.confirmation_sent_at = now;
  std::int64_t queued = 0;
  db_.write([&](store::Tx& tx) {
    store::ForwardingStore(tx).save(rule);
    queued = sending::store_platform_mail(tx, confirmation_mail(rule, token, inbox), now);
  });
  if (on_enqueued_) on_enqueued_({queued});
  return rule;
}

ForwardRule ForwardingService::verify_domain(std::int64_t account_id, std::int64_t inbox_id, std::int64_t rule_id) {
  ForwardRule rule = load_rule(account_id, inbox_id, rule_id);
  if (rule.kind != forward_kind::domain) throw ValidationError("base", "Only domains are verified by DNS");
  if (rule.status == forward_status::active) return rule;
  const dns::Answer answer = resolver_->resolve(rule.value, dns::RecordType::txt);
  const std::vector<std::string> found = answer.txt_joined();
  const bool verified = std::any_of(found.begin(), found.end(), [&](const std::string& txt) {
    return mime::text::trim(txt) == rule.verification_value.value_or("");
  });
  if (!verified) {
    std::string seen;
    if (answer.ok()) {
      for (const auto& txt : found) seen += (seen.empty() ? "" : ", ") + ("\"" + txt + "\"");
    } else {
      seen = std::string(dns::to_string(answer.status));
    }
    throw ValidationError("base", "TXT record \"" + rule.verification_value.value_or("") + "\" not found at " +
                                      rule.value + " (DNS answered: " + (seen.empty() ? "no TXT records" : seen) + ")");
  }
  rule.status = std::string(forward_status::active);
  rule.confirmed_at = clock_.now();
  db_.write([&](store::Tx& tx) { store::ForwardingStore(tx).save(rule); });
  refresh_automatic_inboxes();
  return rule;
}

void ForwardingService::remove_rule(std::int64_t account_id, std::int64_t inbox_id, std::int64_t rule_id) {
  const bool removed =
      db_.write([&](store::Tx& tx) { return store::ForwardingStore(tx).remove(account_id, inbox_id, rule_id); });
  if (!removed) throw NotFound();
  refresh_automatic_inboxes();
}

ForwardRule ForwardingService::rule_for_token(const std::string& token) {
  if (token.size() != 64) throw NotFound();
  auto rule =
      db_.read([&](store::Tx& tx) { return store::ForwardingStore(tx).find_by_token_hash(crypto::sha256_hex(token)); });
  if (!rule) throw NotFound();
  return *rule;
}

ForwardRule ForwardingService::confirm(const std::string& token) {
  ForwardRule rule = rule_for_token(token);
  if (rule.status == forward_status::active) return rule;
  rule.status = std::string(forward_status::active);
  rule.confirmed_at = clock_.now();
  db_.write([&](store::Tx& tx) { store::ForwardingStore(tx).save(rule); });
  if (rule.purpose == forward_purpose::automatic) refresh_automatic_inboxes();
  return rule;
}

void ForwardingService::forward(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id,
                                const std::string& email) {
  const std::string address = mime::text::ascii_lower(mime::text::trim(email));
  if (address.empty()) throw ValidationError("email", "can't be blank");
  if (!mime::is_valid_email(address)) throw ValidationError("email", "is invalid");
  messages_.get(account_id, inbox_id, message_id);  // NotFound first
  const auto rules = db_.read([&](store::Tx& tx) { return store::ForwardingStore(tx).list(account_id, inbox_id); });
  const bool confirmed = std::any_of(rules.begin(), rules.end(), [&](const ForwardRule& rule) {
    if (rule.status != forward_status::active) return false;
    return rule.kind == forward_kind::email ? rule.value == address : rule.value == domain_part(address);
  });
  if (!confirmed)
    throw ForwardRefused(422, "The email address " + address +
                                  " is not confirmed for forwarding from this sandbox: add it to the sandbox's "
                                  "forwarding addresses and let its owner confirm it first");
  if (send_forward(account_id, inbox_id, message_id, {address}) == 0)
    throw ForwardRefused(403, "The monthly forwarding limit of " + std::to_string(plans_.testing_forward_limit) +
                                  " messages is reached");
}

std::size_t ForwardingService::send_forward(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id,
                                            const std::vector<std::string>& addresses) {
  const std::string from_address = forward_address(load_inbox(account_id, inbox_id));
  const std::string raw = rewrite_for_forwarding(messages_.raw(account_id, inbox_id, message_id), from_address);
  const std::string subject = messages_.get(account_id, inbox_id, message_id).subject;
  const std::int64_t now = clock_.now();
  std::vector<std::int64_t> queued;
  db_.write([&](store::Tx& tx) {
    queued.clear();
    const auto account = store::AccountStore(tx).find(account_id);
    if (!account) throw NotFound();
    const std::int64_t cycle_start = accounts::AccountsService::billing_cycle(account->created_at, now).first;
    store::UsageStore usage(tx);
    std::int64_t used = usage.get(account_id, accounts::usage_metric::testing_forwarded, cycle_start);
    store::ForwardingStore rules(tx);
    for (const std::string& address : addresses) {
      if (plans_.testing_forward_limit >= 0 && used >= plans_.testing_forward_limit) break;
      queued.push_back(sending::store_platform_mail(tx,
                                                    {.account_id = account_id,
                                                     .from = from_address,
                                                     .mail_from = from_address,
                                                     .to = address,
                                                     .subject = subject,
                                                     .raw = raw},
                                                    now));
      rules.count_forwarded(inbox_id);
      usage.increment(account_id, accounts::usage_metric::testing_forwarded, cycle_start, 1);
      ++used;
    }
  });
  if (!queued.empty() && on_enqueued_) on_enqueued_(queued);
  return queued.size();
}

void ForwardingService::automatic_forward(const Pending& pending) {
  std::optional<MessageSummary> message;
  try {
    message = messages_.get(pending.account_id, pending.inbox_id, pending.message_id);
  } catch (const NotFound&) {
    return;  // already gone (evicted or deleted)
  }
  // Mail that is itself a forward from a sandbox is not forwarded again (no loops between sandboxes).
  if (domain_part(mime::text::ascii_lower(message->from_email)) == settings_.forward_domain) return;
  const auto rules =
      db_.read([&](store::Tx& tx) { return store::ForwardingStore(tx).list(pending.account_id, pending.inbox_id); });
  std::vector<std::string> targets;
  for (const std::string& recipient : visible_recipients(*message)) {
    const bool matches = std::any_of(rules.begin(), rules.end(), [&](const ForwardRule& rule) {
      if (rule.status != forward_status::active || rule.purpose != forward_purpose::automatic) return false;
      return rule.kind == forward_kind::email ? rule.value == recipient : rule.value == domain_part(recipient);
    });
    if (matches && std::find(targets.begin(), targets.end(), recipient) == targets.end()) targets.push_back(recipient);
  }
  if (targets.empty()) return;
  const std::size_t sent = send_forward(pending.account_id, pending.inbox_id, pending.message_id, targets);
  if (sent < targets.size())
    spdlog::warn("sandbox {}: monthly forwarding limit reached, {} of {} automatic forwards of message {} not sent",
                 pending.inbox_id, targets.size() - sent, targets.size(), pending.message_id);
}

}  // namespace postroom::sandbox
