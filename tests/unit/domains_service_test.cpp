// Sending domains through the service, against SQLite and PostgreSQL: name validation, what create makes (keys,
// records, the domain's token, sealed private keys), DNS verification against dnsmasq on loopback (compliance,
// lost records, approval, suspension), the periodic check, DKIM rotation, settings, company information, setup
// emails and tenant isolation; then the record exports of records.h.
#include "domains/service.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../dns/dnsmasq_fixture.h"
#include "accounts/service.h"
#include "core/errors.h"
#include "core/secret_box.h"
#include "dkim/dkim.h"
#include "dns/resolver.h"
#include "domains/records.h"
#include "store/domains_store.h"
#include "test_support.h"

using namespace postroom;
using namespace postroom::domains;

namespace {

using Errors = std::map<std::string, std::vector<std::string>>;

const std::string kMasterKey(32, 'k');

Errors errors_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const ValidationError& error) {
    return error.errors;
  }
  ADD_FAILURE() << "no validation error";
  return {};
}

// The "base" message of a refused name.
std::string refusal(const std::string& name) {
  const Errors errors = errors_of([&] { normalize_domain_name(name); });
  const auto it = errors.find("base");
  return it == errors.end() || it->second.size() != 1 ? "<no single base error>" : it->second.front();
}

const DnsRecord* find_record(const SendingDomain& domain, std::string_view key) {
  for (const DnsRecord& r : domain.dns_records)
    if (r.key == key) return &r;
  return nullptr;
}

std::vector<std::string> keys_in_order(const SendingDomain& domain) {
  std::vector<std::string> out;
  for (const DnsRecord& r : domain.dns_records) out.push_back(r.key);
  return out;
}

// dnsmasq options publishing the domains' records as they are expected (each comma-separated part of a
// --txt-record is one character-string), leaving out the records whose key is in `skip`.
std::vector<std::string> published(const std::vector<SendingDomain>& domains, const std::set<std::string>& skip = {}) {
  std::vector<std::string> out = {"--local=/test/"};
  for (const SendingDomain& d : domains) {
    for (const DnsRecord& r : d.dns_records) {
      if (skip.count(r.key)) continue;
      if (r.type == "CNAME") {
        out.push_back("--cname=" + r.domain + "," + r.value);
      } else {
        std::string option = "--txt-record=" + r.domain;
        for (const auto& part : dkim::split_txt_strings(r.value)) option += "," + part;
        out.push_back(option);
      }
    }
  }
  return out;
}

// A DNS server on loopback that receives queries and never answers: a check against it lasts until the resolver
// times out, long enough to act while it runs.
class SilentDns {
 public:
  SilentDns() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("cannot bind a UDP socket on loopback");
    port_ = ntohs(addr.sin_port);
  }
  ~SilentDns() { ::close(fd_); }
  SilentDns(const SilentDns&) = delete;
  SilentDns& operator=(const SilentDns&) = delete;
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  // True once a query arrived (within 10 s).
  bool wait_for_query() const {
    timeval tv{};
    tv.tv_sec = 10;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buffer[512];
    return ::recv(fd_, buffer, sizeof buffer, 0) > 0;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string describe(const SendingDomain& d) {
  std::string out = d.domain_name + ":";
  for (const DnsRecord& r : d.dns_records)
    out += "\n  " + r.key + " " + std::string(to_string(r.status)) + " " + r.reason;
  return out;
}

}  // namespace

// ---- normalize_domain_name (no database) ----

TEST(DomainsNormalize, LowercasesAndStripsTrailingDotAndSpaces) {
  EXPECT_EQ(normalize_domain_name("Example.COM"), "example.com");
  EXPECT_EQ(normalize_domain_name("  Example.COM.  "), "example.com");
  EXPECT_EQ(normalize_domain_name("\tMail.Example-Shop.co.uk.\t"), "mail.example-shop.co.uk");
  EXPECT_EQ(normalize_domain_name(std::string(63, 'a') + ".com"), std::string(63, 'a') + ".com");
  EXPECT_EQ(normalize_domain_name("x1.example.io"), "x1.example.io");
  // Only the providers' own domains and their subdomains are public mailboxes.
  EXPECT_EQ(normalize_domain_name("notgmail.com"), "notgmail.com");
  EXPECT_EQ(normalize_domain_name("gmail.com.example.org"), "gmail.com.example.org");
}

TEST(DomainsNormalize, RefusesBlankNames) {
  EXPECT_EQ(refusal(""), "Validation failed: Domain name can't be blank");
  EXPECT_EQ(refusal("   "), "Validation failed: Domain name can't be blank");
  EXPECT_EQ(refusal(" . "), "Validation failed: Domain name can't be blank");
}

TEST(DomainsNormalize, RefusesWww) {
  EXPECT_EQ(refusal("www.example.com"),
            "Validation failed: Domain name must not start with www. (add example.com instead)");
  EXPECT_EQ(refusal(" WWW.Example.com. "),
            "Validation failed: Domain name must not start with www. (add example.com instead)");
}

TEST(DomainsNormalize, RefusesInvalidLabels) {
  const std::string invalid = "Validation failed: Domain name is not a valid domain name";
  for (const std::string& name : std::vector<std::string>{
           "ex_ample.com", "-example.com", "example-.com", std::string(64, 'a') + ".com", "localhost", "example.123",
           "example..com", "exa mple.com", "example.com..", "ex!ample.com", ".example.com"}) {
    EXPECT_EQ(refusal(name), invalid) << name;
  }
  EXPECT_EQ(refusal(std::string(250, 'a') + ".com"),
            "Validation failed: Domain name is too long (maximum is 253 characters)");
}

TEST(DomainsNormalize, RefusesPublicMailboxDomainsAndTheirSubdomains) {
  EXPECT_EQ(refusal("gmail.com"),
            "Validation failed: Domain name gmail.com is a public mailbox domain; add a domain you own");
  EXPECT_EQ(refusal("Mail.GMAIL.com."),
            "Validation failed: Domain name mail.gmail.com is a public mailbox domain; add a domain you own");
  EXPECT_EQ(refusal("outlook.com"),
            "Validation failed: Domain name outlook.com is a public mailbox domain; add a domain you own");
  EXPECT_TRUE(is_public_mailbox_domain("yahoo.co.uk"));
  EXPECT_TRUE(is_public_mailbox_domain("a.b.proton.me"));
  EXPECT_FALSE(is_public_mailbox_domain("notgmail.com"));
  EXPECT_FALSE(is_public_mailbox_domain("example.com"));
}

// ---- The service, once per backend ----

class DomainsServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db = test_support::make_database(GetParam());
    accounts = std::make_unique<accounts::AccountsService>(*db, clock);
    boot = accounts->bootstrap("admin@example.test");
    account = boot.account_id;
    service = make_service(settings(), unreachable_resolver());
  }

  static DomainSettings settings() {
    DomainSettings s;
    s.hostname = "mta.postroom.test";
    s.spf_include = "_spf.postroom.test";
    s.tracking_host = "t.postroom.test";
    s.bounce_host = "bounces.postroom.test";
    s.demo_domain = "demo.postroom.test";
    s.recheck_unverified_seconds = 100;
    s.recheck_verified_seconds = 1000;
    return s;
  }

  // Nothing listens there: tests that must not reach DNS use it.
  static std::shared_ptr<const dns::Resolver> unreachable_resolver() {
    dns::ResolverOptions o;
    o.servers = {"127.0.0.1:9"};
    o.timeout = std::chrono::milliseconds(200);
    o.tries = 1;
    return std::make_shared<const dns::Resolver>(o);
  }

  std::unique_ptr<DomainsService> make_service(DomainSettings s, std::shared_ptr<const dns::Resolver> resolver) {
    return std::make_unique<DomainsService>(*db, *accounts, clock, std::move(s), crypto::SecretBox(kMasterKey),
                                            std::move(resolver), [this](const SystemEmail& e) { sent.push_back(e); });
  }

  // A service on the same database whose DNS checks ask `dns`.
  std::unique_ptr<DomainsService> service_on(const postroom::testing::Dnsmasq& dns, DomainSettings s = settings()) {
    dns::ResolverOptions o;
    o.servers = {dns.server()};
    o.timeout = std::chrono::milliseconds(1000);
    return make_service(std::move(s), std::make_shared<const dns::Resolver>(o));
  }

  std::vector<DkimKey> keys_of(std::int64_t domain_id) {
    return db->read([&](store::Tx& tx) { return store::DomainsStore(tx).keys(domain_id); });
  }

  const DkimKey* key_with(const std::vector<DkimKey>& keys, const std::string& selector, const std::string& state) {
    for (const DkimKey& k : keys)
      if (k.selector == selector && k.state == state) return &k;
    return nullptr;
  }

  static CompanyInfoInput full_company() {
    return {{"name", "ACME Ltd"},       {"address", "1 Main St"}, {"city", "Springfield"},
            {"country", "US"},          {"zip_code", "12345"},    {"website_url", "https://acme.example"},
            {"info_level", "business"}, {"phone", "+1 555 0100"}};
  }

  ManualClock clock{1'700'000'000};
  std::unique_ptr<store::Database> db;
  std::unique_ptr<accounts::AccountsService> accounts;
  accounts::BootstrapResult boot;
  std::int64_t account = 0;
  std::unique_ptr<DomainsService> service;
  std::vector<SystemEmail> sent;
};

TEST_P(DomainsServiceTest, CreateNormalizesAndRefusesDuplicatesUntilDeleted) {
  const CreatedDomain created = service->create(account, "  Shop.Example.TEST. ");
  EXPECT_EQ(created.domain.domain_name, "shop.example.test");
  EXPECT_EQ(errors_of([&] { service->create(account, "shop.example.test"); }),
            (Errors{{"base", {"Validation failed: Domain name has already been taken"}}}));
  EXPECT_EQ(errors_of([&] { service->create(account, "SHOP.example.test."); }),
            (Errors{{"base", {"Validation failed: Domain name has already been taken"}}}));
  // The validation of normalize_domain_name applies to create.
  EXPECT_EQ(errors_of([&] { service->create(account, "mail.gmail.com"); }),
            (Errors{{"base",
                     {"Validation failed: Domain name mail.gmail.com is a public mailbox domain; add a domain you "
                      "own"}}}));
  EXPECT_EQ(errors_of([&] { service->create(account, ""); }),
            (Errors{{"base", {"Validation failed: Domain name can't be blank"}}}));
  EXPECT_EQ(errors_of([&] { service->create(account, "demo.postroom.test"); }),
            (Errors{{"base", {"Validation failed: Domain name is reserved for the demo domain"}}}));

  service->remove(account, created.domain.id);
  EXPECT_THROW(service->get(account, created.domain.id), NotFound);
  EXPECT_THROW(service->remove(account, created.domain.id), NotFound);
  const CreatedDomain again = service->create(account, "shop.example.test");
  EXPECT_NE(again.domain.id, created.domain.id);
  EXPECT_EQ(again.domain.domain_name, "shop.example.test");
  // Another account may add the same name.
  const auto other = accounts->create_sub_account(boot.organization_id, "Other");
  EXPECT_EQ(service->create(other.id, "shop.example.test").domain.domain_name, "shop.example.test");
}

TEST_P(DomainsServiceTest, CreateMakesKeysRecordsAndTheDomainToken) {
  const CreatedDomain created = service->create(account, "acme.test");
  const SendingDomain& d = created.domain;
  EXPECT_GT(d.id, 0);
  EXPECT_EQ(d.account_id, account);
  EXPECT_FALSE(d.demo);
  EXPECT_FALSE(d.dns_verified);
  EXPECT_FALSE(d.dns_verified_at.has_value());
  EXPECT_FALSE(d.dns_checked_at.has_value());
  EXPECT_FALSE(d.dns_lost);
  EXPECT_EQ(d.compliance_status, "unverified_dns");
  EXPECT_EQ(d.created_at, clock.now());
  EXPECT_EQ(d.verification_token.rfind("pr-", 0), 0u) << d.verification_token;
  EXPECT_EQ(d.verification_token.size(), 15u) << d.verification_token;

  // Two RSA keys: pr1 signs, pr2 waits for the next rotation.
  const auto keys = keys_of(d.id);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].selector, "pr1");
  EXPECT_EQ(keys[0].state, "active");
  EXPECT_EQ(keys[0].algorithm, "rsa-sha256");
  EXPECT_EQ(keys[1].selector, "pr2");
  EXPECT_EQ(keys[1].state, "standby");
  EXPECT_EQ(keys[1].algorithm, "rsa-sha256");
  EXPECT_NE(keys[0].public_txt, keys[1].public_txt);
  for (const DkimKey& k : keys) {
    EXPECT_EQ(k.domain_id, d.id);
    EXPECT_EQ(k.created_at, clock.now());
    EXPECT_EQ(k.public_txt.rfind("v=DKIM1; k=rsa; p=", 0), 0u) << k.public_txt;
  }

  ASSERT_EQ(keys_in_order(d), (std::vector<std::string>{"verification", "spf", "dkim1", "dkim2", "dmarc", "return_path",
                                                        "link_verification"}));
  auto expect_record = [&](std::size_t i, const std::string& domain, const std::string& name, const std::string& type,
                           const std::string& value, bool required) {
    SCOPED_TRACE(d.dns_records[i].key);
    EXPECT_EQ(d.dns_records[i].domain, domain);
    EXPECT_EQ(d.dns_records[i].name, name);
    EXPECT_EQ(d.dns_records[i].type, type);
    EXPECT_EQ(d.dns_records[i].value, value);
    EXPECT_EQ(d.dns_records[i].required, required);
    EXPECT_EQ(d.dns_records[i].status, RecordStatus::unchecked);
    EXPECT_EQ(d.dns_records[i].reason, "");
  };
  expect_record(0, d.verification_token + ".acme.test", d.verification_token, "CNAME", "mta.postroom.test", true);
  expect_record(1, "acme.test", "", "TXT", "v=spf1 include:_spf.postroom.test ~all", true);
  expect_record(2, "pr1._domainkey.acme.test", "pr1._domainkey", "TXT", keys[0].public_txt, true);
  expect_record(3, "pr2._domainkey.acme.test", "pr2._domainkey", "TXT", keys[1].public_txt, false);
  expect_record(4, "_dmarc.acme.test", "_dmarc", "TXT", "v=DMARC1; p=none;", true);
  expect_record(5, "bounces.acme.test", "bounces", "CNAME", "bounces.postroom.test", true);
  expect_record(6, "mt-link.acme.test", "mt-link", "CNAME", "t.postroom.test", false);

  // The domain's own token: named after the domain and its id, admin on this domain only.
  EXPECT_EQ(created.token.token.name, "acme.test token " + std::to_string(created.token.token.id));
  EXPECT_EQ(d.api_token_id, created.token.token.id);
  EXPECT_FALSE(created.token.secret.empty());
  const auto principal = accounts->authenticate(created.token.secret);
  ASSERT_TRUE(principal.has_value());
  EXPECT_EQ(principal->id, created.token.token.id);
  EXPECT_EQ(accounts->level_on(*principal, {accounts::ResourceType::sending_domain, d.id}), accounts::level::admin);
  const CreatedDomain second = service->create(account, "second.test");
  EXPECT_EQ(accounts->level_on(*principal, {accounts::ResourceType::sending_domain, second.domain.id}), 0);
  EXPECT_NE(second.token.token.id, created.token.token.id);
  EXPECT_EQ(second.token.token.name, "second.test token " + std::to_string(second.token.token.id));

  // get and list show the same records.
  EXPECT_EQ(keys_in_order(service->get(account, d.id)), keys_in_order(d));
  const auto listed = service->list(account);
  ASSERT_EQ(listed.size(), 3u);  // by id: acme.test, second.test, the demo domain made by this first list
  EXPECT_EQ(listed[0].domain_name, "acme.test");
  EXPECT_EQ(keys_in_order(listed[0]), keys_in_order(d));
  EXPECT_EQ(listed[1].domain_name, "second.test");
  EXPECT_TRUE(listed[2].demo);
}

TEST_P(DomainsServiceTest, RecordsFollowTheSettings) {
  DomainSettings s = settings();
  s.spf_include = "";
  s.sending_ips = "192.0.2.1, 2001:db8::1";
  s.bounce_host = "";
  s.tracking_host = "";
  s.dkim_selector_prefix = "pm";
  auto svc = make_service(s, unreachable_resolver());
  const SendingDomain d = svc->create(account, "settings.test").domain;
  EXPECT_EQ(find_record(d, "spf")->value, "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 ~all");
  EXPECT_EQ(find_record(d, "return_path")->value, "mta.postroom.test");
  EXPECT_EQ(find_record(d, "link_verification")->value, "mta.postroom.test");
  EXPECT_EQ(find_record(d, "dkim1")->domain, "pm1._domainkey.settings.test");
  EXPECT_EQ(find_record(d, "dkim2")->domain, "pm2._domainkey.settings.test");

  // Neither include nor addresses: the MTA's own A record.
  s.sending_ips = "";
  EXPECT_EQ(spf_value(s), "v=spf1 a:mta.postroom.test ~all");
  s.spf_include = "_spf.example.net";
  s.sending_ips = "198.51.100.7";
  EXPECT_EQ(spf_value(s), "v=spf1 include:_spf.example.net ip4:198.51.100.7 ~all");
  // The records are derived on every read: a configuration change shows at once.
  auto changed = make_service(s, unreachable_resolver());
  EXPECT_EQ(find_record(changed->get(account, d.id), "spf")->value,
            "v=spf1 include:_spf.example.net ip4:198.51.100.7 ~all");
}

TEST_P(DomainsServiceTest, Ed25519AddsAThirdKeyAndRecord) {
  DomainSettings s = settings();
  s.dkim_ed25519 = true;
  auto svc = make_service(s, unreachable_resolver());
  const SendingDomain d = svc->create(account, "dual.test").domain;
  const auto keys = keys_of(d.id);
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[2].selector, "pred");
  EXPECT_EQ(keys[2].algorithm, "ed25519-sha256");
  EXPECT_EQ(keys[2].state, "active");
  EXPECT_EQ(keys[2].public_txt.rfind("v=DKIM1; k=ed25519; p=", 0), 0u) << keys[2].public_txt;
  ASSERT_EQ(keys_in_order(d), (std::vector<std::string>{"verification", "spf", "dkim1", "dkim2", "dkim_ed25519",
                                                        "dmarc", "return_path", "link_verification"}));
  const DnsRecord* ed = find_record(d, "dkim_ed25519");
  EXPECT_EQ(ed->domain, "pred._domainkey.dual.test");
  EXPECT_EQ(ed->type, "TXT");
  EXPECT_EQ(ed->value, keys[2].public_txt);
  EXPECT_TRUE(ed->required);
}

TEST_P(DomainsServiceTest, PrivateKeysAreSealed) {
  DomainSettings s = settings();
  s.dkim_ed25519 = true;
  auto svc = make_service(s, unreachable_resolver());
  const SendingDomain d = svc->create(account, "sealed.test").domain;
  const auto keys = keys_of(d.id);
  ASSERT_EQ(keys.size(), 3u);
  const crypto::SecretBox right(kMasterKey);
  const crypto::SecretBox wrong(std::string(32, 'w'));
  const std::map<std::string, std::string> record_of = {{"pr1", "dkim1"}, {"pr2", "dkim2"}, {"pred", "dkim_ed25519"}};
  for (const DkimKey& k : keys) {
    SCOPED_TRACE(k.selector);
    EXPECT_EQ(k.private_sealed.rfind("v1:" + right.key_id() + ":", 0), 0u) << k.private_sealed.substr(0, 20);
    const std::string context = "dkim:" + std::to_string(d.id) + ":" + k.selector;
    const auto key = dkim::SigningKey::from_der(right.open(k.private_sealed, context));
    EXPECT_EQ(key.dns_txt_value(), k.public_txt);
    EXPECT_EQ(key.dns_txt_value(), find_record(d, record_of.at(k.selector))->value);
    EXPECT_THROW(wrong.open(k.private_sealed, context), std::runtime_error);
    // Bound to its row: another selector's context does not open it.
    EXPECT_THROW(right.open(k.private_sealed, "dkim:" + std::to_string(d.id) + ":other"), std::runtime_error);
    EXPECT_EQ(k.private_sealed.find("PRIVATE KEY"), std::string::npos);
  }
}

TEST_P(DomainsServiceTest, DemoDomainSignsWithoutVerification) {
  auto domains = service->list(account);
  ASSERT_EQ(domains.size(), 1u);
  const SendingDomain demo = domains.front();
  EXPECT_TRUE(demo.demo);
  EXPECT_EQ(demo.domain_name, "demo.postroom.test");
  EXPECT_EQ(demo.compliance_status, "demo");
  EXPECT_TRUE(demo.dns_verified);
  for (const DnsRecord& r : demo.dns_records) EXPECT_EQ(r.status, RecordStatus::pass) << r.key;
  EXPECT_EQ(service->list(account).size(), 1u) << "one demo domain per account";

  const auto identities = service->signing_identities(account, "Demo.Postroom.Test");
  ASSERT_EQ(identities.size(), 1u);
  EXPECT_EQ(identities[0].selector, "pr1");
  EXPECT_EQ(identities[0].key.dns_txt_value(), find_record(demo, "dkim1")->value);
  // Verifying the demo domain asks no DNS (the resolver here reaches nothing) and changes nothing.
  const SendingDomain verified = service->verify(account, demo.id);
  EXPECT_EQ(verified.compliance_status, "demo");
  EXPECT_TRUE(verified.dns_verified);
  EXPECT_EQ(errors_of([&] { service->rotate_dkim(account, demo.id); }),
            (Errors{{"base", {"The demo domain's keys can't be rotated"}}}));
  EXPECT_EQ(errors_of([&] { service->set_compliance(account, demo.id, "suspended"); }),
            (Errors{{"compliance_status", {"can't be changed for a demo domain"}}}));
}

TEST_P(DomainsServiceTest, VerificationAgainstDnsmasq) {
  const SendingDomain created = service->create(account, "verify.test").domain;
  const std::int64_t id = created.id;
  EXPECT_TRUE(service->signing_identities(account, "verify.test").empty()) << "not verified yet";

  std::int64_t verified_at = 0;
  {
    postroom::testing::Dnsmasq dns(published({created}));
    auto svc = service_on(dns);
    clock.advance(10);
    const SendingDomain d = svc->verify(account, id);
    for (const DnsRecord& r : d.dns_records) {
      EXPECT_EQ(r.status, RecordStatus::pass) << describe(d);
      EXPECT_EQ(r.reason, "") << r.key;
      EXPECT_FALSE(r.found.empty()) << r.key;
    }
    EXPECT_TRUE(d.dns_verified);
    EXPECT_FALSE(d.dns_lost);
    EXPECT_EQ(d.dns_verified_at, clock.now());
    EXPECT_EQ(d.dns_checked_at, clock.now());
    EXPECT_EQ(d.compliance_status, "compliant");
    verified_at = clock.now();

    // The stored check is what a plain get shows.
    const SendingDomain stored = service->get(account, id);
    EXPECT_TRUE(stored.dns_verified);
    EXPECT_EQ(find_record(stored, "spf")->status, RecordStatus::pass);
    EXPECT_EQ(find_record(stored, "spf")->found, "v=spf1 include:_spf.postroom.test ~all");

    // Now it signs with its active key (the name is matched case-insensitively).
    const auto identities = service->signing_identities(account, "Verify.TEST");
    ASSERT_EQ(identities.size(), 1u);
    EXPECT_EQ(identities[0].selector, "pr1");
    EXPECT_EQ(identities[0].key.algorithm(), dkim::Algorithm::rsa_sha256);
    EXPECT_EQ(identities[0].key.dns_txt_value(), find_record(d, "dkim1")->value);

    // A later passing check keeps the first verification time.
    clock.advance(50);
    const SendingDomain again = svc->verify(account, id);
    EXPECT_EQ(again.dns_verified_at, verified_at);
    EXPECT_EQ(again.dns_checked_at, clock.now());
  }
  {
    // The optional records (standby key, link tracking) may go without losing verification.
    postroom::testing::Dnsmasq dns(published({created}, {"dkim2", "link_verification"}));
    auto svc = service_on(dns);
    clock.advance(10);
    const SendingDomain d = svc->verify(account, id);
    EXPECT_EQ(find_record(d, "dkim2")->status, RecordStatus::missing);
    EXPECT_EQ(find_record(d, "link_verification")->status, RecordStatus::missing);
    EXPECT_TRUE(d.dns_verified) << describe(d);
    EXPECT_FALSE(d.dns_lost);
    EXPECT_EQ(d.compliance_status, "compliant");
  }
  {
    // A required record removed: verification is lost.
    postroom::testing::Dnsmasq dns(published({created}, {"dmarc"}));
    auto svc = service_on(dns);
    clock.advance(100);
    SendingDomain d = svc->verify(account, id);
    EXPECT_EQ(find_record(d, "dmarc")->status, RecordStatus::missing);
    EXPECT_NE(find_record(d, "dmarc")->reason.find("no TXT record at _dmarc.verify.test"), std::string::npos)
        << find_record(d, "dmarc")->reason;
    EXPECT_EQ(find_record(d, "spf")->status, RecordStatus::pass);
    EXPECT_FALSE(d.dns_verified);
    EXPECT_TRUE(d.dns_lost);
    EXPECT_EQ(d.compliance_status, "unverified_dns");
    EXPECT_EQ(d.dns_checked_at, clock.now());
    EXPECT_TRUE(service->signing_identities(account, "verify.test").empty());
    // Still broken on the next check: still lost.
    clock.advance(10);
    d = svc->verify(account, id);
    EXPECT_TRUE(d.dns_lost);
    EXPECT_FALSE(d.dns_verified);
  }
  {
    // Fixed again.
    postroom::testing::Dnsmasq dns(published({created}));
    auto svc = service_on(dns);
    clock.advance(10);
    const SendingDomain d = svc->verify(account, id);
    EXPECT_TRUE(d.dns_verified) << describe(d);
    EXPECT_FALSE(d.dns_lost);
    EXPECT_EQ(d.compliance_status, "compliant");
    EXPECT_EQ(d.dns_verified_at, clock.now());
    EXPECT_EQ(service->signing_identities(account, "verify.test").size(), 1u);
  }
}

TEST_P(DomainsServiceTest, CustomTrackingMakesTheLinkRecordRequired) {
  SettingsInput click;
  click.click_tracking_enabled = true;
  const SendingDomain created = service->create(account, "tracked.test").domain;
  const SendingDomain d = service->update(account, created.id, click);
  EXPECT_TRUE(d.custom_domain_tracking_enabled);
  EXPECT_TRUE(find_record(d, "link_verification")->required);
  postroom::testing::Dnsmasq dns(published({d}, {"link_verification"}));
  auto svc = service_on(dns);
  const SendingDomain checked = svc->verify(account, d.id);
  EXPECT_EQ(find_record(checked, "link_verification")->status, RecordStatus::missing);
  EXPECT_FALSE(checked.dns_verified) << describe(checked);
  EXPECT_EQ(checked.compliance_status, "unverified_dns");
}

TEST_P(DomainsServiceTest, ApprovalAndSuspension) {
  DomainSettings approval = settings();
  approval.require_approval = true;
  const SendingDomain a = service->create(account, "approve.test").domain;
  const SendingDomain b = service->create(account, "suspend.test").domain;
  postroom::testing::Dnsmasq dns(published({a, b}));
  auto gated = service_on(dns, approval);
  auto svc = service_on(dns);

  // Approval required: verified DNS waits for an administrator.
  SendingDomain d = gated->verify(account, a.id);
  EXPECT_TRUE(d.dns_verified) << describe(d);
  EXPECT_EQ(d.compliance_status, "pending");
  EXPECT_TRUE(gated->signing_identities(account, "approve.test").empty());
  d = gated->set_compliance(account, a.id, "compliant");
  EXPECT_EQ(d.compliance_status, "compliant");
  EXPECT_TRUE(d.compliance_approved);
  EXPECT_EQ(gated->signing_identities(account, "approve.test").size(), 1u);
  clock.advance(5);
  EXPECT_EQ(gated->verify(account, a.id).compliance_status, "compliant") << "the approval stays";

  // Suspension sticks across checks until an administrator lifts it.
  d = svc->verify(account, b.id);
  EXPECT_EQ(d.compliance_status, "compliant");
  d = svc->set_compliance(account, b.id, "suspended");
  EXPECT_EQ(d.compliance_status, "suspended");
  EXPECT_TRUE(svc->signing_identities(account, "suspend.test").empty());
  clock.advance(5);
  d = svc->verify(account, b.id);
  EXPECT_TRUE(d.dns_verified);
  EXPECT_EQ(d.compliance_status, "suspended");
  clock.advance(2000);
  EXPECT_GE(svc->check_due(), 1);
  EXPECT_EQ(svc->get(account, b.id).compliance_status, "suspended");
  EXPECT_EQ(svc->get(account, b.id).dns_checked_at, clock.now());
  EXPECT_TRUE(svc->signing_identities(account, "suspend.test").empty());
  d = svc->set_compliance(account, b.id, "non_compliant");
  EXPECT_EQ(svc->verify(account, b.id).compliance_status, "non_compliant");
  d = svc->set_compliance(account, b.id, "compliant");
  EXPECT_EQ(d.compliance_status, "compliant");
  EXPECT_EQ(svc->signing_identities(account, "suspend.test").size(), 1u);

  EXPECT_EQ(errors_of([&] { svc->set_compliance(account, b.id, "pending"); }),
            (Errors{{"compliance_status", {"must be compliant, non_compliant or suspended"}}}));
}

TEST_P(DomainsServiceTest, CheckDueHonoursIntervalsAndSkipsDemoAndDeleted) {
  // recheck_unverified_seconds = 100, recheck_verified_seconds = 1000.
  const SendingDomain a = service->create(account, "due-a.test").domain;  // published: becomes verified
  const SendingDomain b = service->create(account, "due-b.test").domain;  // never published
  const SendingDomain c = service->create(account, "due-c.test").domain;  // deleted
  service->remove(account, c.id);
  ASSERT_EQ(service->list(account).size(), 3u);  // creates the demo domain too
  postroom::testing::Dnsmasq dns(published({a}));
  auto svc = service_on(dns);
  const std::int64_t t0 = clock.now();

  // Never checked: both live ones are due, oldest (never checked) first, within the limit.
  EXPECT_EQ(svc->check_due(1), 1);
  EXPECT_EQ(svc->check_due(), 1);
  EXPECT_EQ(svc->check_due(), 0);
  EXPECT_TRUE(svc->get(account, a.id).dns_verified);
  EXPECT_FALSE(svc->get(account, b.id).dns_verified);
  EXPECT_EQ(svc->get(account, a.id).dns_checked_at, t0);
  EXPECT_EQ(svc->get(account, b.id).dns_checked_at, t0);

  clock.advance(100);  // exactly the unverified interval: not yet older than it
  EXPECT_EQ(svc->check_due(), 0);
  clock.advance(1);
  EXPECT_EQ(svc->check_due(), 1);
  EXPECT_EQ(svc->get(account, b.id).dns_checked_at, t0 + 101);
  EXPECT_EQ(svc->get(account, a.id).dns_checked_at, t0);

  clock.advance(899);  // t0 + 1000: a is exactly at its interval, b is due again
  EXPECT_EQ(svc->check_due(), 1);
  EXPECT_EQ(svc->get(account, a.id).dns_checked_at, t0);
  EXPECT_EQ(svc->get(account, b.id).dns_checked_at, t0 + 1000);
  clock.advance(1);  // t0 + 1001: a is due
  EXPECT_EQ(svc->check_due(), 1);
  EXPECT_EQ(svc->get(account, a.id).dns_checked_at, t0 + 1001);
  EXPECT_TRUE(svc->get(account, a.id).dns_verified);
  EXPECT_EQ(svc->get(account, b.id).dns_checked_at, t0 + 1000);

  // The deleted and the demo domain were never checked.
  const auto deleted = db->read([&](store::Tx& tx) { return store::DomainsStore(tx).find_any(account, c.id); });
  ASSERT_TRUE(deleted.has_value());
  EXPECT_TRUE(deleted->deleted_at.has_value());
  EXPECT_FALSE(deleted->dns_checked_at.has_value());
  for (const SendingDomain& d : svc->list(account)) {
    if (!d.demo) continue;
    const auto stored = db->read([&](store::Tx& tx) { return store::DomainsStore(tx).find(account, d.id); });
    ASSERT_TRUE(stored.has_value());
    EXPECT_TRUE(!stored->dns_checked_at || *stored->dns_checked_at == t0) << "the demo domain was checked";
    EXPECT_EQ(stored->compliance_status, "demo");
  }
}

TEST_P(DomainsServiceTest, RotateDkimNeedsAPassingStandbyKey) {
  const SendingDomain created = service->create(account, "rotate.test").domain;
  const std::int64_t id = created.id;
  const std::string refused =
      "Publish the standby DKIM key at pr2._domainkey.rotate.test and verify the domain before rotating";
  EXPECT_EQ(errors_of([&] { service->rotate_dkim(account, id); }), (Errors{{"base", {refused}}}));
  {
    // Verified, but the standby key is not published: still refused.
    postroom::testing::Dnsmasq dns(published({created}, {"dkim2"}));
    auto svc = service_on(dns);
    const SendingDomain d = svc->verify(account, id);
    EXPECT_TRUE(d.dns_verified) << describe(d);
    EXPECT_EQ(find_record(d, "dkim2")->status, RecordStatus::missing);
    EXPECT_EQ(errors_of([&] { svc->rotate_dkim(account, id); }), (Errors{{"base", {refused}}}));
  }
  const auto before = keys_of(id);
  ASSERT_EQ(before.size(), 2u);
  const DkimKey old_pr1 = before[0];
  const DkimKey pr2 = before[1];
  postroom::testing::Dnsmasq dns(published({created}));
  auto svc = service_on(dns);
  ASSERT_EQ(find_record(svc->verify(account, id), "dkim2")->status, RecordStatus::pass);
  clock.advance(60);
  const SendingDomain rotated = svc->rotate_dkim(account, id);

  const auto keys = keys_of(id);
  ASSERT_EQ(keys.size(), 3u);
  const DkimKey* active = key_with(keys, "pr2", "active");
  const DkimKey* retired = key_with(keys, "pr1", "retired");
  const DkimKey* standby = key_with(keys, "pr1", "standby");
  ASSERT_TRUE(active && retired && standby);
  EXPECT_EQ(active->id, pr2.id);
  EXPECT_EQ(active->public_txt, pr2.public_txt);
  EXPECT_EQ(retired->id, old_pr1.id);
  EXPECT_NE(standby->public_txt, old_pr1.public_txt);
  EXPECT_NE(standby->public_txt, pr2.public_txt);
  EXPECT_EQ(standby->created_at, clock.now());
  EXPECT_EQ(standby->algorithm, "rsa-sha256");
  const auto opened = dkim::SigningKey::from_der(
      crypto::SecretBox(kMasterKey).open(standby->private_sealed, "dkim:" + std::to_string(id) + ":pr1"));
  EXPECT_EQ(opened.dns_txt_value(), standby->public_txt);

  // The records: pr1 now shows the new standby key (unchecked, optional), pr2 the active one (still passing).
  ASSERT_EQ(keys_in_order(rotated), (std::vector<std::string>{"verification", "spf", "dkim1", "dkim2", "dmarc",
                                                              "return_path", "link_verification"}));
  const DnsRecord* dkim1 = find_record(rotated, "dkim1");
  EXPECT_EQ(dkim1->value, standby->public_txt);
  EXPECT_EQ(dkim1->status, RecordStatus::unchecked);
  EXPECT_FALSE(dkim1->required);
  const DnsRecord* dkim2 = find_record(rotated, "dkim2");
  EXPECT_EQ(dkim2->value, pr2.public_txt);
  EXPECT_EQ(dkim2->status, RecordStatus::pass);
  EXPECT_TRUE(dkim2->required);
  EXPECT_TRUE(rotated.dns_verified);

  // Signing follows the rotation.
  auto identities = svc->signing_identities(account, "rotate.test");
  ASSERT_EQ(identities.size(), 1u);
  EXPECT_EQ(identities[0].selector, "pr2");
  EXPECT_EQ(identities[0].key.dns_txt_value(), pr2.public_txt);

  // The new standby key is not published yet (DNS still serves the old pr1 key): the domain stays verified,
  // and the next rotation is refused.
  const SendingDomain checked = svc->verify(account, id);
  EXPECT_EQ(find_record(checked, "dkim1")->status, RecordStatus::fail);
  EXPECT_TRUE(checked.dns_verified) << describe(checked);
  EXPECT_EQ(errors_of([&] { svc->rotate_dkim(account, id); }),
            (Errors{{"base",
                     {"Publish the standby DKIM key at pr1._domainkey.rotate.test and verify the domain before "
                      "rotating"}}}));

  // Published: rotating back makes the new pr1 key active and prepares a fresh pr2.
  postroom::testing::Dnsmasq republished(published({checked}));
  auto svc2 = service_on(republished);
  ASSERT_EQ(find_record(svc2->verify(account, id), "dkim1")->status, RecordStatus::pass);
  svc2->rotate_dkim(account, id);
  const auto after = keys_of(id);
  ASSERT_EQ(after.size(), 4u);
  ASSERT_TRUE(key_with(after, "pr1", "active"));
  EXPECT_EQ(key_with(after, "pr1", "active")->public_txt, standby->public_txt);
  ASSERT_TRUE(key_with(after, "pr2", "standby"));
  EXPECT_NE(key_with(after, "pr2", "standby")->public_txt, pr2.public_txt);
  identities = svc2->signing_identities(account, "rotate.test");
  ASSERT_EQ(identities.size(), 1u);
  EXPECT_EQ(identities[0].selector, "pr1");
  EXPECT_EQ(identities[0].key.dns_txt_value(), standby->public_txt);
}

TEST_P(DomainsServiceTest, UpdatePersistsSettings) {
  const SendingDomain created = service->create(account, "settings-update.test").domain;
  EXPECT_TRUE(created.open_tracking_enabled);
  EXPECT_FALSE(created.click_tracking_enabled);
  EXPECT_FALSE(created.custom_domain_tracking_enabled);
  EXPECT_FALSE(created.auto_unsubscribe_link_enabled);
  EXPECT_TRUE(created.bulk_unsubscribe_footer_enabled);
  EXPECT_TRUE(created.health_alerts_enabled);
  EXPECT_TRUE(created.critical_alerts_enabled);
  EXPECT_FALSE(created.inbound_enabled);
  EXPECT_FALSE(created.alert_recipient_email.has_value());

  SettingsInput in;
  in.open_tracking_enabled = false;
  in.auto_unsubscribe_link_enabled = true;
  in.bulk_unsubscribe_footer_enabled = false;
  in.health_alerts_enabled = false;
  in.critical_alerts_enabled = false;
  in.inbound_enabled = true;
  in.alert_recipient_email = std::optional<std::string>("alerts@acme.example");
  in.auto_bcc_emails = std::vector<std::string>{"archive@acme.example", "audit@acme.example"};
  in.auto_bcc_header_name = "X-Archive";
  in.auto_bcc_header_value = "copy; v=1";
  service->update(account, created.id, in);
  const SendingDomain d = service->get(account, created.id);
  EXPECT_FALSE(d.open_tracking_enabled);
  EXPECT_FALSE(d.click_tracking_enabled);
  EXPECT_FALSE(d.custom_domain_tracking_enabled);
  EXPECT_TRUE(d.auto_unsubscribe_link_enabled);
  EXPECT_FALSE(d.bulk_unsubscribe_footer_enabled);
  EXPECT_FALSE(d.health_alerts_enabled);
  EXPECT_FALSE(d.critical_alerts_enabled);
  EXPECT_TRUE(d.inbound_enabled);
  EXPECT_EQ(d.alert_recipient_email, "alerts@acme.example");
  EXPECT_EQ(d.auto_bcc.emails, (std::vector<std::string>{"archive@acme.example", "audit@acme.example"}));
  EXPECT_EQ(d.auto_bcc.header_name, "X-Archive");
  EXPECT_EQ(d.auto_bcc.header_value, "copy; v=1");

  // Absent fields stay; a null alert address clears it.
  SettingsInput clear;
  clear.alert_recipient_email = std::optional<std::string>();
  const SendingDomain cleared = service->update(account, created.id, clear);
  EXPECT_FALSE(cleared.alert_recipient_email.has_value());
  EXPECT_TRUE(cleared.inbound_enabled);
  EXPECT_FALSE(cleared.open_tracking_enabled);
  EXPECT_EQ(cleared.auto_bcc.emails.size(), 2u);

  // Turning click tracking on turns the custom tracking domain on with it.
  SettingsInput click;
  click.click_tracking_enabled = true;
  const SendingDomain tracked = service->update(account, created.id, click);
  EXPECT_TRUE(tracked.click_tracking_enabled);
  EXPECT_TRUE(tracked.custom_domain_tracking_enabled);
  EXPECT_TRUE(find_record(tracked, "link_verification")->required);
  EXPECT_TRUE(service->get(account, created.id).custom_domain_tracking_enabled);
}

TEST_P(DomainsServiceTest, UpdateValidatesAlertAndAutoBccFields) {
  const std::int64_t id = service->create(account, "validate.test").domain.id;
  auto update_errors = [&](const std::function<void(SettingsInput&)>& set) {
    SettingsInput in;
    set(in);
    return errors_of([&] { service->update(account, id, in); });
  };
  EXPECT_EQ(update_errors([](SettingsInput& in) { in.alert_recipient_email = std::optional<std::string>("nope"); }),
            (Errors{{"alert_recipient_email", {"is invalid"}}}));
  EXPECT_EQ(update_errors([](SettingsInput& in) {
              in.alert_recipient_email = std::optional<std::string>("a@example.com\r\nBcc: x@evil.example");
            }),
            (Errors{{"alert_recipient_email", {"is invalid"}}}));
  EXPECT_EQ(update_errors([](SettingsInput& in) {
              in.auto_bcc_emails = std::vector<std::string>{"ok@example.com", "bad@"};
            }),
            (Errors{{"auto_bcc_emails", {"bad@ is invalid"}}}));
  EXPECT_EQ(
      update_errors([](SettingsInput& in) { in.auto_bcc_emails = std::vector<std::string>(11, "copy@example.com"); }),
      (Errors{{"auto_bcc_emails", {"is too long (maximum is 10)"}}}));
  for (const std::string& name :
       std::vector<std::string>{"Archive", "X-Archive\r\nBcc: x@evil.example", "X-Arch ive", "X-Archive:", "X-A\nB"}) {
    EXPECT_EQ(update_errors([&](SettingsInput& in) { in.auto_bcc_header_name = name; }),
              (Errors{{"auto_bcc_header_name", {"must be an X- header name"}}}))
        << name;
  }
  for (const std::string& value :
       std::vector<std::string>{"a\r\nBcc: x@evil.example", "a\nb", "a\tb", std::string("a\0b", 3)}) {
    EXPECT_EQ(update_errors([&](SettingsInput& in) { in.auto_bcc_header_value = value; }),
              (Errors{{"auto_bcc_header_value", {"must not contain control characters"}}}));
  }
  // Nothing was saved by the refused updates.
  const SendingDomain d = service->get(account, id);
  EXPECT_FALSE(d.alert_recipient_email.has_value());
  EXPECT_TRUE(d.auto_bcc.emails.empty());
  EXPECT_EQ(d.auto_bcc.header_name, "");
  // A lowercase x- name is a header name too.
  SettingsInput ok;
  ok.auto_bcc_header_name = "x-copy";
  EXPECT_EQ(service->update(account, id, ok).auto_bcc.header_name, "x-copy");

  // No Auto BCC on the demo domain.
  const auto domains = service->list(account);
  ASSERT_EQ(domains.size(), 2u);
  ASSERT_TRUE(domains.back().demo);
  SettingsInput bcc;
  bcc.auto_bcc_emails = std::vector<std::string>{"archive@acme.example"};
  EXPECT_EQ(errors_of([&] { service->update(account, domains.back().id, bcc); }),
            (Errors{{"auto_bcc_emails", {"can't be used with a demo domain"}}}));
  EXPECT_TRUE(service->get(account, domains.back().id).auto_bcc.emails.empty());
}

TEST_P(DomainsServiceTest, CompanyInfoIsValidatedAndSharedByTheAccount) {
  const std::int64_t a = service->create(account, "company-a.test").domain.id;
  const std::int64_t b = service->create(account, "company-b.test").domain.id;
  EXPECT_THROW(service->company_info(account, a), NotFound) << "none saved yet";
  EXPECT_THROW(service->save_company_info(account, a, {{"city", "Paris"}}, false), NotFound) << "update before create";

  EXPECT_EQ(errors_of([&] { service->save_company_info(account, a, {}, true); }),
            (Errors{{"name", {"can't be blank"}},
                    {"address", {"can't be blank"}},
                    {"city", {"can't be blank"}},
                    {"country", {"can't be blank"}},
                    {"zip_code", {"can't be blank"}},
                    {"website_url", {"can't be blank", "is invalid"}}}));
  CompanyInfoInput bad = full_company();
  bad.emplace_back("website_url", "acme.example");
  bad.emplace_back("privacy_policy_url", "ftp://acme.example/privacy");
  bad.emplace_back("info_level", "corporate");
  bad.emplace_back("fax", "123");
  bad.emplace_back("name", "   ");
  EXPECT_EQ(errors_of([&] { service->save_company_info(account, a, bad, true); }),
            (Errors{{"fax", {"is not a known attribute"}},
                    {"name", {"can't be blank"}},
                    {"website_url", {"is invalid"}},
                    {"privacy_policy_url", {"is invalid"}},
                    {"info_level", {"is not included in the list"}}}));
  CompanyInfoInput too_long = full_company();
  too_long.emplace_back("address", std::string(501, 'a'));
  EXPECT_EQ(errors_of([&] { service->save_company_info(account, a, too_long, true); }),
            (Errors{{"address", {"is too long (maximum is 500 characters)"}}}));
  EXPECT_THROW(service->company_info(account, a), NotFound) << "nothing saved by refused creates";

  const CompanyInfo saved = service->save_company_info(account, a, full_company(), true);
  EXPECT_EQ(saved.name, "ACME Ltd");
  EXPECT_EQ(saved.info_level, "business");
  EXPECT_EQ(saved.phone, "+1 555 0100");
  EXPECT_FALSE(saved.privacy_policy_url.has_value());

  // One per account: every domain shows it.
  const CompanyInfo via_b = service->company_info(account, b);
  EXPECT_EQ(via_b.name, "ACME Ltd");
  EXPECT_EQ(via_b.address, "1 Main St");
  EXPECT_EQ(via_b.city, "Springfield");
  EXPECT_EQ(via_b.country, "US");
  EXPECT_EQ(via_b.zip_code, "12345");
  EXPECT_EQ(via_b.website_url, "https://acme.example");
  EXPECT_EQ(via_b.info_level, "business");
  EXPECT_EQ(via_b.phone, "+1 555 0100");

  // Update: only the given fields change (through the other domain, the same record).
  const CompanyInfo updated = service->save_company_info(
      account, b, {{"city", "Shelbyville"}, {"terms_of_service_url", "https://acme.example/terms"}, {"phone", ""}},
      false);
  EXPECT_EQ(updated.city, "Shelbyville");
  EXPECT_EQ(updated.terms_of_service_url, "https://acme.example/terms");
  EXPECT_FALSE(updated.phone.has_value()) << "an empty optional field is cleared";
  const CompanyInfo stored = service->company_info(account, a);
  EXPECT_EQ(stored.city, "Shelbyville");
  EXPECT_EQ(stored.name, "ACME Ltd");
  EXPECT_EQ(stored.zip_code, "12345");
  EXPECT_EQ(stored.terms_of_service_url, "https://acme.example/terms");
  EXPECT_FALSE(stored.phone.has_value());
  EXPECT_EQ(errors_of([&] {
              service->save_company_info(account, a, {{"zip_code", std::nullopt}}, false);
            }),
            (Errors{{"zip_code", {"can't be blank"}}}));
  EXPECT_EQ(errors_of([&] {
              service->save_company_info(account, a, {{"nickname", "x"}}, false);
            }),
            (Errors{{"nickname", {"is not a known attribute"}}}));

  // info_level is chosen once.
  EXPECT_EQ(errors_of([&] {
              service->save_company_info(account, a, {{"info_level", "individual"}}, false);
            }),
            (Errors{{"info_level", {"can't be changed once submitted"}}}));
  EXPECT_EQ(service->save_company_info(account, a, {{"info_level", "business"}}, false).info_level, "business");
  EXPECT_EQ(service->company_info(account, b).info_level, "business");

  // Unknown and deleted domains.
  EXPECT_THROW(service->company_info(account, 999999), NotFound);
  EXPECT_THROW(service->save_company_info(account, 999999, full_company(), true), NotFound);
  service->remove(account, b);
  EXPECT_THROW(service->company_info(account, b), NotFound);
  EXPECT_THROW(service->save_company_info(account, b, {{"city", "X"}}, false), NotFound);
  EXPECT_EQ(service->company_info(account, a).city, "Shelbyville");
}

TEST_P(DomainsServiceTest, SendSetupInstructionsEmailsEveryRecord) {
  const SendingDomain d = service->create(account, "setup.test").domain;
  service->send_setup_instructions(account, d.id, "it@setup.test");
  ASSERT_EQ(sent.size(), 1u);
  const SystemEmail& email = sent.front();
  EXPECT_EQ(email.account_id, account);
  EXPECT_EQ(email.to, "it@setup.test");
  EXPECT_EQ(email.subject, "DNS records for setup.test");
  ASSERT_EQ(d.dns_records.size(), 7u);
  for (const DnsRecord& r : d.dns_records) {
    EXPECT_NE(email.text.find(r.value), std::string::npos) << r.key;
    EXPECT_NE(email.text.find(r.domain), std::string::npos) << r.key;
    EXPECT_NE(email.html.find(r.value), std::string::npos) << r.key;
    EXPECT_NE(email.html.find(r.domain), std::string::npos) << r.key;
  }
  // The BIND snippet is in both.
  const std::string zone = to_bind_zone(d.domain_name, d.dns_records);
  EXPECT_NE(email.text.find(zone), std::string::npos);
  EXPECT_NE(email.html.find("_dmarc.setup.test.\t3600\tIN\tTXT\t&quot;v=DMARC1; p=none;&quot;"), std::string::npos);

  for (const char* bad : {"", "nobody", "a@b", "a b@c.test", "a@c.test\r\nBcc: x@evil.test", "a@@c.test"}) {
    EXPECT_EQ(errors_of([&] { service->send_setup_instructions(account, d.id, bad); }),
              (Errors{{"email", {"is invalid"}}}))
        << bad;
  }
  EXPECT_EQ(sent.size(), 1u);
  EXPECT_THROW(service->send_setup_instructions(account, 999999, "it@setup.test"), NotFound);
  EXPECT_EQ(sent.size(), 1u);
}

TEST_P(DomainsServiceTest, OtherAccountsSeeNothing) {
  const SendingDomain d = service->create(account, "mine.test").domain;
  service->save_company_info(account, d.id, full_company(), true);
  const auto other = accounts->create_sub_account(boot.organization_id, "Other");
  const std::int64_t o = other.id;
  SettingsInput in;
  in.inbound_enabled = true;
  EXPECT_THROW(service->get(o, d.id), NotFound);
  EXPECT_THROW(service->update(o, d.id, in), NotFound);
  EXPECT_THROW(service->verify(o, d.id), NotFound);
  EXPECT_THROW(service->set_compliance(o, d.id, "suspended"), NotFound);
  EXPECT_THROW(service->set_compliance(o, d.id, "compliant"), NotFound);
  EXPECT_THROW(service->rotate_dkim(o, d.id), NotFound);
  EXPECT_THROW(service->send_setup_instructions(o, d.id, "x@example.com"), NotFound);
  EXPECT_THROW(service->company_info(o, d.id), NotFound);
  EXPECT_THROW(service->save_company_info(o, d.id, {{"city", "Elsewhere"}}, false), NotFound);
  EXPECT_THROW(service->save_company_info(o, d.id, full_company(), true), NotFound);
  EXPECT_THROW(service->remove(o, d.id), NotFound);
  EXPECT_TRUE(service->signing_identities(o, "mine.test").empty());
  for (const SendingDomain& listed : service->list(o)) EXPECT_NE(listed.id, d.id);
  EXPECT_TRUE(sent.empty());

  // Nothing changed for the owner.
  const SendingDomain mine = service->get(account, d.id);
  EXPECT_FALSE(mine.inbound_enabled);
  EXPECT_EQ(mine.compliance_status, "unverified_dns");
  EXPECT_EQ(service->company_info(account, d.id).city, "Springfield");
  EXPECT_EQ(keys_of(d.id).size(), 2u);
  // The other account's own domain sees no company info of ours.
  const std::int64_t theirs = service->create(o, "theirs.test").domain.id;
  EXPECT_THROW(service->company_info(o, theirs), NotFound);
  EXPECT_THROW(service->get(account, theirs), NotFound);
}

TEST_P(DomainsServiceTest, SuspensionDuringACheckSticks) {
  const SendingDomain created = service->create(account, "race.test").domain;
  const std::int64_t id = created.id;
  postroom::testing::Dnsmasq dns(published({created}));
  auto svc = service_on(dns);
  ASSERT_EQ(svc->verify(account, id).compliance_status, "compliant");

  // A check whose DNS answers are slow (here: never come); an administrator suspends the domain meanwhile.
  SilentDns silent;
  dns::ResolverOptions o;
  o.servers = {silent.server()};
  o.timeout = std::chrono::milliseconds(1500);
  o.tries = 1;
  auto slow = make_service(settings(), std::make_shared<const dns::Resolver>(o));
  clock.advance(10);
  auto check = std::async(std::launch::async, [&] { return slow->verify(account, id); });
  ASSERT_TRUE(silent.wait_for_query()) << "the check never asked DNS";
  EXPECT_EQ(service->set_compliance(account, id, "suspended").compliance_status, "suspended");
  const SendingDomain after_check = check.get();
  EXPECT_FALSE(after_check.dns_verified);
  EXPECT_EQ(after_check.compliance_status, "suspended") << "the suspension made during the check was overwritten";

  // The records answer again: the domain must stay suspended and must not sign.
  clock.advance(10);
  const SendingDomain rechecked = svc->verify(account, id);
  EXPECT_TRUE(rechecked.dns_verified) << describe(rechecked);
  EXPECT_EQ(rechecked.compliance_status, "suspended");
  EXPECT_TRUE(svc->signing_identities(account, "race.test").empty()) << "a suspended domain signs";
}

TEST_P(DomainsServiceTest, ConcurrentRotationsRotateOnce) {
  const SendingDomain created = service->create(account, "rotate-twice.test").domain;
  const std::int64_t id = created.id;
  postroom::testing::Dnsmasq dns(published({created}));
  auto svc = service_on(dns);
  ASSERT_EQ(find_record(svc->verify(account, id), "dkim2")->status, RecordStatus::pass);

  // Two rotation requests at once (a double click): one rotates, the other is refused, as it would be if it came
  // after the first (the new standby key is not published yet).
  auto rotate = [&] {
    try {
      svc->rotate_dkim(account, id);
      return 1;
    } catch (const ValidationError&) {
      return 0;
    }
  };
  auto first = std::async(std::launch::async, rotate);
  auto second = std::async(std::launch::async, rotate);
  const int rotated = first.get() + second.get();
  EXPECT_EQ(rotated, 1);
  const auto keys = keys_of(id);
  int pr1_standby = 0;
  for (const DkimKey& k : keys) pr1_standby += k.selector == "pr1" && k.state == "standby";
  EXPECT_EQ(pr1_standby, 1) << "keys: " << keys.size();
  EXPECT_EQ(keys.size(), 3u);
  const SendingDomain d = svc->get(account, id);
  EXPECT_EQ(keys_in_order(d), (std::vector<std::string>{"verification", "spf", "dkim1", "dkim2", "dmarc", "return_path",
                                                        "link_verification"}));
}

TEST_P(DomainsServiceTest, StaleGetSchedulesABackgroundCheck) {
  const SendingDomain created = service->create(account, "stale.test").domain;
  postroom::testing::Dnsmasq dns(published({created}));
  DomainSettings s = settings();
  s.recheck_unverified_seconds = 1'000'000;  // the periodic sweep leaves it alone
  s.recheck_verified_seconds = 1'000'000;
  s.refresh_after_seconds = 60;
  auto svc = service_on(dns, s);
  ASSERT_TRUE(svc->verify(account, created.id).dns_verified);
  const std::int64_t checked = clock.now();
  svc->start();
  svc->start();  // idempotent
  clock.advance(30);
  EXPECT_EQ(svc->get(account, created.id).dns_checked_at, checked) << "fresh: nothing scheduled";
  clock.advance(31);
  EXPECT_EQ(svc->get(account, created.id).dns_checked_at, checked) << "get returns the stored state";
  std::optional<std::int64_t> seen;
  for (int i = 0; i < 100 && seen != clock.now(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    seen = service->get(account, created.id).dns_checked_at;
  }
  EXPECT_EQ(seen, clock.now()) << "no background check after a stale get";
  svc->stop();
  svc->stop();
}

INSTANTIATE_TEST_SUITE_P(DomainsSqlite, DomainsServiceTest, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(DomainsPostgres, DomainsServiceTest, ::testing::Values("postgres"));

// ---- Record exports (records.h) ----

namespace {

std::vector<DnsRecord> make_sample_records() {
  SendingDomain d;
  d.domain_name = "zone.test";
  d.verification_token = "pr-abc";
  d.custom_domain_tracking_enabled = true;
  DkimKey pr1;
  pr1.selector = "pr1";
  pr1.state = "active";
  pr1.public_txt = dkim::SigningKey::generate_rsa(2048).dns_txt_value();
  DkimKey pr2 = pr1;
  pr2.selector = "pr2";
  pr2.state = "standby";
  pr2.public_txt = dkim::SigningKey::generate_rsa(4096).dns_txt_value();
  DkimKey old = pr1;
  old.state = "retired";
  old.public_txt = "v=DKIM1; k=rsa; p=RETIRED";
  DkimKey ed;
  ed.selector = "pred";
  ed.state = "active";
  ed.public_txt = dkim::SigningKey::generate_ed25519().dns_txt_value();
  DomainSettings s;
  s.hostname = "mta.postroom.test";
  s.tracking_host = "t.postroom.test";
  return expected_records(d, {old, pr1, pr2, ed}, s);
}

const std::vector<DnsRecord>& sample_records() {
  static const std::vector<DnsRecord> records = make_sample_records();
  return records;
}

// The character-strings of a zone-file TXT rdata: "…" "…" (backslash escapes).
std::vector<std::string> zone_strings(const std::string& rdata) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < rdata.size()) {
    if (rdata[i] == ' ') {
      ++i;
      continue;
    }
    EXPECT_EQ(rdata[i], '"') << rdata;
    std::string s;
    for (++i; i < rdata.size() && rdata[i] != '"'; ++i) {
      if (rdata[i] == '\\') ++i;
      s += rdata[i];
    }
    ++i;
    out.push_back(s);
  }
  return out;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += p;
  return out;
}

}  // namespace

TEST(DomainsRecords, ExpectedRecordsSkipRetiredKeys) {
  const auto& records = sample_records();
  std::vector<std::string> keys;
  for (const auto& r : records) keys.push_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"verification", "spf", "dkim1", "dkim2", "dkim_ed25519", "dmarc",
                                            "return_path", "link_verification"}));
  for (const auto& r : records) EXPECT_EQ(r.value.find("RETIRED"), std::string::npos) << r.key;
  EXPECT_TRUE(records.back().required) << "custom tracking makes the link record required";
  EXPECT_EQ(records.back().value, "t.postroom.test");
  EXPECT_EQ(records[6].value, "mta.postroom.test") << "no bounce host: the hostname";
}

TEST(DomainsRecords, BindZoneSplitsLongTxtAndEndsNamesWithADot) {
  const auto& records = sample_records();
  const std::string zone = to_bind_zone("zone.test", records, 600);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < zone.size()) {
    const auto end = zone.find('\n', start);
    lines.push_back(zone.substr(start, end - start));
    start = end == std::string::npos ? zone.size() : end + 1;
  }
  ASSERT_EQ(lines.size(), records.size() + 1);
  EXPECT_EQ(lines[0], "; Postroom sending records for zone.test");
  bool split_seen = false;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const DnsRecord& r = records[i];
    SCOPED_TRACE(r.key);
    const std::string prefix = r.domain + ".\t600\tIN\t" + r.type + "\t";
    ASSERT_EQ(lines[i + 1].rfind(prefix, 0), 0u) << lines[i + 1];
    const std::string rdata = lines[i + 1].substr(prefix.size());
    if (r.type == "TXT") {
      const auto parts = zone_strings(rdata);
      ASSERT_FALSE(parts.empty());
      for (const auto& p : parts) EXPECT_LE(p.size(), 255u);
      EXPECT_EQ(joined(parts), r.value);
      if (parts.size() > 1) split_seen = true;
    } else {
      EXPECT_EQ(rdata, r.value + ".");
    }
  }
  EXPECT_TRUE(split_seen) << "the RSA keys are longer than one character-string";
  // The 4096-bit key needs more than two strings.
  EXPECT_GE(zone_strings(lines[4].substr(lines[4].rfind('\t') + 1)).size(), 3u);
  // Quotes and backslashes are escaped.
  DnsRecord quoted;
  quoted.key = "spf";
  quoted.domain = "q.test";
  quoted.type = "TXT";
  quoted.value = "a\"b\\c";
  EXPECT_EQ(to_bind_zone("q.test", {quoted}),
            "; Postroom sending records for q.test\nq.test.\t3600\tIN\tTXT\t\"a\\\"b\\\\c\"\n");
  // An MX (a return path published as MX) carries its preference and a dotted host.
  DnsRecord mx;
  mx.key = "return_path";
  mx.domain = "bounces.q.test";
  mx.type = "MX";
  mx.value = "mx.postroom.test.";
  EXPECT_EQ(to_bind_zone("q.test", {mx}, 60),
            "; Postroom sending records for q.test\nbounces.q.test.\t60\tIN\tMX\t10 mx.postroom.test.\n");
}

TEST(DomainsRecords, Route53ChangeBatchCarriesEveryRecord) {
  const auto& records = sample_records();
  const auto parsed = boost::json::parse(to_route53_change_batch("zone.test", records, 300));
  const auto& o = parsed.as_object();
  EXPECT_EQ(o.at("Comment").as_string(), "Postroom sending records for zone.test");
  const auto& changes = o.at("Changes").as_array();
  ASSERT_EQ(changes.size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const DnsRecord& r = records[i];
    SCOPED_TRACE(r.key);
    const auto& change = changes[i].as_object();
    EXPECT_EQ(change.at("Action").as_string(), "UPSERT");
    const auto& set = change.at("ResourceRecordSet").as_object();
    EXPECT_EQ(set.at("Name").as_string(), r.domain + ".");
    EXPECT_EQ(set.at("Type").as_string(), r.type);
    EXPECT_EQ(set.at("TTL").to_number<int>(), 300);
    const auto& values = set.at("ResourceRecords").as_array();
    ASSERT_EQ(values.size(), 1u);
    const std::string value(values[0].as_object().at("Value").as_string());
    if (r.type == "TXT") {
      const auto parts = zone_strings(value);
      for (const auto& p : parts) EXPECT_LE(p.size(), 255u);
      EXPECT_EQ(joined(parts), r.value);
    } else {
      EXPECT_EQ(value, r.value + ".");
    }
  }
}

TEST(DomainsRecords, CloudflareRecordsCarryEveryRecord) {
  const auto& records = sample_records();
  const auto parsed = boost::json::parse(to_cloudflare_records(records));
  const auto& items = parsed.as_array();
  ASSERT_EQ(items.size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const DnsRecord& r = records[i];
    SCOPED_TRACE(r.key);
    const auto& item = items[i].as_object();
    EXPECT_EQ(item.at("type").as_string(), r.type);
    EXPECT_EQ(item.at("name").as_string(), r.domain);
    EXPECT_EQ(item.at("content").as_string(), r.value);
    EXPECT_EQ(item.at("ttl").to_number<int>(), 3600);
    if (r.type == "CNAME") {
      ASSERT_TRUE(item.contains("proxied"));
      EXPECT_FALSE(item.at("proxied").as_bool());
    } else {
      EXPECT_FALSE(item.contains("proxied"));
    }
  }
}
