#include "sending/delivery.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <random>
#include <regex>

#include "core/compression.h"
#include "core/crypto.h"
#include "dkim/dkim.h"
#include "mime/text.h"
#include "sending/service.h"
#include "smtp/client.h"
#include "store/sending_store.h"

namespace postroom::sending {
namespace {

namespace json = boost::json;
namespace client = smtp::client;
using mime::text::ascii_lower;
using mime::text::is_ascii;
using store::SendingStore;
using store::Tx;

constexpr auto kIdentityCacheLifetime = std::chrono::seconds(30);
constexpr auto kRouteCacheLifetime = std::chrono::seconds(60);
constexpr std::size_t kMaxBodyBytes = 64 * 1024 * 1024;

client::TlsMode tls_mode(const std::string& name) {
  if (name == "none") return client::TlsMode::none;
  if (name == "required") return client::TlsMode::required;
  if (name == "implicit") return client::TlsMode::implicit;
  return client::TlsMode::opportunistic;
}

}  // namespace

Relay parse_relay_url(const std::string& url) {
  Relay relay;
  std::string rest;
  if (url.starts_with("smtp://")) {
    rest = url.substr(7);
  } else if (url.starts_with("smtps://")) {
    rest = url.substr(8);
    relay.tls = "implicit";
    relay.port = 465;
  } else {
    throw std::invalid_argument("the relay must be smtp://[user:pass@]host[:port] or smtps://…");
  }
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    const std::string userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    relay.username = userinfo.substr(0, colon);
    if (colon != std::string::npos) relay.password = userinfo.substr(colon + 1);
  }
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  std::string host = rest;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string::npos) throw std::invalid_argument("bad relay host");
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (rest.starts_with(':')) relay.port = static_cast<std::uint16_t>(std::stoi(rest.substr(1)));
  } else if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    relay.port = static_cast<std::uint16_t>(std::stoi(rest.substr(colon + 1)));
  }
  if (host.empty()) throw std::invalid_argument("the relay URL has no host");
  relay.host = host;
  return relay;
}

std::string mailbox_provider(std::string_view mx_host) {
  const std::string host = ascii_lower(std::string(mx_host));
  static const std::vector<std::pair<std::string, std::string>> providers = {
      {"gmail-smtp-in.l.google.com", "Google"},
      {"google.com", "Google Workspace"},
      {"googlemail.com", "Google Workspace"},
      {"mail.protection.outlook.com", "Office 365"},
      {"olc.protection.outlook.com", "Outlook"},
      {"outlook.com", "Outlook"},
      {"hotmail.com", "Outlook"},
      {"yahoodns.net", "Yahoo"},
      {"icloud.com", "iCloud"},
      {"me.com", "iCloud"},
      {"mimecast.com", "Mimecast"},
      {"pphosted.com", "Proofpoint"},
      {"messagelabs.com", "Symantec"},
      {"zoho.com", "Zoho"},
      {"yandex.net", "Yandex"},
      {"mail.ru", "Mail.ru"},
      {"gmx.net", "GMX"},
      {"web.de", "Web.de"},
      {"protonmail.ch", "Proton"},
      {"fastmail.com", "Fastmail"},
      {"messagingengine.com", "Fastmail"},
      {"secureserver.net", "GoDaddy"},
      {"comcast.net", "Comcast"},
      {"aol.com", "AOL"}};
  for (const auto& [suffix, name] : providers) {
    if (host == suffix || (host.size() > suffix.size() && host.ends_with("." + suffix))) return name;
  }
  return {};
}

std::optional<int> retry_hint_seconds(std::string_view text) {
  static const std::regex hint(
      R"((?:try again|retry|wait)[^0-9]{0,20}(\d{1,6})\s*(seconds?|secs?|s\b|minutes?|mins?|m\b))", std::regex::icase);
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_search(text.begin(), text.end(), match, hint)) return std::nullopt;
  const int value = std::stoi(match[1].str());
  const char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(match[2].str().front())));
  return unit == 'm' ? value * 60 : value;
}

struct DeliveryEngine::Route {
  client::Target target;
  std::string site;  // shared MX hosts (or the relay) group concurrency
  std::map<std::string, std::string> mx_of_address;
  std::optional<client::Credentials> credentials;
  client::TlsOptions tls;
};

struct DeliveryEngine::Attempt {
  SentMessage message;
  std::shared_ptr<const std::string> data;
  Route route;
  bool tls_fallback_done = false;
};

DeliveryEngine::DeliveryEngine(store::Database& db, domains::DomainsService& domains, const Clock& clock,
                               DeliverySettings settings, std::shared_ptr<const dns::Resolver> resolver,
                               BounceClassifier classifier)
    : db_(db),
      domains_(domains),
      clock_(clock),
      settings_(std::move(settings)),
      resolver_(std::move(resolver)),
      classifier_(std::move(classifier)) {
  if (settings_.site_rate_per_minute > 0)
    site_rate_ = std::make_unique<RateLimiter>(settings_.site_rate_per_minute, 60);
}

DeliveryEngine::~DeliveryEngine() { stop(); }

void DeliveryEngine::start() {
  {
    std::lock_guard lock(mutex_);
    if (running_) return;
    running_ = true;
    stopping_ = false;
  }
  client_ = std::make_unique<client::Client>(client::ClientOptions{.helo_name = settings_.helo_name,
                                                                   .io_threads = settings_.client_io_threads,
                                                                   .connect_timeout = settings_.connect_timeout,
                                                                   .greeting_timeout = settings_.command_timeout,
                                                                   .command_timeout = settings_.command_timeout,
                                                                   .data_timeout = settings_.data_timeout,
                                                                   .source_address = settings_.source_address,
                                                                   .max_idle_connections_per_target = 8,
                                                                   .idle_timeout = std::chrono::seconds(30),
                                                                   .max_messages_per_connection = 100});
  std::int64_t after = 0;
  std::size_t loaded = 0;
  while (true) {
    const auto page = db_.read([&](Tx& tx) { return SendingStore(tx).due_deliveries(10000, after); });
    if (page.empty()) break;
    std::lock_guard lock(mutex_);
    for (const auto& d : page) due_.push({d.next_attempt_at, d.id});
    loaded += page.size();
    after = page.back().id;
  }
  if (loaded) spdlog::info("delivery queue: {} messages waiting", loaded);
  for (int i = 0; i < std::max(1, settings_.worker_threads); ++i) workers_.emplace_back([this] { worker(); });
  scheduler_thread_ = std::thread([this] { scheduler(); });
}

void DeliveryEngine::stop() {
  {
    std::unique_lock lock(mutex_);
    if (!running_) return;
    stopping_ = true;
    wake_scheduler_.notify_all();
    // Deliveries in flight finish (their outcome is recorded); nothing new starts.
    idle_.wait_for(lock, std::chrono::seconds(30), [this] { return in_flight_ == 0; });
  }
  if (scheduler_thread_.joinable()) scheduler_thread_.join();
  client_.reset();  // aborts whatever is left; its callbacks queue jobs the workers still run
  {
    std::lock_guard lock(mutex_);
    running_ = false;
  }
  wake_workers_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void DeliveryEngine::enqueue(const std::vector<std::int64_t>& ids) {
  const std::int64_t now = clock_.now();
  std::lock_guard lock(mutex_);
  for (auto id : ids) due_.push({now, id});
  wake_scheduler_.notify_one();
}

DeliveryEngine::Stats DeliveryEngine::stats() const {
  std::lock_guard lock(mutex_);
  Stats s = stats_;
  s.queued = due_.size();
  s.in_flight = static_cast<std::size_t>(in_flight_);
  return s;
}

void DeliveryEngine::schedule(std::int64_t id, std::int64_t at) {
  std::lock_guard lock(mutex_);
  due_.push({at, id});
  wake_scheduler_.notify_one();
}

void DeliveryEngine::run_job(std::function<void()> job) {
  std::lock_guard lock(mutex_);
  jobs_.push_back(std::move(job));
  wake_workers_.notify_one();
}

void DeliveryEngine::scheduler() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const std::int64_t now = clock_.now();
    while (!due_.empty() && due_.top().at <= now && in_flight_ < settings_.max_in_flight) {
      const std::int64_t id = due_.top().id;
      due_.pop();
      ++in_flight_;
      jobs_.push_back([this, id] { begin_attempt(id); });
      wake_workers_.notify_one();
    }
    if (!due_.empty() && due_.top().at <= now) {
      // At the in-flight limit: woken when one finishes.
      wake_scheduler_.wait(lock);
    } else if (!due_.empty()) {
      wake_scheduler_.wait_for(lock, std::chrono::milliseconds(std::min<std::int64_t>(
                                         1000, std::max<std::int64_t>(50, (due_.top().at - now) * 1000))));
    } else {
      wake_scheduler_.wait_for(lock, std::chrono::seconds(1));
    }
  }
}

void DeliveryEngine::worker() {
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_workers_.wait(lock, [this] { return !jobs_.empty() || !running_; });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("delivery job failed: {}", e.what());
    }
  }
}

std::vector<domains::SigningIdentity> DeliveryEngine::identities(std::int64_t account_id,
                                                                 const std::string& domain_name) {
  const auto key = std::make_pair(account_id, domain_name);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(cache_mutex_);
    const auto it = identity_cache_.find(key);
    if (it != identity_cache_.end() && now - it->second.loaded < kIdentityCacheLifetime) return it->second.identities;
  }
  auto loaded = domains_.signing_identities(account_id, domain_name);
  std::lock_guard lock(cache_mutex_);
  identity_cache_[key] = {now, loaded};
  return loaded;
}

std::optional<DeliveryEngine::Route> DeliveryEngine::route_for(const std::string& recipient_domain, std::string& error,
                                                               bool& permanent) {
  Route route;
  if (settings_.relay) {
    const Relay& relay = *settings_.relay;
    route.target = {.host = relay.host, .addresses = {}, .port = relay.port};
    route.site = "relay:" + relay.host;
    route.tls.mode = tls_mode(relay.tls);
    route.tls.verify_peer = settings_.verify_peer;
    if (!relay.username.empty()) route.credentials = client::Credentials{relay.username, relay.password, false};
    return route;
  }
  permanent = false;
  std::vector<std::string> hosts;
  const dns::Answer mx = resolver_->resolve(recipient_domain, dns::RecordType::mx);
  if (mx.ok()) {
    if (mx.mx.size() == 1 && (mx.mx.front().host.empty() || mx.mx.front().host == ".")) {
      error = "556 5.1.10 Recipient address has null MX";  // RFC 7505
      permanent = true;
      return std::nullopt;
    }
    for (const auto& record : mx.mx) hosts.push_back(ascii_lower(record.host));
  } else if (mx.status == dns::Status::nodata) {
    hosts.push_back(recipient_domain);  // RFC 5321 §5.1: the implicit MX
  } else if (mx.status == dns::Status::nxdomain) {
    error = "Domain " + recipient_domain + " does not exist (no MX/A record, NXDOMAIN)";
    permanent = true;
    return std::nullopt;
  } else {
    error = "DNS lookup of the MX of " + recipient_domain + " failed: " + std::string(dns::to_string(mx.status));
    return std::nullopt;
  }
  std::vector<dns::Query> queries;
  for (const auto& host : hosts) {
    queries.push_back({host, dns::RecordType::a});
    queries.push_back({host, dns::RecordType::aaaa});
  }
  const auto answers = resolver_->resolve_all(queries, 16);
  for (std::size_t i = 0; i < answers.size(); ++i) {
    for (const auto& address : answers[i].addresses) {
      if (route.mx_of_address.emplace(address, queries[i].name).second) route.target.addresses.push_back(address);
    }
  }
  if (route.target.addresses.empty()) {
    error = "No address found for the mail servers of " + recipient_domain;
    permanent = std::all_of(answers.begin(), answers.end(), [](const dns::Answer& a) {
      return a.status == dns::Status::nxdomain || a.status == dns::Status::nodata;
    });
    return std::nullopt;
  }
  std::vector<std::string> site_hosts = hosts;
  std::sort(site_hosts.begin(), site_hosts.end());
  for (const auto& h : site_hosts) route.site += h + ",";
  route.target.host = hosts.front();
  route.target.port = settings_.mx_port;
  const bool require = std::find(settings_.require_tls_domains.begin(), settings_.require_tls_domains.end(),
                                 recipient_domain) != settings_.require_tls_domains.end();
  route.tls.mode = require ? client::TlsMode::required : client::TlsMode::opportunistic;
  route.tls.verify_peer = settings_.verify_peer || require;
  return route;
}

void DeliveryEngine::release_site(const std::string& site) {
  std::lock_guard lock(mutex_);
  if (auto it = site_in_flight_.find(site); it != site_in_flight_.end() && --it->second <= 0) site_in_flight_.erase(it);
}

void DeliveryEngine::begin_attempt(std::int64_t id) {
  auto done_without_send = [this] {
    std::lock_guard lock(mutex_);
    --in_flight_;
    wake_scheduler_.notify_one();
    idle_.notify_all();
  };
  auto attempt = std::make_shared<Attempt>();
  std::optional<std::string> compressed;
  const auto message = db_.read([&](Tx& tx) -> std::optional<SentMessage> {
    SendingStore store(tx);
    auto m = store.find_by_id(id);
    if (m) compressed = store.body(m->body_id);
    return m;
  });
  if (!message || message->status != status::enqueued || !message->next_attempt_at || !compressed) {
    done_without_send();
    return;
  }
  attempt->message = *message;
  const SentMessage& m = attempt->message;
  // Platform mail (forwarded sandbox messages, their confirmations) is not the account's sending: no account
  // limits, no sending domain, no DKIM key of the account.
  const bool platform_mail = m.stream == Stream::forward;
  if (!platform_mail && (settings_.hourly_limit > 0 || settings_.daily_limit > 0)) {
    const std::int64_t now = clock_.now();
    const std::int64_t hour = now / 3600, day = now / 86400;
    bool over_hour = false, over_day = false;
    {
      std::lock_guard lock(mutex_);
      std::erase_if(hourly_, [&](const auto& entry) { return entry.first.second < hour; });
      std::erase_if(daily_, [&](const auto& entry) { return entry.first.second < day; });
      int& this_hour = hourly_[{m.account_id, hour}];
      int& this_day = daily_[{m.account_id, day}];
      over_day = settings_.daily_limit > 0 && this_day >= settings_.daily_limit;
      over_hour = !over_day && settings_.hourly_limit > 0 && this_hour >= settings_.hourly_limit;
      if (!over_day && !over_hour) {
        ++this_hour;
        ++this_day;
      }
    }
    if (over_hour) {
      // Queued for the next hour: not an attempt, no event.
      schedule(id, (hour + 1) * 3600);
      done_without_send();
      return;
    }
    if (over_day) {
      // Held until tomorrow with a `suspension` event; a held message keeps its retries.
      SentMessage& held = attempt->message;
      held.next_attempt_at = (day + 1) * 86400;
      held.updated_at = now;
      db_.write([&](Tx& tx) {
        SendingStore store(tx);
        store.save_delivery_state(held);
        store.add_event({.id = 0,
                         .message_id = held.id,
                         .event_type = std::string(event::suspension),
                         .created_at = now,
                         .details = json::serialize(json::object{
                             {"reject_reason", "Daily sending limit of " + std::to_string(settings_.daily_limit) +
                                                   " messages reached"}})},
                        held.account_id);
      });
      schedule(id, *held.next_attempt_at);
      done_without_send();
      return;
    }
  }
  const auto live = platform_mail ? std::nullopt : domains_.find_live(m.account_id, m.domain_name);
  if (!platform_mail && (!live || live->id != m.domain_id)) {
    record(attempt, "reject", 0, "", "", "The sending domain " + m.domain_name + " was deleted", "");
    done_without_send();
    return;
  }
  const auto keys = platform_mail ? std::vector<domains::SigningIdentity>{} : identities(m.account_id, m.domain_name);
  if (!platform_mail && keys.empty()) {
    // Verified domains only: a domain that lost verification holds its mail (suspension) until it is back.
    record(attempt, "suspension", 0, "", "",
           "The sending domain " + m.domain_name + " is not verified (" + live->compliance_status + ")", "");
    done_without_send();
    return;
  }
  std::string error;
  bool permanent = false;
  const std::string recipient_domain = domain_of(m.to);
  std::optional<Route> route;
  {
    std::lock_guard lock(route_mutex_);
    const auto it = route_cache_.find(recipient_domain);
    if (it != route_cache_.end() && std::chrono::steady_clock::now() - it->second.resolved < kRouteCacheLifetime)
      route = *it->second.route;
  }
  if (!route) {
    route = route_for(recipient_domain, error, permanent);
    if (route) {
      std::lock_guard lock(route_mutex_);
      if (route_cache_.size() > 100'000) route_cache_.clear();
      route_cache_[recipient_domain] = {std::chrono::steady_clock::now(), std::make_shared<const Route>(*route)};
    }
  }
  if (!route) {
    record(attempt, permanent ? "bounce" : "soft_bounce", 0, "", "", error, "");
    done_without_send();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || !client_) {
      // Shutting down: the row stays enqueued and is delivered after the restart.
      --in_flight_;
      idle_.notify_all();
      return;
    }
    int& busy = site_in_flight_[route->site];
    const bool over_rate =
        site_rate_ && !site_rate_
                           ->check(route->site, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    std::chrono::system_clock::now().time_since_epoch())
                                                    .count())
                           .allowed;
    if (busy >= settings_.max_per_site || over_rate) {
      // The site is busy or at its rate: try again in a second, without counting an attempt.
      --in_flight_;
      due_.push({clock_.now() + 1, id});
      wake_scheduler_.notify_one();
      idle_.notify_all();
      return;
    }
    ++busy;
  }
  // Signed only once a slot toward the site is held, so a busy site costs no signature.
  auto raw = zstd_decompress(*compressed, kMaxBodyBytes);
  if (!raw) {
    release_site(route->site);
    record(attempt, "bounce", 0, "", "", "The stored message body is unreadable", "");
    done_without_send();
    return;
  }
  std::string signatures;
  for (const auto& identity : keys) {
    dkim::SignOptions options;
    options.domain = m.domain_name;
    options.selector = identity.selector;
    options.timestamp = clock_.now();
    // CFBL-Address must be covered by the signature (RFC 9477 §3.1).
    options.headers = dkim::default_signed_headers();
    options.headers.push_back("cfbl-address");
    signatures += dkim::sign(*raw, identity.key, options);
  }
  attempt->data = std::make_shared<const std::string>(signatures + *raw);
  attempt->route = std::move(*route);
  send(attempt);
}

void DeliveryEngine::send(const std::shared_ptr<Attempt>& attempt) {
  const SentMessage& m = attempt->message;
  client::Message outgoing{.mail_from = m.mail_from,
                           .recipients = {m.to},
                           .data = attempt->data,
                           .smtputf8 = !is_ascii(m.to) || !is_ascii(m.mail_from),
                           .eight_bit = !is_ascii(*attempt->data),
                           .envid = m.uuid};
  client_->send(attempt->route.target, attempt->route.tls, attempt->route.credentials, std::move(outgoing),
                [this, attempt](client::Outcome outcome) {
                  run_job([this, attempt, outcome = std::move(outcome)] { finish(attempt, outcome); });
                });
}

void DeliveryEngine::finish(const std::shared_ptr<Attempt>& attempt, const client::Outcome& outcome) {
  // RFC 7435: a failed opportunistic STARTTLS handshake is retried once in the clear (unless TLS is required).
  bool stopping = false;
  {
    std::lock_guard lock(mutex_);
    stopping = stopping_ || !client_;
  }
  if (!stopping && outcome.stage == client::Outcome::Stage::starttls &&
      attempt->route.tls.mode == client::TlsMode::opportunistic && !attempt->tls_fallback_done &&
      outcome.local_error.starts_with("TLS handshake failed")) {
    attempt->tls_fallback_done = true;
    attempt->route.tls.mode = client::TlsMode::none;
    send(attempt);
    return;
  }
  release_site(attempt->route.site);
  const client::Reply& reply = outcome.recipients.empty() ? outcome.reply : outcome.recipients.front().reply;
  std::string kind;
  std::string enhanced = reply.enhanced;
  if (outcome.delivered_any && reply.positive()) {
    kind = "delivery";
  } else if (reply.code >= 500) {
    kind = "bounce";
  } else if (reply.code == 0 && outcome.local_error.find("SMTPUTF8") != std::string::npos) {
    // An internationalized address the receiver cannot take: returned at once (RFC 6531 §3.2), no retries.
    kind = "bounce";
    enhanced = "5.6.7";
  } else {
    kind = "soft_bounce";
  }
  record(attempt, kind, reply.code, enhanced, reply.text, reply.code ? "" : outcome.local_error,
         outcome.remote_address);
  std::lock_guard lock(mutex_);
  --in_flight_;
  wake_scheduler_.notify_one();
  idle_.notify_all();
}

void DeliveryEngine::record(const std::shared_ptr<Attempt>& attempt, const std::string& kind, int code,
                            const std::string& enhanced, const std::string& text, const std::string& local_error,
                            const std::string& remote_address) {
  SentMessage& m = attempt->message;
  const std::int64_t now = clock_.now();
  m.updated_at = now;
  m.attempts += 1;
  if (!remote_address.empty()) {
    const auto it = attempt->route.mx_of_address.find(remote_address);
    m.recipient_mx = it != attempt->route.mx_of_address.end() ? it->second : attempt->route.target.host;
    m.email_service_provider = mailbox_provider(m.recipient_mx);
  }
  m.sending_ip = settings_.source_address;
  const std::string response =
      code ? std::to_string(code) + (enhanced.empty() ? "" : " " + enhanced) + " " + text : local_error;
  m.last_response = response;
  json::object details;
  std::string event_type = kind;
  std::optional<Classification> classification;
  bool suppress = false;
  if (kind == "delivery") {
    m.status = std::string(status::delivered);
    m.next_attempt_at.reset();
    m.bounce_category.clear();
    details = {{"sending_ip", m.sending_ip.empty() ? json::value(nullptr) : json::value(m.sending_ip)},
               {"recipient_mx", m.recipient_mx.empty() ? json::value(nullptr) : json::value(m.recipient_mx)},
               {"email_service_provider",
                m.email_service_provider.empty() ? json::value(nullptr) : json::value(m.email_service_provider)}};
  } else if (kind == "reject") {
    m.status = std::string(status::not_delivered);
    m.next_attempt_at.reset();
    details = {{"reject_reason", local_error}};
  } else {
    if (kind != "suspension") {
      classification = classifier_.classify(code, enhanced, code ? text : local_error, m.recipient_mx);
      m.bounce_category = classification->category;
    }
    bool permanent = kind == "bounce" || (classification && classification->permanent);
    const std::size_t retries = settings_.retry_schedule.size();
    if (!permanent && static_cast<std::size_t>(m.attempts) > retries) permanent = true;  // retries exhausted
    if (permanent) {
      event_type = kind == "suspension" ? "reject" : "bounce";
      m.status = std::string(status::not_delivered);
      m.next_attempt_at.reset();
      if (classification) {
        const auto* category = find_bounce_category(classification->category);
        suppress = classification->suppress || (category && category->suppress);
      }
    } else {
      event_type = kind == "suspension" ? "suspension" : "soft_bounce";
      int delay = settings_.retry_schedule[static_cast<std::size_t>(m.attempts) - 1];
      if (const auto hint = retry_hint_seconds(text); hint && *hint > delay) delay = *hint;
      static thread_local std::mt19937 random{std::random_device{}()};
      delay += static_cast<int>(std::uniform_int_distribution<int>(0, std::max(1, delay / 10))(random));
      m.next_attempt_at = now + delay;
    }
    if (event_type == "reject") {
      details = {{"reject_reason", local_error}};
    } else {
      details = {
          {"sending_ip", m.sending_ip.empty() ? json::value(nullptr) : json::value(m.sending_ip)},
          {"recipient_mx", m.recipient_mx.empty() ? json::value(nullptr) : json::value(m.recipient_mx)},
          {"email_service_provider",
           m.email_service_provider.empty() ? json::value(nullptr) : json::value(m.email_service_provider)},
          {"email_service_provider_status", enhanced.empty() ? json::value(nullptr) : json::value(enhanced)},
          {"email_service_provider_response", response},
          {"bounce_category", m.bounce_category.empty() ? json::value(nullptr) : json::value(m.bounce_category)}};
      if (event_type == "suspension") details = {{"reject_reason", local_error}};
    }
  }
  db_.write([&](Tx& tx) {
    SendingStore store(tx);
    store.save_delivery_state(m);
    store.add_event(
        {.id = 0, .message_id = m.id, .event_type = event_type, .created_at = now, .details = json::serialize(details)},
        m.account_id);
    // Platform mail never suppresses the account's own recipients.
    if (suppress && m.stream != Stream::forward && !store.blocking(m.account_id, m.domain_id, m.to, m.stream)) {
      Suppression s = suppression_for(m, "hard bounce", now);
      s.message_bounce_category = m.bounce_category;
      s.message_esp_response = response;
      s.message_esp_server_type = m.email_service_provider;
      s.message_outgoing_ip = m.sending_ip;
      s.message_recipient_mx_name = m.recipient_mx;
      store.add_suppression(s);
    }
  });
  {
    std::lock_guard lock(mutex_);
    if (event_type == "delivery")
      ++stats_.delivered;
    else if (event_type == "soft_bounce" || event_type == "suspension")
      ++stats_.soft_bounced;
    else if (event_type == "bounce")
      ++stats_.bounced;
    else
      ++stats_.rejected;
  }
  if (m.next_attempt_at) schedule(m.id, *m.next_attempt_at);
}

}  // namespace postroom::sending
