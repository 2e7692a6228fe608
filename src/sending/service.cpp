#include "sending/service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <future>

#include "core/clock.h"
#include "core/compression.h"
#include "core/crypto.h"
#include "core/csv.h"
#include "core/errors.h"
#include "domains/records.h"
#include "email_templates/service.h"
#include "mime/message.h"
#include "mime/raw_headers.h"
#include "mime/send_request.h"
#include "mime/text.h"
#include "store/accounts_store.h"

namespace postroom::sending {
namespace {

namespace json = boost::json;
using store::SendingStore;
using store::Tx;

constexpr std::string_view kPlaceholder = "__unsubscribe_url__";
constexpr int kLogPageSize = 50;
const std::string kDomainNotAllowed = "550 5.7.1 Sending from domain is not allowed";

std::string lower(std::string_view text) { return mime::text::ascii_lower(text); }

bool has_unsubscribe_link(const std::optional<std::string>& html) {
  if (!html) return false;
  const std::string l = lower(*html);
  return l.find(std::string(kPlaceholder)) != std::string::npos || l.find("unsubscribe") != std::string::npos;
}

void replace_all(std::string& text, std::string_view from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
    text.replace(pos, from.size(), to);
}

// X-MT-Custom-Variables: a JSON object of at most 1000 bytes; array values keep their first element. Anything
// else is ignored (nullopt), as the seed says.
std::optional<std::string> custom_variables_from_header(const std::optional<std::string>& header) {
  if (!header || header->size() > mime::kMaxCustomVariablesBytes) return std::nullopt;
  boost::system::error_code ec;
  json::value parsed = json::parse(*header, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  for (auto& [key, value] : parsed.as_object()) {
    if (value.is_array()) value = value.as_array().empty() ? json::value(nullptr) : value.as_array().front();
  }
  return json::serialize(parsed);
}

// A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Ids made one after another
// sort together, so the unique index on sent_messages.uuid grows at its end instead of dirtying a random page
// of it (one more page written to the WAL) for every message.
std::string time_ordered_uuid(std::int64_t unix_ms) {
  std::string bytes = crypto::random_bytes(16);
  for (int i = 0; i < 6; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((unix_ms >> (40 - 8 * i)) & 0xff);
  bytes[6] = static_cast<char>((bytes[6] & 0x0f) | 0x70);  // version 7
  bytes[8] = static_cast<char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    const auto byte = static_cast<unsigned char>(bytes[i]);
    out += kHex[byte >> 4];
    out += kHex[byte & 0x0f];
  }
  return out;
}

}  // namespace

std::string_view to_string(Stream stream) {
  switch (stream) {
    case Stream::bulk:
      return "bulk";
    case Stream::forward:
      return "sandbox_forward";
    case Stream::transactional:
      break;
  }
  return "transactional";
}

std::optional<Stream> parse_stream(std::string_view text) {
  if (text == "transactional") return Stream::transactional;
  if (text == "bulk") return Stream::bulk;
  if (text == "sandbox_forward") return Stream::forward;
  return std::nullopt;
}

Suppression suppression_for(const SentMessage& message, std::string type, std::int64_t now) {
  Suppression s;
  s.id = crypto::new_uuid();
  s.account_id = message.account_id;
  s.domain_id = message.domain_id;
  s.domain_name = message.domain_name;
  s.email = message.to;
  s.type = std::move(type);
  s.sending_stream = std::string(to_string(message.stream));
  s.created_at = now;
  s.message_category = message.category;
  s.message_client_ip = message.client_ip;
  s.message_created_at = message.created_at;
  s.message_sender_email = message.from;
  s.message_subject = message.subject;
  return s;
}

std::string domain_of(const std::string& email) {
  const auto at = email.rfind('@');
  if (at == std::string::npos) return {};
  std::string domain = lower(email.substr(at + 1));
  while (!domain.empty() && (domain.back() == '>' || domain.back() == '.' || domain.back() == ' ')) domain.pop_back();
  return domain;
}

std::string unsubscribe_footer_html(const std::string& url) {
  return "<div style=\"margin-top:24px;font-size:12px;color:#777\">If you no longer wish to receive these emails, "
         "you can <a href=\"" +
         url + "\">unsubscribe</a>.</div>";
}

std::string unsubscribe_footer_text(const std::string& url) {
  return "\n\n--\nIf you no longer wish to receive these emails, unsubscribe: " + url + "\n";
}

SendingService::SendingService(store::Database& db, accounts::AccountsService& accounts,
                               domains::DomainsService& domains, email_templates::TemplatesService* templates,
                               const Clock& clock, SendingSettings settings)
    : db_(db),
      accounts_(accounts),
      domains_(domains),
      templates_(templates),
      clock_(clock),
      settings_(std::move(settings)) {}

domains::SendingDomain SendingService::live_domain(const Sender& sender, const std::string& from_email) {
  const std::string name = domain_of(from_email);
  const auto domain = name.empty() ? std::nullopt : domains_.find_live(sender.account_id, name);
  if (!domain || (!domain->demo && domain->compliance_status != domains::compliance::compliant))
    throw SendRefused(403, "Sending from domain " + (name.empty() ? from_email : name) + " is not allowed",
                      kDomainNotAllowed);
  return *domain;
}

void SendingService::check_domain_access(const Sender& sender, const domains::SendingDomain& domain) {
  const int level = accounts_.level_on(sender.principal, {accounts::ResourceType::sending_domain, domain.id});
  if (level < accounts::level::admin)
    throw SendRefused(403, "This API token has no access to the sending domain " + domain.domain_name,
                      kDomainNotAllowed);
}

void SendingService::check_sender_domain(const Sender& sender, const std::string& mail_from) {
  check_domain_access(sender, live_domain(sender, mail_from));
}

void SendingService::check_recipients(const Sender& sender, const domains::SendingDomain& domain,
                                      const std::vector<Recipient>& recipients, bool name_the_recipient) {
  if (!domain.demo) return;
  const auto users = db_.read([&](Tx& tx) { return SendingStore(tx).user_emails(sender.account_id); });
  for (const auto& r : recipients) {
    if (std::find(users.begin(), users.end(), r.email) == users.end())
      throw SendRefused(403,
                        "The demo domain can only send to the account's own email addresses" +
                            (name_the_recipient ? " (" + r.email + ")" : std::string()),
                        "550 5.7.1 The demo domain can only send to the account's own email addresses");
  }
}

void SendingService::check_limits(const Sender& sender, std::size_t count) {
  if (settings_.monthly_limit < 0) return;  // unlimited: no need to read the usage counter
  const auto usage = accounts_.billing_usage(sender.account_id);
  if (usage.sending_sent.limit &&
      usage.sending_sent.current + static_cast<std::int64_t>(count) > *usage.sending_sent.limit)
    throw SendRefused(403, "Monthly messages limit reached", "535 5.7.0 Monthly messages limit reached");
}

std::vector<std::pair<std::string, std::string>> SendingService::common_headers(const Sender& sender,
                                                                                const domains::SendingDomain& domain,
                                                                                const std::string& category) {
  // Feedback-ID (Gmail's feedback loop): campaign-ish:customer:stream:sender id.
  const std::string feedback_category = category.empty() ? "default" : category;
  std::string safe;
  for (char c : feedback_category) safe += (c == ':' || c == '\r' || c == '\n') ? '-' : c;
  return {{"Feedback-ID",
           safe + ":" + std::to_string(sender.account_id) + ":" + std::string(to_string(sender.stream)) + ":postroom"},
          {"CFBL-Address", "fbl@" + settings_.bounce_host + "; report=arf"}};
}

namespace {

// A blocking accept on top of an asynchronous one, for callers that may wait (SMTP submission workers).
Accepted wait_for_commit(const std::function<void(SendingService::AcceptedCallback)>& start) {
  auto committed = std::make_shared<std::promise<Accepted>>();
  std::future<Accepted> outcome = committed->get_future();
  start([committed](Accepted accepted, std::exception_ptr error) {
    error ? committed->set_exception(std::move(error)) : committed->set_value(std::move(accepted));
  });
  return outcome.get();
}

}  // namespace

Accepted SendingService::accept(const Sender& sender, mime::OutgoingMessage message) {
  return wait_for_commit([&](AcceptedCallback done) { accept_async(sender, std::move(message), std::move(done)); });
}

Accepted SendingService::accept_raw(const Sender& sender, std::string_view raw, const std::string& mail_from,
                                    const std::vector<std::string>& recipients) {
  return wait_for_commit(
      [&](AcceptedCallback done) { accept_raw_async(sender, raw, mail_from, recipients, std::move(done)); });
}

void SendingService::accept_async(const Sender& sender, mime::OutgoingMessage message, AcceptedCallback done) {
  // The domain lookup may create the account's demo domain, so it comes before the snapshot the other reads of
  // the sending policy share.
  const domains::SendingDomain domain = live_domain(sender, message.from.email);
  std::optional<std::int64_t> template_id;
  std::optional<std::string> template_variables;
  std::vector<Recipient> recipients;
  db_.read([&](Tx&) {
    check_domain_access(sender, domain);
    if (!message.template_uuid.empty()) {
      if (!templates_)
        throw SendRefused(400, "email templates are not available on this server", "554 5.3.0 no templates");
      boost::system::error_code ec;
      const json::value variables = message.template_variables.empty() ? json::value(json::object())
                                                                       : json::parse(message.template_variables, ec);
      if (ec) throw SendRefused(400, "'template_variables' must be a JSON object", "554 5.6.0 bad template variables");
      const auto rendered = templates_->render_for_send(sender.account_id, message.template_uuid, variables);
      message.subject = rendered.subject;
      message.html = rendered.html;
      message.text = rendered.text;
      template_id = rendered.template_id;
      template_variables = json::serialize(variables);
    }
    for (const auto& a : message.to) recipients.push_back({lower(a.email), "to"});
    for (const auto& a : message.cc) recipients.push_back({lower(a.email), "cc"});
    for (const auto& a : message.bcc) recipients.push_back({lower(a.email), "bcc"});
    check_recipients(sender, domain, recipients, true);
    for (const auto& email : domain.auto_bcc.emails) recipients.push_back({lower(email), "auto_bcc"});
    check_limits(sender, recipients.size());
  });

  const std::string category = message.category;
  const std::optional<std::string> custom_variables =
      message.custom_variables.empty() ? std::nullopt : std::optional(message.custom_variables);
  // Category and custom variables are stored with the message, not delivered.
  message.category.clear();
  message.custom_variables.clear();
  for (auto& header : common_headers(sender, domain, category)) message.headers.push_back(std::move(header));

  const bool bulk = sender.stream == Stream::bulk;
  const bool footer = !has_unsubscribe_link(message.html) &&
                      (bulk ? domain.bulk_unsubscribe_footer_enabled : domain.auto_unsubscribe_link_enabled);
  const bool placeholder = (message.html && message.html->find(kPlaceholder) != std::string::npos) ||
                           (message.text && message.text->find(kPlaceholder) != std::string::npos);
  const bool per_recipient = bulk || footer || placeholder || !domain.auto_bcc.header_name.empty();
  const std::string rfc_domain = domain.domain_name;
  auto body_for = [&](const Recipient& recipient, const std::string& uuid) {
    mime::BuildOptions options;
    options.message_id_domain = rfc_domain;
    if (!per_recipient) return mime::build_message(message, options);  // one body for everyone: no copy to edit
    mime::OutgoingMessage copy = message;
    const std::string url = settings_.public_url + "/unsubscribe/" + uuid;
    if (copy.html) replace_all(*copy.html, kPlaceholder, url);
    if (copy.text) replace_all(*copy.text, kPlaceholder, url);
    if (footer) {
      if (copy.html) *copy.html += unsubscribe_footer_html(url);
      if (copy.text) *copy.text += unsubscribe_footer_text(url);
    }
    if (bulk) {
      copy.headers.emplace_back("List-Unsubscribe",
                                "<mailto:unsubscribe+" + uuid + "@" + settings_.bounce_host + ">, <" + url + ">");
      copy.headers.emplace_back("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
      copy.headers.emplace_back("Precedence", "bulk");
    }
    if (recipient.kind == "auto_bcc" && !domain.auto_bcc.header_name.empty())
      copy.headers.emplace_back(domain.auto_bcc.header_name, domain.auto_bcc.header_value);
    return mime::build_message(copy, options);
  };
  store_and_enqueue(sender, domain, lower(message.from.email), message.subject, category, custom_variables, template_id,
                    template_variables, recipients, body_for, per_recipient, std::move(done));
}

void SendingService::accept_raw_async(const Sender& sender, std::string_view raw, const std::string& mail_from,
                                      const std::vector<std::string>& envelope_recipients, AcceptedCallback done) {
  const domains::SendingDomain domain = live_domain(sender, mail_from);
  check_domain_access(sender, domain);
  const mime::ParsedMessage parsed = mime::parse_message(raw);
  const std::string header_from = parsed.from ? lower(parsed.from->email) : std::string();
  if (domain_of(header_from) != domain.domain_name)
    throw SendRefused(403, "From: Header does not match the sender's domain",
                      "550 5.7.1 From: Header does not match the sender's domain");
  std::vector<Recipient> recipients;
  auto listed = [](const std::vector<mime::Address>& list, const std::string& email) {
    return std::any_of(list.begin(), list.end(), [&](const mime::Address& a) { return lower(a.email) == email; });
  };
  for (const auto& r : envelope_recipients) {
    const std::string email = lower(r);
    recipients.push_back({email, listed(parsed.to, email) ? "to" : listed(parsed.cc, email) ? "cc" : "bcc"});
  }
  check_recipients(sender, domain, recipients, false);
  for (const auto& email : domain.auto_bcc.emails) recipients.push_back({lower(email), "auto_bcc"});
  check_limits(sender, recipients.size());

  // The parser's header values are RFC 2047-decoded (nodemailer writes JSON header values as encoded words).
  auto header = [&parsed](std::string_view name) -> std::optional<std::string> {
    for (const auto& h : parsed.headers)
      if (mime::text::equals_ignore_case(h.name, name)) return h.value;
    return std::nullopt;
  };
  const std::string category = header("X-MT-Category").value_or("");
  const auto custom_variables = custom_variables_from_header(header("X-MT-Custom-Variables"));
  const std::string stripped = mime::remove_headers(raw, {"X-MT-Category", "X-MT-Custom-Variables", "Bcc"});
  auto headers = common_headers(sender, domain, category);
  // A submission server completes what the message lacks (RFC 6409 §8.2, §8.3).
  if (!header("Date")) headers.emplace_back("Date", mime::rfc5322_date(clock_.now()));
  if (!header("Message-ID")) headers.emplace_back("Message-ID", "<" + mime::new_message_id(domain.domain_name) + ">");
  const bool bulk = sender.stream == Stream::bulk;
  const bool per_recipient = bulk || !domain.auto_bcc.header_name.empty();
  auto body_for = [&](const Recipient& recipient, const std::string& uuid) {
    auto fields = headers;
    if (bulk) {
      const std::string url = settings_.public_url + "/unsubscribe/" + uuid;
      fields.emplace_back("List-Unsubscribe",
                          "<mailto:unsubscribe+" + uuid + "@" + settings_.bounce_host + ">, <" + url + ">");
      fields.emplace_back("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
      fields.emplace_back("Precedence", "bulk");
    }
    if (recipient.kind == "auto_bcc" && !domain.auto_bcc.header_name.empty())
      fields.emplace_back(domain.auto_bcc.header_name, domain.auto_bcc.header_value);
    return mime::prepend_headers(stripped, fields);
  };
  store_and_enqueue(sender, domain, header_from, parsed.subject, category, custom_variables, std::nullopt, std::nullopt,
                    recipients, body_for, per_recipient, std::move(done));
}

void SendingService::store_and_enqueue(const Sender& sender, const domains::SendingDomain& domain,
                                       const std::string& from, const std::string& subject, const std::string& category,
                                       const std::optional<std::string>& custom_variables,
                                       const std::optional<std::int64_t>& template_id,
                                       const std::optional<std::string>& template_variables,
                                       const std::vector<Recipient>& recipients,
                                       const std::function<std::string(const Recipient&, const std::string&)>& body_for,
                                       bool body_per_recipient, AcceptedCallback done) {
  const std::int64_t now = clock_.now();
  // Bodies are built (and compressed) before the write transaction, so it holds the writer only to insert. The
  // copies then belong to the write job, which may run on another thread after this returns.
  struct Copy {
    SentMessage message;
    std::string compressed;
    std::int64_t size = 0;
  };
  struct Pending {
    std::vector<Copy> copies;
    std::vector<std::int64_t> enqueued;
  };
  auto pending = std::make_shared<Pending>();
  std::vector<Copy>& copies = pending->copies;
  copies.reserve(recipients.size());
  std::string shared_rfc_id;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    Copy copy;
    SentMessage& m = copy.message;
    m.uuid = time_ordered_uuid(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    if (body_per_recipient || i == 0) {
      const std::string raw = body_for(recipients[i], m.uuid);
      if (static_cast<std::int64_t>(raw.size()) > settings_.max_message_size)
        throw SendRefused(413, "Message too big: the limit is " + std::to_string(settings_.max_message_size) + " bytes",
                          "552 5.3.4 Error: message too big");
      copy.compressed = zstd_compress(raw);
      copy.size = static_cast<std::int64_t>(raw.size());
      shared_rfc_id = mime::text::strip_angle_brackets(mime::raw_header(raw, "Message-ID").value_or(""));
    }
    m.account_id = sender.account_id;
    m.domain_id = domain.id;
    m.domain_name = domain.domain_name;
    m.stream = sender.stream;
    m.subject = subject;
    m.from = from;
    m.mail_from = "b-" + m.uuid + "@" + std::string(domains::kReturnPathLabel) + "." + domain.domain_name;
    m.to = recipients[i].email;
    m.recipient_kind = recipients[i].kind;
    m.category = category;
    m.custom_variables = custom_variables;
    m.template_id = template_id;
    m.template_variables = template_variables;
    m.client_ip = sender.client_ip;
    m.rfc_message_id = shared_rfc_id;
    m.created_at = now;
    m.updated_at = now;
    m.next_attempt_at = now;
    copies.push_back(std::move(copy));
  }
  auto job = [pending, account_id = sender.account_id, domain_id = domain.id, stream = sender.stream, now](Tx& tx) {
    pending->enqueued.clear();
    SendingStore store(tx);
    std::int64_t body_id = 0;
    for (Copy& copy : pending->copies) {
      if (!copy.compressed.empty()) body_id = store.add_body(account_id, copy.compressed, copy.size, now);
      SentMessage& m = copy.message;
      m.body_id = body_id;
      const auto suppressed = store.blocking(account_id, domain_id, m.to, stream);
      if (suppressed) {
        m.status = std::string(status::not_delivered);
        m.next_attempt_at.reset();
      }
      m.id = store.add_message(m);
      if (suppressed) {
        store.add_event(
            {.id = 0,
             .message_id = m.id,
             .event_type = std::string(event::reject),
             .created_at = now,
             .details = json::serialize(json::object{
                 {"reject_reason", "The recipient is on the suppression list (" + suppressed->type + ")"}})},
            account_id);
      } else {
        pending->enqueued.push_back(m.id);
      }
    }
    // The usage counter moves in the same transaction: one commit per accepted message.
    if (const auto account = store::AccountStore(tx).find(account_id)) {
      const auto cycle = accounts::AccountsService::billing_cycle(account->created_at, now);
      store::UsageStore(tx).increment(account_id, accounts::usage_metric::sending_sent, cycle.first,
                                      static_cast<std::int64_t>(pending->copies.size()));
    }
  };
  // Runs once the transaction is durable (or failed), on the committing thread: hands the new rows to the
  // delivery engine and answers the sender. Nothing may escape from it (it runs on the storage's writer thread).
  auto committed = [this, pending, done = std::move(done)](std::exception_ptr error) {
    try {
      if (!error && on_enqueued_ && !pending->enqueued.empty()) on_enqueued_(pending->enqueued);
    } catch (const std::exception& e) {  // the rows stay queued: the engine finds them at its next start
      spdlog::error("scheduling accepted messages for delivery failed: {}", e.what());
    }
    try {
      if (error) return done({}, std::move(error));
      Accepted accepted;
      for (const Copy& copy : pending->copies)
        if (copy.message.recipient_kind != "auto_bcc") accepted.message_ids.push_back(copy.message.uuid);
      done(std::move(accepted), nullptr);
    } catch (const std::exception& e) {
      spdlog::error("answering an accepted message failed: {}", e.what());
    }
  };
  db_.write_async(std::move(job), std::move(committed));
}

LogPage SendingService::logs(std::int64_t account_id, store::LogQuery query,
                             const std::optional<std::string>& search_after) {
  return db_.read([&](Tx& tx) {
    SendingStore store(tx);
    LogPage page;
    page.total_count = store.count(account_id, query);
    if (search_after && !search_after->empty()) {
      const auto cursor = store.find(account_id, *search_after);
      if (!cursor) return page;  // an unknown cursor: nothing after it
      query.before_id = cursor->id;
    }
    query.limit = kLogPageSize + 1;
    page.messages = store.list(account_id, query);
    if (page.messages.size() > static_cast<std::size_t>(kLogPageSize)) {
      page.messages.resize(kLogPageSize);
      page.next_page_cursor = page.messages.back().uuid;
    }
    return page;
  });
}

SentMessage SendingService::log(std::int64_t account_id, const std::string& message_id) {
  const auto found = db_.read([&](Tx& tx) { return SendingStore(tx).find(account_id, message_id); });
  if (!found) throw NotFound();
  return *found;
}

std::vector<MessageEvent> SendingService::events(const SentMessage& message) {
  return db_.read([&](Tx& tx) { return SendingStore(tx).events(message.id); });
}

std::string SendingService::raw_message(std::int64_t account_id, const std::string& message_id) {
  const auto compressed = db_.read([&](Tx& tx) -> std::optional<std::string> {
    SendingStore store(tx);
    const auto message = store.find(account_id, message_id);
    if (!message) return std::nullopt;
    return store.body(message->body_id);
  });
  if (!compressed) throw NotFound();
  auto raw = zstd_decompress(*compressed, static_cast<std::size_t>(settings_.max_message_size) * 2 + 65536);
  if (!raw) throw std::runtime_error("stored message body is corrupt");
  return *raw;
}

std::vector<Suppression> SendingService::suppressions(std::int64_t account_id, const std::optional<std::string>& email,
                                                      std::optional<std::int64_t> start_time,
                                                      std::optional<std::int64_t> end_time) {
  const std::optional<std::string> wanted = email ? std::optional(lower(*email)) : std::nullopt;
  return db_.read(
      [&](Tx& tx) { return SendingStore(tx).suppressions(account_id, wanted, start_time, end_time, 1000); });
}

Suppression SendingService::add_suppression(std::int64_t account_id, const SuppressionInput& input) {
  std::map<std::string, std::vector<std::string>> errors;
  const std::string email = lower(mime::text::trim(input.email));
  if (email.empty())
    errors["email"].push_back("can't be blank");
  else if (!mime::is_valid_email(email))
    errors["email"].push_back("is invalid");
  if (input.sending_stream != "transactional" && input.sending_stream != "bulk" && input.sending_stream != "any")
    errors["sending_stream"].push_back("is not included in the list");
  static const std::vector<std::string> types = {"hard bounce", "spam complaint", "unsubscription", "manual import"};
  if (std::find(types.begin(), types.end(), input.type) == types.end())
    errors["type"].push_back("is not included in the list");
  if (!errors.empty()) throw ValidationError(std::move(errors));
  Suppression s;
  s.id = crypto::new_uuid();
  s.account_id = account_id;
  s.email = email;
  s.type = input.type;
  s.sending_stream = input.sending_stream;
  s.created_at = clock_.now();
  if (input.domain_id) {
    const auto domains = domains_.list(account_id);
    const auto it = std::find_if(domains.begin(), domains.end(),
                                 [&](const domains::SendingDomain& d) { return d.id == *input.domain_id; });
    if (it == domains.end()) throw ValidationError("domain_id", "is invalid");
    s.domain_id = it->id;
    s.domain_name = it->domain_name;
  }
  db_.write([&](Tx& tx) { SendingStore(tx).add_suppression(s); });
  return s;
}

Suppression SendingService::remove_suppression(std::int64_t account_id, const std::string& id) {
  return db_.write([&](Tx& tx) {
    SendingStore store(tx);
    auto found = store.find_suppression(account_id, id);
    if (!found || !store.remove_suppression(account_id, id)) throw NotFound();
    return *found;
  });
}

SendingService::ImportResult SendingService::import_suppressions(std::int64_t account_id, std::string_view csv_text) {
  csv::Limits limits;
  limits.max_rows = 100'001;
  limits.max_fields = 50;
  limits.max_field_bytes = 1024;
  const auto rows = csv::parse(csv_text, limits);
  ImportResult result;
  if (rows.empty()) throw ValidationError("file", "is empty");
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < rows.front().size(); ++i) column[lower(mime::text::trim(rows.front()[i]))] = i;
  if (!column.count("email")) throw ValidationError("file", "needs an 'email' column in its header row");
  const auto domains = domains_.list(account_id);
  auto cell = [&](const csv::Row& row, const char* name) -> std::string {
    const auto it = column.find(name);
    return it == column.end() || it->second >= row.size() ? std::string() : mime::text::trim(row[it->second]);
  };
  std::vector<Suppression> valid;
  const std::int64_t now = clock_.now();
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const std::size_t line = r + 1;
    const csv::Row& row = rows[r];
    if (row.size() == 1 && row.front().empty()) continue;  // a blank line
    Suppression s;
    s.id = crypto::new_uuid();
    s.account_id = account_id;
    s.email = lower(cell(row, "email"));
    s.type = "manual import";
    s.created_at = now;
    s.sending_stream = cell(row, "sending_stream").empty() ? "any" : lower(cell(row, "sending_stream"));
    if (!mime::is_valid_email(s.email)) {
      result.errors.emplace_back(line, "email '" + s.email + "' is invalid");
      continue;
    }
    if (s.sending_stream != "transactional" && s.sending_stream != "bulk" && s.sending_stream != "any") {
      result.errors.emplace_back(line, "sending_stream must be transactional, bulk or any");
      continue;
    }
    const std::string domain_id = cell(row, "domain_id");
    const std::string domain_name = lower(cell(row, "domain_name"));
    if (!domain_id.empty() || !domain_name.empty()) {
      const auto it = std::find_if(domains.begin(), domains.end(), [&](const domains::SendingDomain& d) {
        return (!domain_id.empty() && std::to_string(d.id) == domain_id) ||
               (domain_id.empty() && d.domain_name == domain_name);
      });
      if (it == domains.end()) {
        result.errors.emplace_back(line, "no such sending domain");
        continue;
      }
      s.domain_id = it->id;
      s.domain_name = it->domain_name;
    }
    valid.push_back(std::move(s));
  }
  db_.write([&](Tx& tx) {
    SendingStore store(tx);
    result.imported = result.skipped = 0;
    for (const Suppression& s : valid) {
      if (store.has_suppression(account_id, s.email, s.sending_stream, s.domain_id)) {
        ++result.skipped;
        continue;
      }
      store.add_suppression(s);
      ++result.imported;
    }
  });
  return result;
}

std::string SendingService::export_suppressions(std::int64_t account_id) {
  const auto all = db_.read([&](Tx& tx) { return SendingStore(tx).suppressions(account_id, {}, {}, {}, 1'000'000); });
  std::string out = csv::row({"email", "type", "sending_stream", "domain_name", "created_at", "message_bounce_category",
                              "message_esp_response", "message_subject"});
  for (const Suppression& s : all) {
    out += csv::row({s.email, s.type, s.sending_stream, s.domain_name, iso8601(s.created_at), s.message_bounce_category,
                     s.message_esp_response, s.message_subject});
  }
  return out;
}

std::optional<SentMessage> SendingService::find_for_unsubscribe(const std::string& message_id) {
  return db_.read([&](Tx& tx) -> std::optional<SentMessage> {
    const auto row = tx.query_one("SELECT id FROM sent_messages WHERE uuid = ?", {message_id});
    if (!row) return std::nullopt;
    return SendingStore(tx).find_by_id(row->integer(0));
  });
}

SentMessage SendingService::unsubscribe(const std::string& message_id, const std::string& web_ip) {
  const auto message = find_for_unsubscribe(message_id);
  if (!message) throw NotFound();
  const std::int64_t now = clock_.now();
  db_.write([&](Tx& tx) {
    SendingStore store(tx);
    if (!store.blocking(message->account_id, message->domain_id, message->to, message->stream)) {
      store.add_suppression(suppression_for(*message, "unsubscription", now));
      store.add_event({.id = 0,
                       .message_id = message->id,
                       .event_type = std::string(event::unsubscribe),
                       .created_at = now,
                       .details = json::serialize(json::object{{"web_ip_address", web_ip}})},
                      message->account_id);
      store.set_status(message->id, std::string(status::opted_out), now);
    }
  });
  return *message;
}

void SendingService::record_async_bounce(const std::string& message_id, bool permanent, const std::string& category,
                                         bool suppress, const std::string& status_code, const std::string& response,
                                         const std::string& reporting_mta) {
  const auto message = find_for_unsubscribe(message_id);
  if (!message) throw NotFound();
  const std::int64_t now = clock_.now();
  db_.write([&](Tx& tx) {
    SendingStore store(tx);
    SentMessage m = *message;
    json::object details{
        {"sending_ip", m.sending_ip.empty() ? json::value(nullptr) : json::value(m.sending_ip)},
        {"recipient_mx", reporting_mta.empty() ? json::value(nullptr) : json::value(reporting_mta)},
        {"email_service_provider",
         m.email_service_provider.empty() ? json::value(nullptr) : json::value(m.email_service_provider)},
        {"email_service_provider_status", status_code.empty() ? json::value(nullptr) : json::value(status_code)},
        {"email_service_provider_response", response},
        {"bounce_category", category}};
    if (permanent) {
      m.status = std::string(status::not_delivered);
      m.next_attempt_at.reset();
      m.bounce_category = category;
      m.last_response = response;
      m.updated_at = now;
      store.save_delivery_state(m);
    }
    store.add_event({.id = 0,
                     .message_id = m.id,
                     .event_type = std::string(permanent ? event::bounce : event::soft_bounce),
                     .created_at = now,
                     .details = json::serialize(details)},
                    m.account_id);
    if (permanent && suppress && !store.blocking(m.account_id, m.domain_id, m.to, m.stream)) {
      Suppression s = suppression_for(m, "hard bounce", now);
      s.message_bounce_category = category;
      s.message_esp_response = response;
      s.message_recipient_mx_name = reporting_mta;
      store.add_suppression(s);
    }
  });
}

void SendingService::record_complaint(const std::string& message_id, const std::string& feedback_type) {
  const auto message = find_for_unsubscribe(message_id);
  if (!message) throw NotFound();
  const std::int64_t now = clock_.now();
  db_.write([&](Tx& tx) {
    SendingStore store(tx);
    store.add_event({.id = 0,
                     .message_id = message->id,
                     .event_type = std::string(event::spam),
                     .created_at = now,
                     .details = json::serialize(json::object{{"spam_feedback_type", feedback_type}})},
                    message->account_id);
    store.set_status(message->id, std::string(status::opted_out), now);
    if (!store.blocking(message->account_id, message->domain_id, message->to, message->stream)) {
      store.add_suppression(suppression_for(*message, "spam complaint", now));
    }
  });
}

}  // namespace postroom::sending
