#include "domains/service.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>

#include <spdlog/spdlog.h>
#include "core/crypto.h"
#include "core/errors.h"
#include "domains/records.h"
#include "domains/verification.h"
#include "mime/send_request.h"
#include "mime/text.h"
#include "store/domains_store.h"

namespace postroom::domains {
namespace {

using store::DomainsStore;
using store::Tx;

constexpr std::string_view kActive = "active";
constexpr std::string_view kStandby = "standby";
constexpr std::string_view kRetired = "retired";

// Mailbox providers' own domains: nobody can publish records there, so they are refused up front.
constexpr std::array<std::string_view, 40> kPublicMailboxDomains = {
    "gmail.com",    "googlemail.com", "outlook.com",    "hotmail.com",    "hotmail.co.uk", "live.com",     "msn.com",
    "yahoo.com",    "yahoo.co.uk",    "ymail.com",      "rocketmail.com", "aol.com",       "icloud.com",   "me.com",
    "mac.com",      "proton.me",      "protonmail.com", "pm.me",          "gmx.com",       "gmx.net",      "gmx.de",
    "web.de",       "mail.com",       "yandex.ru",      "yandex.com",     "mail.ru",       "inbox.ru",     "bk.ru",
    "zoho.com",     "zohomail.com",   "qq.com",         "163.com",        "126.com",       "tutanota.com", "tuta.io",
    "fastmail.com", "hey.com",        "outlook.de",     "live.co.uk",     "seznam.cz"};

std::string seal_context(std::int64_t domain_id, const std::string& selector) {
  return "dkim:" + std::to_string(domain_id) + ":" + selector;
}

// A new key pair; the DkimKey's private part is sealed by the caller once the domain id is known.
std::pair<DkimKey, dkim::SigningKey> new_key(const std::string& selector, dkim::Algorithm algorithm, std::int64_t now,
                                             std::string_view state) {
  dkim::SigningKey generated = algorithm == dkim::Algorithm::rsa_sha256 ? dkim::SigningKey::generate_rsa(2048)
                                                                        : dkim::SigningKey::generate_ed25519();
  DkimKey key;
  key.selector = selector;
  key.algorithm = std::string(dkim::to_string(algorithm));
  key.public_txt = generated.dns_txt_value();
  key.state = std::string(state);
  key.created_at = now;
  return {std::move(key), std::move(generated)};
}

using mime::text::ascii_lower;

bool valid_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return false;
  const std::string scheme = ascii_lower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return false;
  const std::string rest = url.substr(scheme_end + 3);
  const std::string host = rest.substr(0, rest.find_first_of("/?#:"));
  if (host.empty() || host.find('.') == std::string::npos) return false;
  return std::none_of(url.begin(), url.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; });
}

}  // namespace

bool is_public_mailbox_domain(std::string_view domain) {
  for (std::string_view provider : kPublicMailboxDomains) {
    if (domain == provider) return true;
    if (domain.size() > provider.size() && domain.ends_with(provider) &&
        domain[domain.size() - provider.size() - 1] == '.')
      return true;
  }
  return false;
}

std::string normalize_domain_name(const std::string& input) {
  auto refuse = [](const std::string& why) { throw ValidationError("base", "Validation failed: " + why); };
  std::string name = input;
  name.erase(0, name.find_first_not_of(" \t"));
  name.erase(name.find_last_not_of(" \t") + 1);
  name = ascii_lower(name);
  if (name.ends_with('.')) name.pop_back();
  if (name.empty()) refuse("Domain name can't be blank");
  if (name.starts_with("www.")) refuse("Domain name must not start with www. (add " + name.substr(4) + " instead)");
  if (name.size() > 253) refuse("Domain name is too long (maximum is 253 characters)");
  std::size_t labels = 0;
  std::size_t start = 0;
  std::string last_label;
  while (start <= name.size()) {
    const auto dot = std::min(name.find('.', start), name.size());
    const std::string label = name.substr(start, dot - start);
    const bool ok = !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-' &&
                    std::all_of(label.begin(), label.end(), [](unsigned char c) {
                      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                    });
    if (!ok) refuse("Domain name is not a valid domain name");
    ++labels;
    last_label = label;
    start = dot + 1;
  }
  if (labels < 2 || std::all_of(last_label.begin(), last_label.end(), [](unsigned char c) { return std::isdigit(c); }))
    refuse("Domain name is not a valid domain name");
  if (is_public_mailbox_domain(name))
    refuse("Domain name " + name + " is a public mailbox domain; add a domain you own");
  return name;
}

DomainsService::DomainsService(store::Database& db, accounts::AccountsService& accounts, const Clock& clock,
                               DomainSettings settings, crypto::SecretBox secrets,
                               std::shared_ptr<const dns::Resolver> resolver, SystemMailer mailer)
    : db_(db),
      accounts_(accounts),
      clock_(clock),
      settings_(std::move(settings)),
      secrets_(std::move(secrets)),
      resolver_(std::move(resolver)),
      mailer_(std::move(mailer)) {}

DomainsService::~DomainsService() { stop(); }

std::string DomainsService::compliance_for(const SendingDomain& domain) const {
  if (domain.demo) return std::string(compliance::demo);
  if (domain.compliance_status == compliance::non_compliant || domain.compliance_status == compliance::suspended)
    return domain.compliance_status;
  if (!domain.dns_verified) return std::string(compliance::unverified_dns);
  if (settings_.require_approval && !domain.compliance_approved) return std::string(compliance::pending);
  return std::string(compliance::compliant);
}

SendingDomain DomainsService::with_records(Tx& tx, SendingDomain domain) {
  const auto stored = std::move(domain.dns_records);
  domain.dns_records = expected_records(domain, DomainsStore(tx).keys(domain.id), settings_);
  merge_checks(domain.dns_records, stored);
  if (domain.demo) {
    for (auto& record : domain.dns_records) record.status = RecordStatus::pass;
  }
  return domain;
}

SendingDomain DomainsService::load(std::int64_t account_id, std::int64_t id) {
  return db_.read([&](Tx& tx) {
    auto domain = DomainsStore(tx).find(account_id, id);
    if (!domain) throw NotFound();
    return with_records(tx, std::move(*domain));
  });
}

void DomainsService::ensure_demo(std::int64_t account_id) {
  if (settings_.demo_domain.empty()) return;
  if (db_.read([&](Tx& tx) { return DomainsStore(tx).has_demo(account_id); })) return;
  const std::int64_t now = clock_.now();
  // (No structured binding: clang 14 cannot capture one in the lambda below.)
  auto generated = new_key(settings_.dkim_selector_prefix + "1", dkim::Algorithm::rsa_sha256, now, kActive);
  DkimKey& key = generated.first;
  const dkim::SigningKey& rsa = generated.second;
  db_.write([&](Tx& tx) {
    DomainsStore store(tx);
    if (store.has_demo(account_id)) return;  // another request made it meanwhile
    SendingDomain demo;
    demo.account_id = account_id;
    demo.domain_name = settings_.demo_domain;
    demo.demo = true;
    demo.verification_token = "demo";
    demo.dns_verified = true;
    demo.dns_verified_at = now;
    demo.dns_checked_at = now;
    demo.compliance_status = std::string(compliance::demo);
    demo.created_at = now;
    demo.id = store.create(demo);
    key.domain_id = demo.id;
    key.private_sealed = secrets_.seal(rsa.private_der(), seal_context(demo.id, key.selector));
    store.add_key(key);
  });
}

std::vector<SendingDomain> DomainsService::list(std::int64_t account_id) {
  ensure_demo(account_id);
  return db_.read([&](Tx& tx) {
    std::vector<SendingDomain> out;
    for (auto& domain : DomainsStore(tx).list(account_id)) out.push_back(with_records(tx, std::move(domain)));
    return out;
  });
}

SendingDomain DomainsService::get(std::int64_t account_id, std::int64_t id) {
  SendingDomain domain = load(account_id, id);
  const bool stale = !domain.demo && (!domain.dns_checked_at ||
                                      *domain.dns_checked_at + settings_.refresh_after_seconds <= clock_.now());
  if (stale) {
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) {
      requested_.insert({account_id, id});
      wake_.notify_one();
    }
  }
  return domain;
}

CreatedDomain DomainsService::create(std::int64_t account_id, const std::string& domain_name) {
  const std::string name = normalize_domain_name(domain_name);
  if (!settings_.demo_domain.empty() && name == settings_.demo_domain)
    throw ValidationError("base", "Validation failed: Domain name is reserved for the demo domain");
  const std::int64_t now = clock_.now();
  // Key generation is the slow part (RSA-2048): done before the write transaction.
  const std::string& prefix = settings_.dkim_selector_prefix;
  std::vector<std::pair<DkimKey, dkim::SigningKey>> keys;
  auto add_key = [&](const std::string& selector, dkim::Algorithm algorithm, std::string_view state) {
    keys.push_back(new_key(selector, algorithm, now, state));
  };
  add_key(prefix + "1", dkim::Algorithm::rsa_sha256, kActive);
  add_key(prefix + "2", dkim::Algorithm::rsa_sha256, kStandby);
  if (settings_.dkim_ed25519) add_key(prefix + "ed", dkim::Algorithm::ed25519_sha256, kActive);

  CreatedDomain created;
  const std::int64_t id = db_.write([&](Tx& tx) {
    DomainsStore store(tx);
    if (store.find_by_name(account_id, name))
      throw ValidationError("base", "Validation failed: Domain name has already been taken");
    SendingDomain domain;
    domain.account_id = account_id;
    domain.domain_name = name;
    domain.verification_token = "pr-" + crypto::random_hex(12);
    domain.compliance_status = std::string(compliance::unverified_dns);
    domain.created_at = now;
    domain.id = store.create(domain);
    for (auto& [key, signing_key] : keys) {
      key.domain_id = domain.id;
      key.private_sealed = secrets_.seal(signing_key.private_der(), seal_context(domain.id, key.selector));
      store.add_key(key);
    }
    created.token = accounts_.create_resource_token(
        tx, account_id, name + " token",
        {accounts::Grant{{accounts::ResourceType::sending_domain, domain.id}, accounts::level::admin}});
    store.set_api_token(domain.id, created.token.token.id);
    return domain.id;
  });
  created.domain = load(account_id, id);
  spdlog::info("sending domain added: account={} domain={} id={}", account_id, name, id);
  return created;
}

SendingDomain DomainsService::update(std::int64_t account_id, std::int64_t id, const SettingsInput& input) {
  if (input.alert_recipient_email && *input.alert_recipient_email &&
      !mime::is_valid_email(**input.alert_recipient_email))
    throw ValidationError("alert_recipient_email", "is invalid");
  if (input.auto_bcc_emails) {
    if (input.auto_bcc_emails->size() > 10) throw ValidationError("auto_bcc_emails", "is too long (maximum is 10)");
    for (const auto& email : *input.auto_bcc_emails)
      if (!mime::is_valid_email(email)) throw ValidationError("auto_bcc_emails", email + " is invalid");
  }
  auto header_ok = [](const std::string& text, bool name) {
    for (unsigned char c : text) {
      if (c < ' ' || c == 0x7f) return false;  // CR/LF would inject header fields
      if (name && (c == ':' || c == ' ')) return false;
    }
    return true;
  };
  if (input.auto_bcc_header_name &&
      (!header_ok(*input.auto_bcc_header_name, true) ||
       (!input.auto_bcc_header_name->empty() && !ascii_lower(*input.auto_bcc_header_name).starts_with("x-"))))
    throw ValidationError("auto_bcc_header_name", "must be an X- header name");
  if (input.auto_bcc_header_value && !header_ok(*input.auto_bcc_header_value, false))
    throw ValidationError("auto_bcc_header_value", "must not contain control characters");
  db_.write([&](Tx& tx) {
    DomainsStore store(tx);
    auto domain = store.find(account_id, id);
    if (!domain) throw NotFound();
    if (domain->demo && input.auto_bcc_emails && !input.auto_bcc_emails->empty())
      throw ValidationError("auto_bcc_emails", "can't be used with a demo domain");
    auto set = [](bool& field, const std::optional<bool>& value) {
      if (value) field = *value;
    };
    set(domain->open_tracking_enabled, input.open_tracking_enabled);
    set(domain->click_tracking_enabled, input.click_tracking_enabled);
    set(domain->custom_domain_tracking_enabled, input.custom_domain_tracking_enabled);
    // As in the seed: turning click tracking on turns the custom tracking domain on with it.
    if (input.click_tracking_enabled == true && !input.custom_domain_tracking_enabled)
      domain->custom_domain_tracking_enabled = true;
    set(domain->auto_unsubscribe_link_enabled, input.auto_unsubscribe_link_enabled);
    set(domain->bulk_unsubscribe_footer_enabled, input.bulk_unsubscribe_footer_enabled);
    set(domain->health_alerts_enabled, input.health_alerts_enabled);
    set(domain->critical_alerts_enabled, input.critical_alerts_enabled);
    set(domain->inbound_enabled, input.inbound_enabled);
    if (input.alert_recipient_email) domain->alert_recipient_email = *input.alert_recipient_email;
    if (input.auto_bcc_emails) domain->auto_bcc.emails = *input.auto_bcc_emails;
    if (input.auto_bcc_header_name) domain->auto_bcc.header_name = *input.auto_bcc_header_name;
    if (input.auto_bcc_header_value) domain->auto_bcc.header_value = *input.auto_bcc_header_value;
    store.save_settings(*domain);
  });
  return load(account_id, id);
}

void DomainsService::remove(std::int64_t account_id, std::int64_t id) {
  db_.write([&](Tx& tx) {
    DomainsStore store(tx);
    const auto domain = store.find(account_id, id);
    if (!domain || !store.mark_deleted(account_id, id, clock_.now())) throw NotFound();
  });
  spdlog::info("sending domain deleted: account={} id={}", account_id, id);
}

void DomainsService::check_and_save(std::vector<SendingDomain>& domains) {
  std::vector<std::vector<DnsRecord>*> records;
  for (auto& domain : domains) records.push_back(&domain.dns_records);
  check_many(*resolver_, records, settings_.max_in_flight_queries);
  const std::int64_t now = clock_.now();
  for (auto& domain : domains) {
    const bool was_verified = domain.dns_verified;
    domain.dns_verified = all_required_pass(domain.dns_records);
    domain.dns_checked_at = now;
    if (domain.dns_verified) {
      domain.dns_lost = false;
      if (!was_verified || !domain.dns_verified_at) domain.dns_verified_at = now;
    } else if (was_verified) {
      domain.dns_lost = true;  // stays until the records pass again
      spdlog::warn("sending domain lost DNS verification: account={} domain={}", domain.account_id, domain.domain_name);
    }
  }
  db_.write([&](Tx& tx) {
    DomainsStore store(tx);
    for (auto& domain : domains) {
      // The compliance decision may have changed while DNS was asked (an owner suspending the domain): start
      // from what is stored now, not from the copy read before the check.
      const auto current = store.find_for_update(domain.account_id, domain.id);
      if (!current) continue;
      domain.compliance_approved = current->compliance_approved;
      domain.compliance_status = current->compliance_status;
      domain.compliance_status = compliance_for(domain);
      store.save_checks(domain);
    }
  });
}

SendingDomain DomainsService::verify(std::int64_t account_id, std::int64_t id) {
  std::vector<SendingDomain> one{load(account_id, id)};
  if (!one.front().demo) check_and_save(one);
  return load(account_id, id);
}

int DomainsService::check_due(int limit) {
  const std::int64_t now = clock_.now();
  std::vector<SendingDomain> due = db_.read([&](Tx& tx) {
    std::vector<SendingDomain> out;
    for (auto& domain : DomainsStore(tx).due_for_check(now - settings_.recheck_unverified_seconds,
                                                       now - settings_.recheck_verified_seconds, limit))
      out.push_back(with_records(tx, std::move(domain)));
    return out;
  });
  if (!due.empty()) check_and_save(due);
  return static_cast<int>(due.size());
}

SendingDomain DomainsService::set_compliance(std::int64_t account_id, std::int64_t id, const std::string& status) {
  if (status != compliance::compliant && status != compliance::non_compliant && status != compliance::suspended)
    throw ValidationError("compliance_status", "must be compliant, non_compliant or suspended");
  db_.write([&](Tx& tx) {
    DomainsStore store(tx);
    auto domain = store.find(account_id, id);
    if (!domain) throw NotFound();
    if (domain->demo) throw ValidationError("compliance_status", "can't be changed for a demo domain");
    if (status == compliance::compliant) {
      domain->compliance_approved = true;
      domain->compliance_status = std::string(compliance::unverified_dns);  // lifts a suspension
      store.set_compliance(account_id, id, compliance_for(*domain), true);
    } else {
      store.set_compliance(account_id, id, status, false);
    }
  });
  return load(account_id, id);
}

SendingDomain DomainsService::rotate_dkim(std::int64_t account_id, std::int64_t id) {
  SendingDomain domain = load(account_id, id);
  if (domain.demo) throw ValidationError("base", "The demo domain's keys can't be rotated");
  const auto keys = db_.read([&](Tx& tx) { return DomainsStore(tx).keys(id); });
  const DkimKey* active = nullptr;
  const DkimKey* standby = nullptr;
  for (const DkimKey& key : keys) {
    if (key.algorithm != dkim::to_string(dkim::Algorithm::rsa_sha256)) continue;
    if (key.state == kActive) active = &key;
    if (key.state == kStandby) standby = &key;
  }
  if (!active || !standby) throw ValidationError("base", "This domain has no standby DKIM key to switch to");
  const auto standby_record = std::find_if(domain.dns_records.begin(), domain.dns_records.end(),
                                           [&](const DnsRecord& r) { return r.value == standby->public_txt; });
  if (standby_record == domain.dns_records.end() || standby_record->status != RecordStatus::pass)
    throw ValidationError("base", "Publish the standby DKIM key at " + standby->selector + "._domainkey." +
                                      domain.domain_name + " and verify the domain before rotating");
  auto generated = new_key(active->selector, dkim::Algorithm::rsa_sha256, clock_.now(), kStandby);
  DkimKey& replacement = generated.first;
  replacement.domain_id = id;
  replacement.private_sealed = secrets_.seal(generated.second.private_der(), seal_context(id, replacement.selector));
  db_.write([&](Tx& tx) {
    DomainsStore store(tx);
    // Two rotations at once (a double click) must not both switch: each move succeeds only from the state
    // checked above, so the second rotation finds the keys moved and rolls back.
    if (!store.change_key_state(standby->id, std::string(kStandby), std::string(kActive)) ||
        !store.change_key_state(active->id, std::string(kActive), std::string(kRetired)))
      throw ValidationError("base", "The DKIM keys changed meanwhile (another rotation); reload and try again");
    store.add_key(replacement);
  });
  spdlog::info("DKIM key rotated: account={} domain={} now signing with {}", account_id, domain.domain_name,
               standby->selector);
  return load(account_id, id);
}

void DomainsService::send_setup_instructions(std::int64_t account_id, std::int64_t id, const std::string& email) {
  if (!mime::is_valid_email(email)) throw ValidationError("email", "is invalid");
  const SendingDomain domain = load(account_id, id);
  std::string text = "Hello,\n\nPlease publish these DNS records for " + domain.domain_name +
                     " so that it can send email through Postroom:\n\n";
  for (const DnsRecord& r : domain.dns_records) text += "  " + r.type + "  " + r.domain + "\n      " + r.value + "\n";
  const std::string zone = to_bind_zone(domain.domain_name, domain.dns_records);
  text += "\nThe same records as a BIND zone snippet:\n\n" + zone +
          "\nDNS changes can take from 15 minutes to a few hours to propagate.\n";
  std::string html = "<p>Please publish these DNS records for <b>" + mime::text::escape_html(domain.domain_name) +
                     "</b>:</p><table><tr><th>Type</th><th>Name</th><th>Value</th></tr>";
  for (const DnsRecord& r : domain.dns_records)
    html += "<tr><td>" + mime::text::escape_html(r.type) + "</td><td><code>" + mime::text::escape_html(r.domain) +
            "</code></td><td><code>" + mime::text::escape_html(r.value) + "</code></td></tr>";
  html += "</table><p>As a BIND zone snippet:</p><pre>" + mime::text::escape_html(zone) + "</pre>";
  mailer_(SystemEmail{.account_id = account_id,
                      .to = email,
                      .subject = "DNS records for " + domain.domain_name,
                      .text = std::move(text),
                      .html = std::move(html)});
}

CompanyInfo DomainsService::company_info(std::int64_t account_id, std::int64_t domain_id) {
  return db_.read([&](Tx& tx) {
    DomainsStore store(tx);
    if (!store.find(account_id, domain_id)) throw NotFound();
    auto info = store.company_info(account_id);
    if (!info) throw NotFound();
    return *info;
  });
}

CompanyInfo DomainsService::save_company_info(std::int64_t account_id, std::int64_t domain_id,
                                              const CompanyInfoInput& input, bool create) {
  return db_.write([&](Tx& tx) {
    DomainsStore store(tx);
    if (!store.find(account_id, domain_id)) throw NotFound();
    const auto existing = store.company_info(account_id);
    // A create (POST) states the whole record and is validated as given; an update (PATCH) changes fields.
    CompanyInfo info = create ? CompanyInfo{} : existing.value_or(CompanyInfo{});
    std::map<std::string, std::vector<std::string>> errors;
    for (const auto& [field, value] : input) {
      std::string* required = field == "name"          ? &info.name
                              : field == "address"     ? &info.address
                              : field == "city"        ? &info.city
                              : field == "country"     ? &info.country
                              : field == "zip_code"    ? &info.zip_code
                              : field == "website_url" ? &info.website_url
                              : field == "info_level"  ? &info.info_level
                                                       : nullptr;
      std::optional<std::string>* optional = field == "phone"                  ? &info.phone
                                             : field == "privacy_policy_url"   ? &info.privacy_policy_url
                                             : field == "terms_of_service_url" ? &info.terms_of_service_url
                                                                               : nullptr;
      if (required) {
        *required = value.value_or("");
      } else if (optional) {
        *optional = value && !value->empty() ? value : std::nullopt;
      } else {
        errors[field].push_back("is not a known attribute");
      }
    }
    if (!create && !existing) throw NotFound();
    auto require = [&](const char* field, const std::string& value) {
      if (value.find_first_not_of(" \t") == std::string::npos) errors[field].push_back("can't be blank");
    };
    require("name", info.name);
    require("address", info.address);
    require("city", info.city);
    require("country", info.country);
    require("zip_code", info.zip_code);
    require("website_url", info.website_url);
    if (!valid_url(info.website_url)) errors["website_url"].push_back("is invalid");
    for (const auto& [field, url] : {std::pair{"privacy_policy_url", info.privacy_policy_url},
                                     std::pair{"terms_of_service_url", info.terms_of_service_url}}) {
      if (url && !valid_url(*url)) errors[field].push_back("is invalid");
    }
    if (info.info_level.empty() && create) info.info_level = "business";
    if (info.info_level != "business" && info.info_level != "individual")
      errors["info_level"].push_back("is not included in the list");
    // The seed: business or individual can be chosen once.
    if (existing && !existing->info_level.empty() && existing->info_level != info.info_level)
      errors["info_level"].push_back("can't be changed once submitted");
    for (const auto& [field, value] : input) {
      if (value && value->size() > 500) errors[field].push_back("is too long (maximum is 500 characters)");
    }
    if (!errors.empty()) throw ValidationError(std::move(errors));
    store.save_company_info(account_id, info, clock_.now());
    return info;
  });
}

std::optional<SendingDomain> DomainsService::find_live(std::int64_t account_id, const std::string& domain_name) {
  if (!settings_.demo_domain.empty() && domain_name == settings_.demo_domain) ensure_demo(account_id);
  return db_.read([&](Tx& tx) { return DomainsStore(tx).find_by_name(account_id, ascii_lower(domain_name)); });
}

std::vector<SigningIdentity> DomainsService::signing_identities(std::int64_t account_id,
                                                                const std::string& domain_name) {
  return db_.read([&](Tx& tx) {
    std::vector<SigningIdentity> out;
    DomainsStore store(tx);
    const auto domain = store.find_by_name(account_id, ascii_lower(domain_name));
    if (!domain || (!domain->demo && domain->compliance_status != compliance::compliant)) return out;
    for (const DkimKey& key : store.keys(domain->id)) {
      if (key.state != kActive) continue;
      out.push_back({key.selector, dkim::SigningKey::from_der(
                                       secrets_.open(key.private_sealed, seal_context(domain->id, key.selector)))});
    }
    return out;
  });
}

void DomainsService::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { worker(); });
}

void DomainsService::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void DomainsService::worker() {
  const auto period = std::chrono::seconds(
      std::clamp(std::min(settings_.recheck_unverified_seconds, settings_.recheck_verified_seconds), 1, 60));
  auto next_sweep = std::chrono::steady_clock::now();
  while (true) {
    std::set<std::pair<std::int64_t, std::int64_t>> requested;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next_sweep, [this] { return stopping_ || !requested_.empty(); });
      if (stopping_) return;
      requested.swap(requested_);
    }
    try {
      if (!requested.empty()) {
        std::vector<SendingDomain> domains;
        for (const auto& [account_id, id] : requested) {
          try {
            domains.push_back(load(account_id, id));
          } catch (const NotFound&) {
          }
        }
        if (!domains.empty()) check_and_save(domains);
      }
      if (std::chrono::steady_clock::now() >= next_sweep) {
        while (check_due(500) == 500) {
        }
        next_sweep = std::chrono::steady_clock::now() + period;
      }
    } catch (const std::exception& e) {
      spdlog::error("sending domain checks failed: {}", e.what());
      next_sweep = std::chrono::steady_clock::now() + period;
    }
  }
}

}  // namespace postroom::domains
