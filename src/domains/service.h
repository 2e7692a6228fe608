#pragma once
// Sending domains: adding a domain (its records, DKIM keys and own API token), settings, company information,
// DNS verification (on demand, on a stale GET, and periodically in the background) and the keys live sending
// signs with. Knows nothing of HTTP; errors are the domain errors of core/errors.h.
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "accounts/service.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/secret_box.h"
#include "dkim/dkim.h"
#include "dns/resolver.h"
#include "domains/model.h"
#include "store/database.h"

namespace postroom::domains {

// A change of settings; absent fields stay as they are.
struct SettingsInput {
  std::optional<bool> open_tracking_enabled, click_tracking_enabled, custom_domain_tracking_enabled,
      auto_unsubscribe_link_enabled, bulk_unsubscribe_footer_enabled, health_alerts_enabled, critical_alerts_enabled,
      inbound_enabled;
  std::optional<std::optional<std::string>> alert_recipient_email;  // set, or cleared with null
  std::optional<std::vector<std::string>> auto_bcc_emails;
  std::optional<std::string> auto_bcc_header_name, auto_bcc_header_value;
};

// Company information as received: field → value (nullopt: JSON null). Unknown fields are refused.
using CompanyInfoInput = std::vector<std::pair<std::string, std::optional<std::string>>>;

struct CreatedDomain {
  SendingDomain domain;
  accounts::CreatedToken token;  // the domain's own token ("<domain> token <id>"), its secret shown once
};

// What a verified domain signs with: the active key of each algorithm.
struct SigningIdentity {
  std::string selector;
  dkim::SigningKey key;
};

// An email the platform itself sends (setup instructions); delivered by whatever the installation has.
struct SystemEmail {
  std::int64_t account_id = 0;
  std::string to;
  std::string subject;
  std::string text;
  std::string html;
};
using SystemMailer = std::function<void(const SystemEmail&)>;

class DomainsService {
 public:
  // Keeps references to db, accounts and clock: they must outlive the service. `resolver` answers the DNS
  // checks; `mailer` takes setup-instruction emails.
  DomainsService(store::Database& db, accounts::AccountsService& accounts, const Clock& clock, DomainSettings settings,
                 crypto::SecretBox secrets, std::shared_ptr<const dns::Resolver> resolver, SystemMailer mailer);
  ~DomainsService();
  DomainsService(const DomainsService&) = delete;
  DomainsService& operator=(const DomainsService&) = delete;

  // Live domains of the account (the demo domain is created on first use), each with its records.
  std::vector<SendingDomain> list(std::int64_t account_id);
  // The stored state; schedules a fresh DNS check in the background when the last one is older than
  // refresh_after_seconds. NotFound for unknown or deleted domains.
  SendingDomain get(std::int64_t account_id, std::int64_t id);
  // ValidationError (field "base", in the recorded wording) for blank, malformed, public-mailbox, duplicate
  // names; a leading "www." is refused with a message. Creates the DKIM keys and the domain's API token.
  CreatedDomain create(std::int64_t account_id, const std::string& domain_name);
  SendingDomain update(std::int64_t account_id, std::int64_t id, const SettingsInput& input);
  // History stays; the name may be added again; nothing sends from a deleted domain.
  void remove(std::int64_t account_id, std::int64_t id);
  // Runs the DNS check now and returns the updated domain.
  SendingDomain verify(std::int64_t account_id, std::int64_t id);
  // An administrator's compliance decision (when approval is required, or to suspend a domain).
  SendingDomain set_compliance(std::int64_t account_id, std::int64_t id, const std::string& status);
  // DKIM rotation: the standby selector (published and passing) becomes active; the old active key is retired
  // and a new standby key is generated for its selector, to be published before the next rotation.
  SendingDomain rotate_dkim(std::int64_t account_id, std::int64_t id);

  // Emails the domain's records (text, HTML and a BIND snippet) to `email`. ValidationError on a bad address.
  void send_setup_instructions(std::int64_t account_id, std::int64_t id, const std::string& email);

  // The account's company information, seen through one of its domains (NotFound for an unknown domain or,
  // for get, when none was saved). create requires name, address, city, country, zip_code and website_url
  // (info_level defaults to "business"); update changes only the given fields.
  CompanyInfo company_info(std::int64_t account_id, std::int64_t domain_id);
  CompanyInfo save_company_info(std::int64_t account_id, std::int64_t domain_id, const CompanyInfoInput& input,
                                bool create);

  // The live domain of that name (any case) as stored: settings and verification state, without the derived
  // dns_records (the sending path needs neither them nor the query for keys); nullopt when none.
  std::optional<SendingDomain> find_live(std::int64_t account_id, const std::string& domain_name);
  // Keys a live, verified (or demo) domain signs with; empty when the domain cannot send.
  std::vector<SigningIdentity> signing_identities(std::int64_t account_id, const std::string& domain_name);

  // Background re-checks: unverified domains every recheck_unverified_seconds, verified ones every
  // recheck_verified_seconds, plus the ones a GET asked for. start() is idempotent; stop() joins.
  void start();
  void stop();
  // One pass of the periodic check (also used by tests and the benchmark). Returns the number checked.
  int check_due(int limit = 1000);

  const DomainSettings& settings() const { return settings_; }

 private:
  SendingDomain with_records(store::Tx& tx, SendingDomain domain);
  void check_and_save(std::vector<SendingDomain>& domains);
  void ensure_demo(std::int64_t account_id);
  SendingDomain load(std::int64_t account_id, std::int64_t id);
  std::string compliance_for(const SendingDomain& domain) const;
  void worker();

  store::Database& db_;
  accounts::AccountsService& accounts_;
  const Clock& clock_;
  DomainSettings settings_;
  crypto::SecretBox secrets_;
  std::shared_ptr<const dns::Resolver> resolver_;
  SystemMailer mailer_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::set<std::pair<std::int64_t, std::int64_t>> requested_;  // (account, domain) asked for by a stale GET
  bool stopping_ = false;
  std::thread thread_;
};

// Validates and normalizes a domain name as typed (lowercase, no trailing dot). Throws ValidationError.
std::string normalize_domain_name(const std::string& input);
bool is_public_mailbox_domain(std::string_view domain);

}  // namespace postroom::domains
