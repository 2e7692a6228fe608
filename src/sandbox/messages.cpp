#include "sandbox/messages.h"

#include <algorithm>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include "accounts/service.h"
#include "core/compression.h"
#include "core/errors.h"
#include "mime/message.h"
#include "sandbox/search.h"
#include "store/accounts_store.h"
#include "store/messages_store.h"
#include "store/search_text.h"

namespace postroom::sandbox {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxIndexedBodyBytes = 256 * 1024;  // keeps PostgreSQL's tsvector well under its 1 MB cap

json::array addresses_json(const std::vector<mime::Address>& addresses) {
  json::array out;
  for (const mime::Address& a : addresses) out.push_back(json::object{{"email", a.email}, {"name", a.name}});
  return out;
}

std::string addresses_text(const std::vector<mime::Address>& addresses) {
  std::string out;
  for (const mime::Address& a : addresses) {
    if (!out.empty()) out += ", ";
    out += a.name.empty() ? a.email : a.name + " <" + a.email + ">";
  }
  return out;
}

// Text of an HTML body for the search index: tags dropped, entities left as they are.
std::string html_text(std::string_view html) {
  std::string out;
  out.reserve(std::min(html.size(), kMaxIndexedBodyBytes));
  bool in_tag = false;
  for (char c : html) {
    if (out.size() >= kMaxIndexedBodyBytes) break;
    if (c == '<') {
      in_tag = true;
      out.push_back(' ');
    } else if (c == '>') {
      in_tag = false;
    } else if (!in_tag) {
      out.push_back(c);
    }
  }
  return out;
}

std::string header_key(std::string_view name) {
  std::string out;
  for (char c : name) out.push_back(c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

}  // namespace

MessagesService::MessagesService(store::Database& db, const Clock& clock, const SandboxSettings& settings,
                                 const PlanLimits& plans, EventHub& events)
    : db_(db), clock_(clock), settings_(settings), plans_(plans), events_(events) {}

std::int64_t MessagesService::max_message_size(const CaptureTarget& target) const {
  return target.max_message_size > 0 ? target.max_message_size : settings_.max_message_size;
}

std::optional<CaptureTarget> MessagesService::target_for(std::int64_t inbox_id,
                                                         std::optional<std::int64_t> account_id) {
  const auto limits = db_.read([&](store::Tx& tx) { return store::MessagesStore(tx).inbox_limits(inbox_id); });
  if (!limits || (account_id && limits->account_id != *account_id)) return std::nullopt;
  return CaptureTarget{limits->account_id, inbox_id, limits->max_messages, limits->max_message_size};
}

std::int64_t MessagesService::account_created_at(std::int64_t account_id) {
  {
    std::lock_guard lock(accounts_mutex_);
    if (auto it = account_created_at_.find(account_id); it != account_created_at_.end()) return it->second;
  }
  const auto account = db_.read([&](store::Tx& tx) { return store::AccountStore(tx).find(account_id); });
  if (!account) throw NotFound();
  std::lock_guard lock(accounts_mutex_);
  account_created_at_[account_id] = account->created_at;
  return account->created_at;
}

bool MessagesService::monthly_limit_reached(std::int64_t account_id) {
  if (plans_.testing_message_limit < 0) return false;
  // Plain variables, not structured bindings: clang 14 cannot capture those in the lambda below.
  const std::int64_t start =
      accounts::AccountsService::billing_cycle(account_created_at(account_id), clock_.now()).first;
  const std::int64_t used = db_.read([&](store::Tx& tx) {
    return store::UsageStore(tx).get(account_id, accounts::usage_metric::testing_sent, start);
  });
  return used >= plans_.testing_message_limit;
}

Admission MessagesService::admit(const CaptureTarget& target) { return admission(target, true); }

Admission MessagesService::peek(const CaptureTarget& target) { return admission(target, false); }

Admission MessagesService::admission(const CaptureTarget& target, bool count) {
  if (monthly_limit_reached(target.account_id)) return Admission::monthly_limit_reached;
  if (settings_.rate_per_10_seconds <= 0) return Admission::accepted;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(rate_mutex_);
  auto& arrivals = arrivals_[target.inbox_id];
  while (!arrivals.empty() && now - arrivals.front() >= std::chrono::seconds(10)) arrivals.pop_front();
  if (static_cast<std::int64_t>(arrivals.size()) >= settings_.rate_per_10_seconds) return Admission::rate_limited;
  if (count) arrivals.push_back(now);
  return Admission::accepted;
}

// Everything a capture writes, prepared (parsed, compressed) before the write transaction.
struct MessagesService::Prepared {
  CaptureTarget target;
  MessageSummary summary;
  std::vector<AttachmentSummary> attachments;
  store::SearchDocument document;
  std::string compressed;
  std::int64_t keep = 0;
  std::int64_t cycle_start = 0;
  std::int64_t id = 0;                // set by the write
  std::vector<std::int64_t> evicted;  // set by the write
};

std::int64_t MessagesService::capture(const CaptureTarget& target, std::string_view raw, const Envelope& envelope,
                                      const std::optional<TemplateUse>& template_use) {
  auto prepared = prepare(target, raw, envelope, template_use);
  db_.write([&](store::Tx& tx) { store_prepared(tx, *prepared); });
  announce_capture(*prepared);
  return prepared->id;
}

void MessagesService::capture_async(const CaptureTarget& target, std::string_view raw, const Envelope& envelope,
                                    std::function<void(std::optional<std::int64_t>)> done) {
  std::shared_ptr<Prepared> prepared = prepare(target, raw, envelope, std::nullopt);
  {
    std::lock_guard lock(capture_mutex_);
    capture_queue_.push_back({std::move(prepared), std::move(done)});
    if (capture_job_queued_) return;  // the queued job has not started yet: it takes this message too
    capture_job_queued_ = true;
  }
  // One write job for every message waiting when it starts: one savepoint, one queue hand-off and one search
  // index segment per group instead of per message.
  struct Group {
    std::vector<QueuedCapture> captures;
    bool taken = false;
  };
  auto group = std::make_shared<Group>();
  auto take = [this, group] {
    std::lock_guard lock(capture_mutex_);
    group->captures.swap(capture_queue_);
    capture_job_queued_ = false;
    group->taken = true;
  };
  db_.write_async(
      [this, group, take](store::Tx& tx) {
        if (!group->taken) take();
        for (QueuedCapture& c : group->captures) c.stored = false;
        store_queued(tx, group->captures);
      },
      [this, group, take](std::exception_ptr error) {
        if (!group->taken) take();  // the transaction failed before the job ran
        if (error) {
          try {
            std::rethrow_exception(error);
          } catch (const std::exception& e) {
            spdlog::error("sandbox capture of {} messages failed: {}", group->captures.size(), e.what());
          } catch (...) {
          }
        }
        for (QueuedCapture& c : group->captures) {
          if (error || !c.stored) {
            c.done(std::nullopt);
            continue;
          }
          announce_capture(*c.prepared);
          c.done(c.prepared->id);
        }
      });
}

void MessagesService::store_queued(store::Tx& tx, std::vector<QueuedCapture>& captures) {
  store::MessagesStore messages(tx);
  // Each message in its own savepoint, so one that cannot be stored (its sandbox was deleted) fails alone.
  for (QueuedCapture& c : captures) {
    Prepared& p = *c.prepared;
    p.evicted.clear();
    if (captures.size() == 1) {
      p.id = messages.insert_message(p.summary, p.compressed, p.attachments);
      c.stored = true;
      break;
    }
    tx.execute("SAVEPOINT capture");
    try {
      p.id = messages.insert_message(p.summary, p.compressed, p.attachments);
      tx.execute("RELEASE capture");
      c.stored = true;
    } catch (const std::exception& e) {
      spdlog::error("sandbox capture into inbox {} failed: {}", p.target.inbox_id, e.what());
      tx.execute("ROLLBACK TO capture");
      tx.execute("RELEASE capture");
    }
  }
  // After the last savepoint: the whole group's terms go into one index segment at the next flush.
  for (const QueuedCapture& c : captures)
    if (c.stored) messages.index(c.prepared->id, std::move(c.prepared->document));
  // Counters and eviction once per sandbox, usage once per account and billing cycle, after the search rows
  // (an evicted message takes its search row with it).
  std::vector<std::size_t> last_of_inbox;  // index of each sandbox's last stored message, in first-seen order
  std::map<std::int64_t, std::int64_t> arrivals;
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> usage;  // (account, cycle start) → messages
  for (std::size_t i = 0; i < captures.size(); ++i) {
    if (!captures[i].stored) continue;
    const Prepared& p = *captures[i].prepared;
    if (arrivals[p.target.inbox_id]++ == 0) {
      last_of_inbox.push_back(i);
    } else {
      for (std::size_t& last : last_of_inbox)
        if (captures[last].prepared->target.inbox_id == p.target.inbox_id) last = i;
    }
    ++usage[{p.target.account_id, p.cycle_start}];
  }
  for (std::size_t last : last_of_inbox) {
    Prepared& p = *captures[last].prepared;
    const std::int64_t count =
        messages.count_arrivals(p.target.inbox_id, arrivals[p.target.inbox_id], p.summary.created_at);
    p.evicted = messages.evict_beyond(p.target.inbox_id, p.keep, count);
  }
  store::UsageStore usage_store(tx);
  for (const auto& [key, count] : usage)
    usage_store.increment(key.first, accounts::usage_metric::testing_sent, key.second, count);
}

void MessagesService::store_prepared(store::Tx& tx, Prepared& p) {
  store::MessagesStore messages(tx);
  p.id = messages.insert(p.summary, p.compressed, p.attachments, p.document);
  messages.count_arrival(p.target.inbox_id, p.summary.created_at);
  store::UsageStore(tx).increment(p.target.account_id, accounts::usage_metric::testing_sent, p.cycle_start, 1);
  p.evicted = messages.evict_beyond(p.target.inbox_id, p.keep);
}

void MessagesService::announce_capture(const Prepared& p) {
  events_.publish({SandboxEvent::Type::message_created, p.target.account_id, p.target.inbox_id, p.id});
  for (std::int64_t gone : p.evicted)
    events_.publish({SandboxEvent::Type::message_deleted, p.target.account_id, p.target.inbox_id, gone});
}

std::shared_ptr<MessagesService::Prepared> MessagesService::prepare(const CaptureTarget& target, std::string_view raw,
                                                                    const Envelope& envelope,
                                                                    const std::optional<TemplateUse>& template_use) {
  mime::ParsedMessage parsed = mime::parse_message(raw);
  const std::int64_t now = clock_.now();

  MessageSummary m;
  m.inbox_id = target.inbox_id;
  m.account_id = target.account_id;
  m.subject = parsed.subject;
  if (parsed.from) {
    m.from_email = parsed.from->email;
    m.from_name = parsed.from->name;
  }
  if (!parsed.to.empty()) {
    m.to_email = parsed.to.front().email;
    m.to_name = parsed.to.front().name;
  }
  const std::vector<mime::Address> bcc = mime::bcc_from_envelope(envelope.rcpt_to, parsed);
  m.recipients_json = json::serialize(json::object{{"to", addresses_json(parsed.to)},
                                                   {"cc", addresses_json(parsed.cc)},
                                                   {"bcc", addresses_json(bcc)},
                                                   {"reply_to", addresses_json(parsed.reply_to)}});
  json::array headers;
  std::string headers_text;
  for (const mime::Header& h : parsed.headers) {
    headers.push_back(json::array{json::string(h.name), json::string(h.value)});
    if (headers_text.size() < kMaxIndexedBodyBytes) headers_text += h.name + ": " + h.value + "\n";
  }
  m.headers_json = json::serialize(headers);
  json::array rcpts;
  for (const std::string& r : envelope.rcpt_to) rcpts.push_back(json::string(r));
  m.smtp_json = json::serialize(json::object{{"mail_from_addr", envelope.mail_from},
                                             {"rcpt_to_addrs", rcpts},
                                             {"client_ip", envelope.client_ip},
                                             {"helo", envelope.helo},
                                             {"tls", envelope.tls},
                                             {"auth_user", envelope.auth_user},
                                             {"via", envelope.via},
                                             {"problems", json::value_from(parsed.problems)}});
  m.message_id_header = parsed.message_id;
  m.sent_at = parsed.date.value_or(now);
  m.created_at = m.updated_at = now;
  m.email_size = static_cast<std::int64_t>(raw.size());
  if (parsed.html_body) m.html_body_size = static_cast<std::int64_t>(parsed.html_body_size);
  if (parsed.text_body) m.text_body_size = static_cast<std::int64_t>(parsed.text_body_size);
  m.attachments_count = static_cast<std::int64_t>(parsed.attachments.size());
  if (template_use) {
    m.template_id = template_use->template_id;
    m.template_variables = template_use->variables_json;
  }

  std::vector<AttachmentSummary> attachments;
  for (const mime::AttachmentInfo& a : parsed.attachments) {
    AttachmentSummary s;
    s.inbox_id = target.inbox_id;
    s.part_index = static_cast<std::int64_t>(a.index);
    s.filename = a.filename;
    s.attachment_type = a.disposition == "inline" ? "inline" : "attachment";
    s.content_type = a.content_type;
    s.content_id = a.content_id;
    s.transfer_encoding = a.transfer_encoding;
    s.size = static_cast<std::int64_t>(a.size);
    s.created_at = now;
    attachments.push_back(std::move(s));
  }

  store::SearchDocument document;
  document.subject = parsed.subject;
  document.addresses =
      addresses_text(parsed.from ? std::vector<mime::Address>{*parsed.from} : std::vector<mime::Address>{}) + " " +
      addresses_text(parsed.to) + " " + addresses_text(parsed.cc) + " " + addresses_text(bcc);
  document.headers = std::move(headers_text);
  if (parsed.text_body) {
    parsed.text_body->resize(std::min(parsed.text_body->size(), kMaxIndexedBodyBytes));
    document.body = std::move(*parsed.text_body);  // not used below
  }
  if (parsed.html_body) document.body += "\n" + html_text(*parsed.html_body);
  // Packed here, on the caller's thread, rather than on the single database writer thread.
  if (db_.dialect() == store::Dialect::sqlite)
    document.packed_text = store::pack_search_text(document.headers, document.body);

  auto prepared = std::make_shared<Prepared>();
  prepared->target = target;
  prepared->compressed = zstd_compress(raw);
  prepared->keep = target.max_messages > 0 ? target.max_messages : settings_.max_messages;
  prepared->cycle_start = accounts::AccountsService::billing_cycle(account_created_at(target.account_id), now).first;
  prepared->summary = std::move(m);
  prepared->attachments = std::move(attachments);
  prepared->document = std::move(document);
  return prepared;
}

int MessagesService::expire_old_messages() {
  if (settings_.max_age_days <= 0) return 0;
  const std::int64_t cutoff = clock_.now() - settings_.max_age_days * 86400;
  int total = 0;
  while (true) {
    const auto deleted =
        db_.write([&](store::Tx& tx) { return store::MessagesStore(tx).delete_created_before(cutoff, 500); });
    for (const auto& gone : deleted)
      events_.publish({SandboxEvent::Type::message_deleted, gone.account_id, gone.inbox_id, gone.message_id});
    total += static_cast<int>(deleted.size());
    if (deleted.size() < 500) return total;
  }
}

std::vector<MessageSummary> MessagesService::list(std::int64_t account_id, std::int64_t inbox_id,
                                                  std::string_view search, std::optional<std::int64_t> last_id,
                                                  std::optional<std::int64_t> page) {
  const SearchQuery query = parse_search(search);
  const int offset = page && *page > 1 ? static_cast<int>(std::min<std::int64_t>(*page - 1, 1'000'000) * kPageSize) : 0;
  return db_.read([&](store::Tx& tx) {
    return store::MessagesStore(tx).list(account_id, inbox_id, query, last_id, std::nullopt, kPageSize, offset);
  });
}

MessageSummary MessagesService::get(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id) {
  auto message = db_.read([&](store::Tx& tx) { return store::MessagesStore(tx).find(account_id, inbox_id, id); });
  if (!message) throw NotFound();
  return std::move(*message);
}

MessageSummary MessagesService::set_read(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id,
                                         bool is_read) {
  auto message = db_.write([&](store::Tx& tx) -> std::optional<MessageSummary> {
    store::MessagesStore messages(tx);
    if (!messages.set_read(account_id, inbox_id, id, is_read, clock_.now())) return std::nullopt;
    return messages.find(account_id, inbox_id, id);
  });
  if (!message) throw NotFound();
  events_.publish({SandboxEvent::Type::message_updated, account_id, inbox_id, id});
  return std::move(*message);
}

MessageSummary MessagesService::remove(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id) {
  auto message = db_.write([&](store::Tx& tx) -> std::optional<MessageSummary> {
    store::MessagesStore messages(tx);
    auto found = messages.find(account_id, inbox_id, id);
    if (found) messages.remove(account_id, inbox_id, id);
    return found;
  });
  if (!message) throw NotFound();
  events_.publish({SandboxEvent::Type::message_deleted, account_id, inbox_id, id});
  return std::move(*message);
}

std::string MessagesService::raw(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id) {
  return load_raw(account_id, inbox_id, id).first;
}

std::pair<std::string, std::string> MessagesService::load_raw(std::int64_t account_id, std::int64_t inbox_id,
                                                              std::int64_t id) {
  const auto stored = db_.read([&](store::Tx& tx) { return store::MessagesStore(tx).raw(account_id, inbox_id, id); });
  if (!stored) throw NotFound();
  auto bytes = zstd_decompress(stored->compressed, static_cast<std::size_t>(stored->size));
  if (!bytes) throw std::runtime_error("stored message " + std::to_string(id) + " cannot be decompressed");
  return {std::move(*bytes), stored->subject};
}

Body MessagesService::body(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id, BodyKind kind) {
  auto [bytes, subject] = load_raw(account_id, inbox_id, id);
  switch (kind) {
    case BodyKind::raw:
      return {"text/plain; charset=utf-8", std::move(bytes)};
    case BodyKind::eml:
      return {"message/rfc822", std::move(bytes), (subject.empty() ? "message" : subject) + ".eml"};
    default:
      break;
  }
  const mime::ParsedMessage parsed = mime::parse_message(bytes);
  if (kind == BodyKind::text) {
    if (!parsed.text_body) throw PartMissing();
    return {"text/plain; charset=utf-8", *parsed.text_body};
  }
  if (!parsed.html_body) throw PartMissing();
  if (kind == BodyKind::html_source) return {"text/html; charset=utf-8", *parsed.html_body};
  return {"text/html; charset=utf-8", mime::sanitize_html_for_preview(*parsed.html_body)};
}

std::vector<std::pair<std::string, std::string>> MessagesService::mail_headers(std::int64_t account_id,
                                                                               std::int64_t inbox_id, std::int64_t id) {
  const MessageSummary message = get(account_id, inbox_id, id);
  std::vector<std::pair<std::string, std::string>> out;
  const json::value headers = json::parse(message.headers_json);
  for (const json::value& pair : headers.as_array()) {
    const json::array& nv = pair.as_array();
    std::string key = header_key(nv.at(0).as_string());
    if (key == "bcc") continue;  // reported from the envelope below
    if (std::any_of(out.begin(), out.end(), [&](const auto& kv) { return kv.first == key; })) continue;
    out.emplace_back(std::move(key), std::string(nv.at(1).as_string()));
  }
  const json::value recipients = json::parse(message.recipients_json);
  std::string bcc;
  for (const json::value& a : recipients.at("bcc").as_array()) {
    if (!bcc.empty()) bcc += ", ";
    bcc += a.at("email").as_string();
  }
  out.emplace_back("bcc", bcc);
  return out;
}

std::vector<AttachmentSummary> MessagesService::attachments(std::int64_t account_id, std::int64_t inbox_id,
                                                            std::int64_t message_id,
                                                            const std::optional<std::string>& attachment_type) {
  return db_.read([&](store::Tx& tx) {
    store::MessagesStore messages(tx);
    if (!messages.find(account_id, inbox_id, message_id)) throw NotFound();
    return messages.attachments(account_id, inbox_id, message_id, attachment_type);
  });
}

AttachmentSummary MessagesService::attachment(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id,
                                              std::int64_t id) {
  auto found = db_.read(
      [&](store::Tx& tx) { return store::MessagesStore(tx).attachment(account_id, inbox_id, message_id, id); });
  if (!found) throw NotFound();
  return std::move(*found);
}

AttachmentContent MessagesService::attachment_content(std::int64_t account_id, std::int64_t inbox_id,
                                                      std::int64_t message_id, std::int64_t id) {
  AttachmentSummary summary = attachment(account_id, inbox_id, message_id, id);
  const std::string bytes = raw(account_id, inbox_id, message_id);
  auto content = mime::attachment_content(bytes, static_cast<std::size_t>(summary.part_index));
  if (!content) throw NotFound();
  return {std::move(summary), std::move(*content)};
}

std::optional<MessageSummary> MessagesService::wait(std::int64_t account_id, std::int64_t inbox_id,
                                                    std::string_view search, std::optional<std::int64_t> after_id,
                                                    std::chrono::milliseconds timeout) {
  const SearchQuery query = parse_search(search);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // Read the generation first: an arrival between the query and the wait then wakes us at once.
    const std::uint64_t seen = events_.generation();
    auto found = db_.read([&](store::Tx& tx) {
      return store::MessagesStore(tx).list(account_id, inbox_id, query, std::nullopt, after_id, 1, 0,
                                           after_id.has_value());
    });
    if (!found.empty()) return std::move(found.front());
    if (std::chrono::steady_clock::now() >= deadline || events_.closed()) return std::nullopt;
    events_.wait_for_change(seen, deadline);
  }
}

}  // namespace postroom::sandbox
