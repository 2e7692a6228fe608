// Sending-domain verification (src/domains/verification.h): the pure judging rules over hand-made answers, then
// whole domains checked against dnsmasq on a free loopback port (Integration*).
#include "domains/verification.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "../dns/dnsmasq_fixture.h"
#include "dkim/dkim.h"
#include "dns/resolver.h"

using namespace postroom::domains;
using postroom::dns::Answer;
using postroom::dns::MxRecord;
using postroom::dns::Query;
using postroom::dns::RecordType;
using postroom::dns::Status;
using postroom::dns::TxtRecord;

namespace {

// Our own names for messages (model.cpp's to_string is not needed here).
const char* status_name(RecordStatus s) {
  switch (s) {
    case RecordStatus::unchecked:
      return "unchecked";
    case RecordStatus::pass:
      return "pass";
    case RecordStatus::fail:
      return "fail";
    case RecordStatus::missing:
      return "missing";
    case RecordStatus::network_error:
      return "network_error";
  }
  return "?";
}

std::string describe(const DnsRecord& r) {
  return r.key + " @ " + r.domain + ": " + status_name(r.status) + " reason=\"" + r.reason + "\" found=\"" + r.found +
         "\"";
}

DnsRecord make_record(std::string key, std::string domain, std::string type, std::string value) {
  DnsRecord r;
  r.key = std::move(key);
  r.domain = std::move(domain);
  r.type = std::move(type);
  r.value = std::move(value);
  return r;
}

Answer answer(std::string name, RecordType type, Status status, std::string error = "") {
  Answer a;
  a.query = Query{std::move(name), type};
  a.status = status;
  a.error = std::move(error);
  return a;
}

Answer cname_answer(std::string name, std::vector<std::string> chain) {
  Answer a = answer(std::move(name), RecordType::cname, Status::ok);
  a.cnames = std::move(chain);
  return a;
}

// Each text is one TXT record, cut into 255-octet character-strings as DNS carries it.
Answer txt_answer(std::string name, const std::vector<std::string>& texts) {
  Answer a = answer(std::move(name), RecordType::txt, Status::ok);
  for (const auto& t : texts) a.txt.push_back(TxtRecord{postroom::dkim::split_txt_strings(t)});
  return a;
}

Answer mx_answer(std::string name, std::vector<MxRecord> mx) {
  Answer a = answer(std::move(name), RecordType::mx, Status::ok);
  a.mx = std::move(mx);
  return a;
}

DnsRecord judged(DnsRecord r, const std::vector<Answer>& answers) {
  r.reason = "stale reason";  // a pass must clear it
  r.found = "stale found";
  judge(r, answers);
  return r;
}

#define EXPECT_VERDICT(record, want_status, reason_part)             \
  do {                                                               \
    const DnsRecord& r_ = (record);                                  \
    EXPECT_EQ(r_.status, want_status) << describe(r_);               \
    if (std::string(reason_part).empty()) {                          \
      EXPECT_EQ(r_.reason, "") << describe(r_);                      \
    } else {                                                         \
      EXPECT_NE(r_.reason.find(reason_part), std::string::npos)      \
          << "want \"" << (reason_part) << "\" in " << describe(r_); \
    }                                                                \
  } while (0)

const std::string kRsaA = postroom::dkim::SigningKey::generate_rsa(2048).dns_txt_value();

}  // namespace

// ---- CNAME records ----

TEST(JudgeCname, PassIgnoresCaseAndTrailingDot) {
  const auto rec = make_record("link_verification", "mt-link.example.com", "CNAME", "t.postroom.example");
  auto r = judged(rec, {cname_answer("mt-link.example.com", {"T.PostRoom.Example."})});
  EXPECT_VERDICT(r, RecordStatus::pass, "");
  EXPECT_EQ(r.found, "T.PostRoom.Example.");
  r = judged(make_record("verification", "abc.example.com", "CNAME", "verify.postroom.example."),
             {cname_answer("abc.example.com", {"verify.postroom.example"})});
  EXPECT_VERDICT(r, RecordStatus::pass, "");
}

TEST(JudgeCname, WrongTarget) {
  const auto r = judged(make_record("link_verification", "mt-link.example.com", "CNAME", "t.postroom.example"),
                        {cname_answer("mt-link.example.com", {"other.example.net"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "CNAME points to other.example.net, expected t.postroom.example");
  EXPECT_EQ(r.found, "other.example.net");
}

TEST(JudgeCname, Missing) {
  const auto rec = make_record("link_verification", "mt-link.example.com", "CNAME", "t.postroom.example");
  auto r = judged(rec, {answer("mt-link.example.com", RecordType::cname, Status::nxdomain)});
  EXPECT_VERDICT(r, RecordStatus::missing, "no CNAME record at mt-link.example.com");
  EXPECT_NE(r.reason.find("does not exist"), std::string::npos) << r.reason;
  EXPECT_EQ(r.found, "");
  r = judged(rec, {answer("mt-link.example.com", RecordType::cname, Status::nodata)});
  EXPECT_VERDICT(r, RecordStatus::missing, "no CNAME record at mt-link.example.com");
}

TEST(JudgeCname, NetworkErrors) {
  const auto rec = make_record("verification", "abc.example.com", "CNAME", "verify.postroom.example");
  for (auto [status, error, want] : std::vector<std::tuple<Status, std::string, std::string>>{
           {Status::timeout, "timeout", "failed: timeout"},
           {Status::servfail, "servfail", "failed: servfail"},
           {Status::refused, "refused (or no DNS server reachable)", "failed: refused (or no DNS server reachable)"},
           {Status::error, "Misformatted domain name", "failed: error (Misformatted domain name)"}}) {
    const auto r = judged(rec, {answer("abc.example.com", RecordType::cname, status, error)});
    EXPECT_VERDICT(r, RecordStatus::network_error, "DNS CNAME query for abc.example.com " + want);
  }
  // No answer at all for the query the record needs.
  const auto r = judged(rec, {});
  EXPECT_VERDICT(r, RecordStatus::network_error, "no answer to the CNAME query for abc.example.com");
}

// ---- SPF ----

TEST(JudgeSpf, PassWithExtraTermsAndNormalizedValues) {
  const auto rec =
      make_record("spf", "example.com", "TXT",
                  "v=spf1 include:_spf.postroom.example ip4:192.0.2.1 ip6:2001:db8::1 a mx:mail.example.com ~all");
  const auto r = judged(
      rec, {txt_answer("example.com", {"google-site-verification=xyz",
                                       "v=spf1 ip4:192.0.2.1/32 a:Example.COM. include:_SPF.postroom.example. "
                                       "include:_spf.google.com ip6:2001:DB8:0::1/128 mx:mail.example.com -all"})});
  EXPECT_VERDICT(r, RecordStatus::pass, "");
  EXPECT_EQ(r.found,
            "v=spf1 ip4:192.0.2.1/32 a:Example.COM. include:_SPF.postroom.example. include:_spf.google.com "
            "ip6:2001:DB8:0::1/128 mx:mail.example.com -all");
}

TEST(JudgeSpf, BareAMeansTheSendingDomain) {
  auto r = judged(make_record("spf", "example.com", "TXT", "v=spf1 a:example.com/24 -all"),
                  {txt_answer("example.com", {"v=spf1 a/24 -all"})});
  EXPECT_VERDICT(r, RecordStatus::pass, "");
  r = judged(make_record("spf", "example.com", "TXT", "v=spf1 a -all"),
             {txt_answer("example.com", {"v=spf1 a:other.example.com -all"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "SPF record does not include a");
}

TEST(JudgeSpf, MissingInclude) {
  const auto rec = make_record("spf", "example.com", "TXT", "v=spf1 include:_spf.postroom.example ~all");
  const auto r = judged(rec, {txt_answer("example.com", {"v=spf1 include:_spf.google.com ~all"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "SPF record does not include include:_spf.postroom.example");
  EXPECT_EQ(r.found, "v=spf1 include:_spf.google.com ~all");
}

TEST(JudgeSpf, SeveralMissingTermsAreListed) {
  const auto rec =
      make_record("spf", "example.com", "TXT", "v=spf1 include:_spf.postroom.example ip4:192.0.2.0/24 ~all");
  const auto r = judged(rec, {txt_answer("example.com", {"v=spf1 ip4:192.0.2.1 ~all"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "SPF record does not include include:_spf.postroom.example, ip4:192.0.2.0/24");
}

TEST(JudgeSpf, QualifierAndTermsAfterAll) {
  const auto rec = make_record("spf", "example.com", "TXT", "v=spf1 include:_spf.postroom.example ~all");
  auto r = judged(rec, {txt_answer("example.com", {"v=spf1 ~include:_spf.postroom.example -all"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "SPF record has ~include:_spf.postroom.example instead of include:");
  r = judged(rec, {txt_answer("example.com", {"v=spf1 -all include:_spf.postroom.example"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "after \"all\"");
}

TEST(JudgeSpf, TwoRecords) {
  const auto rec = make_record("spf", "example.com", "TXT", "v=spf1 include:_spf.postroom.example ~all");
  const auto r = judged(rec, {txt_answer("example.com", {"v=spf1 include:_spf.postroom.example ~all",
                                                         "v=spf1 include:_spf.google.com ~all"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "two SPF records at example.com");
}

TEST(JudgeSpf, PlusAll) {
  const auto rec = make_record("spf", "example.com", "TXT", "v=spf1 include:_spf.postroom.example ~all");
  auto r = judged(rec, {txt_answer("example.com", {"v=spf1 include:_spf.postroom.example +all"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "SPF ends with +all");
  r = judged(rec, {txt_answer("example.com", {"v=spf1 include:_spf.postroom.example all"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "SPF ends with +all");
  // Both problems are reported.
  r = judged(rec, {txt_answer("example.com", {"v=spf1 +all"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "does not include include:_spf.postroom.example; SPF ends with +all");
}

TEST(JudgeSpf, InvalidRecord) {
  const auto rec = make_record("spf", "example.com", "TXT", "v=spf1 include:_spf.postroom.example ~all");
  const auto r = judged(rec, {txt_answer("example.com", {"v=spf1 include:_spf.postroom.example ip4:999.0.0.1 ~all"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "SPF record is invalid: bad address in ip4:999.0.0.1");
}

TEST(JudgeSpf, MissingAndNetworkError) {
  const auto rec = make_record("spf", "example.com", "TXT", "v=spf1 include:_spf.postroom.example ~all");
  auto r = judged(rec, {txt_answer("example.com", {"google-site-verification=xyz", "v=spf10 -all"})});
  EXPECT_VERDICT(r, RecordStatus::missing, "no SPF record at example.com");
  EXPECT_EQ(r.found, "google-site-verification=xyz | v=spf10 -all");
  r = judged(rec, {answer("example.com", RecordType::txt, Status::nodata)});
  EXPECT_VERDICT(r, RecordStatus::missing, "no TXT record at example.com");
  r = judged(rec, {answer("example.com", RecordType::txt, Status::servfail, "servfail")});
  EXPECT_VERDICT(r, RecordStatus::network_error, "DNS TXT query for example.com failed: servfail");
}

// ---- DKIM ----

TEST(JudgeDkim, PassSplitIntoStringsAndReformatted) {
  ASSERT_GT(kRsaA.size(), 255u);
  const auto rec = make_record("dkim1", "rwmt1._domainkey.example.com", "TXT", kRsaA);
  auto r = judged(rec, {txt_answer("rwmt1._domainkey.example.com", {kRsaA})});
  EXPECT_VERDICT(r, RecordStatus::pass, "");
  EXPECT_LE(r.found.size(), max_found_length);
  EXPECT_EQ(r.found.substr(0, 18), "v=DKIM1; k=rsa; p=");
  // Whitespace inside p= and other tags do not matter; the key bytes do.
  std::string spaced = kRsaA;
  spaced.insert(spaced.size() - 40, " \t ");
  r = judged(rec, {txt_answer("rwmt1._domainkey.example.com", {"v=DKIM1; h=sha256; " + spaced.substr(9)})});
  EXPECT_VERDICT(r, RecordStatus::pass, "");
}

TEST(JudgeDkim, DifferentKey) {
  const std::string other = postroom::dkim::SigningKey::generate_rsa(1024).dns_txt_value();
  const auto r = judged(make_record("dkim1", "rwmt1._domainkey.example.com", "TXT", kRsaA),
                        {txt_answer("rwmt1._domainkey.example.com", {other})});
  EXPECT_VERDICT(r, RecordStatus::fail, "DKIM key differs from the published selector key");
}

TEST(JudgeDkim, DifferentKeyType) {
  const std::string ed = postroom::dkim::SigningKey::generate_ed25519().dns_txt_value();
  const auto r = judged(make_record("dkim_ed25519", "rwmt3._domainkey.example.com", "TXT", ed),
                        {txt_answer("rwmt3._domainkey.example.com", {kRsaA})});
  EXPECT_VERDICT(r, RecordStatus::fail, "DKIM key type is k=rsa, expected k=ed25519");
}

TEST(JudgeDkim, Revoked) {
  const auto r = judged(make_record("dkim2", "rwmt2._domainkey.example.com", "TXT", kRsaA),
                        {txt_answer("rwmt2._domainkey.example.com", {"v=DKIM1; k=rsa; p="})});
  EXPECT_VERDICT(r, RecordStatus::fail, "DKIM key record is revoked (empty p=)");
}

TEST(JudgeDkim, NotAKeyRecord) {
  const auto rec = make_record("dkim1", "rwmt1._domainkey.example.com", "TXT", kRsaA);
  auto r = judged(rec, {txt_answer("rwmt1._domainkey.example.com", {"v=spf1 -all"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "TXT at rwmt1._domainkey.example.com is not a DKIM key record");
  r = judged(rec, {txt_answer("rwmt1._domainkey.example.com", {"v=DKIM1; k=rsa"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "is not a DKIM key record (no p= tag)");
}

TEST(JudgeDkim, SeveralKeyRecords) {
  const auto r = judged(make_record("dkim1", "rwmt1._domainkey.example.com", "TXT", kRsaA),
                        {txt_answer("rwmt1._domainkey.example.com", {kRsaA, "v=DKIM1; p="})});
  EXPECT_VERDICT(r, RecordStatus::fail, "several DKIM key records at rwmt1._domainkey.example.com");
}

TEST(JudgeDkim, ReachedThroughCname) {
  auto a = txt_answer("rwmt1._domainkey.example.com", {kRsaA});
  a.cnames = {"rwmt1.dkim.postroom.example"};
  auto r = judged(make_record("dkim1", "rwmt1._domainkey.example.com", "TXT", kRsaA), {a});
  EXPECT_VERDICT(r, RecordStatus::pass, "");
  auto dangling = answer("rwmt1._domainkey.example.com", RecordType::txt, Status::nodata);
  dangling.cnames = {"rwmt1.dkim.postroom.example"};
  r = judged(make_record("dkim1", "rwmt1._domainkey.example.com", "TXT", kRsaA), {dangling});
  EXPECT_VERDICT(r, RecordStatus::missing,
                 "no TXT record at rwmt1._domainkey.example.com (it is a CNAME to rwmt1.dkim.postroom.example)");
}

TEST(JudgeDkim, MissingAndNetworkError) {
  const auto rec = make_record("dkim1", "rwmt1._domainkey.example.com", "TXT", kRsaA);
  auto r = judged(rec, {answer("rwmt1._domainkey.example.com", RecordType::txt, Status::nxdomain)});
  EXPECT_VERDICT(r, RecordStatus::missing, "no TXT record at rwmt1._domainkey.example.com");
  r = judged(rec, {answer("rwmt1._domainkey.example.com", RecordType::txt, Status::timeout, "timeout")});
  EXPECT_VERDICT(r, RecordStatus::network_error, "failed: timeout");
}

// ---- DMARC ----

TEST(JudgeDmarc, AnyPolicyPasses) {
  const auto rec = make_record("dmarc", "_dmarc.example.com", "TXT", "v=DMARC1; p=none");
  for (const char* policy : {"none", "quarantine", "reject"}) {
    const std::string txt = std::string("v=DMARC1; p=") + policy + "; rua=mailto:d@example.com";
    const auto r = judged(rec, {txt_answer("_dmarc.example.com", {"unrelated", txt})});
    EXPECT_VERDICT(r, RecordStatus::pass, "");
    EXPECT_EQ(r.found, txt);
  }
}

TEST(JudgeDmarc, Invalid) {
  const auto rec = make_record("dmarc", "_dmarc.example.com", "TXT", "v=DMARC1; p=none");
  auto r = judged(rec, {txt_answer("_dmarc.example.com", {"v=DMARC1; p=maybe"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "DMARC record is invalid: invalid policy p=maybe");
  r = judged(rec, {txt_answer("_dmarc.example.com", {"v = DMARC1; pct=50"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "DMARC record is invalid: ");
}

TEST(JudgeDmarc, Several) {
  const auto rec = make_record("dmarc", "_dmarc.example.com", "TXT", "v=DMARC1; p=none");
  const auto r = judged(rec, {txt_answer("_dmarc.example.com", {"v=DMARC1; p=none", "v=DMARC1; p=reject"})});
  EXPECT_VERDICT(r, RecordStatus::fail, "several DMARC records");
}

TEST(JudgeDmarc, MissingAndNetworkError) {
  const auto rec = make_record("dmarc", "_dmarc.example.com", "TXT", "v=DMARC1; p=none");
  auto r = judged(rec, {txt_answer("_dmarc.example.com", {"v=spf1 -all"})});
  EXPECT_VERDICT(r, RecordStatus::missing, "no DMARC record at _dmarc.example.com");
  r = judged(rec, {answer("_dmarc.example.com", RecordType::txt, Status::nxdomain)});
  EXPECT_VERDICT(r, RecordStatus::missing, "no TXT record at _dmarc.example.com");
  r = judged(rec, {answer("_dmarc.example.com", RecordType::txt, Status::refused, "refused")});
  EXPECT_VERDICT(r, RecordStatus::network_error, "DNS TXT query for _dmarc.example.com failed: refused");
}

// ---- return_path ----

TEST(JudgeReturnPath, Cname) {
  const auto rec = make_record("return_path", "pm-bounces.example.com", "CNAME", "bounce.postroom.example");
  auto mx_via_cname = answer("pm-bounces.example.com", RecordType::mx, Status::nodata);
  mx_via_cname.cnames = {"bounce.postroom.example"};
  auto r = judged(rec, {cname_answer("pm-bounces.example.com", {"Bounce.Postroom.Example."}), mx_via_cname});
  EXPECT_VERDICT(r, RecordStatus::pass, "");
  EXPECT_EQ(r.found, "CNAME Bounce.Postroom.Example.");
  r = judged(rec, {cname_answer("pm-bounces.example.com", {"bounce.other.example"}),
                   answer("pm-bounces.example.com", RecordType::mx, Status::nodata)});
  EXPECT_VERDICT(r, RecordStatus::fail, "CNAME points to bounce.other.example, expected bounce.postroom.example");
}

TEST(JudgeReturnPath, MxInsteadOfCname) {
  const auto rec = make_record("return_path", "pm-bounces.example.com", "CNAME", "bounce.postroom.example");
  auto r =
      judged(rec, {answer("pm-bounces.example.com", RecordType::cname, Status::nodata),
                   mx_answer("pm-bounces.example.com", {{10, "bounce.postroom.example"}, {20, "backup.example"}})});
  EXPECT_VERDICT(r, RecordStatus::pass, "");
  EXPECT_EQ(r.found, "MX 10 bounce.postroom.example, MX 20 backup.example");
  // The CNAME query failed, but the MX answer shows there is no CNAME: the MX decides.
  r = judged(rec, {answer("pm-bounces.example.com", RecordType::cname, Status::timeout, "timeout"),
                   mx_answer("pm-bounces.example.com", {{10, "bounce.postroom.example"}})});
  EXPECT_VERDICT(r, RecordStatus::pass, "");
  r = judged(rec, {answer("pm-bounces.example.com", RecordType::cname, Status::nodata),
                   mx_answer("pm-bounces.example.com", {{10, "mx.other.example"}})});
  EXPECT_VERDICT(r, RecordStatus::fail, "MX at pm-bounces.example.com points to MX 10 mx.other.example");
}

TEST(JudgeReturnPath, MissingAndNetworkError) {
  const auto rec = make_record("return_path", "pm-bounces.example.com", "CNAME", "bounce.postroom.example");
  auto r = judged(rec, {answer("pm-bounces.example.com", RecordType::cname, Status::nxdomain),
                        answer("pm-bounces.example.com", RecordType::mx, Status::nxdomain)});
  EXPECT_VERDICT(r, RecordStatus::missing, "no CNAME or MX record at pm-bounces.example.com");
  r = judged(rec, {answer("pm-bounces.example.com", RecordType::cname, Status::nodata),
                   answer("pm-bounces.example.com", RecordType::mx, Status::servfail, "servfail")});
  EXPECT_VERDICT(r, RecordStatus::network_error, "DNS MX query for pm-bounces.example.com failed: servfail");
  r = judged(rec, {answer("pm-bounces.example.com", RecordType::cname, Status::timeout, "timeout"),
                   answer("pm-bounces.example.com", RecordType::mx, Status::timeout, "timeout")});
  EXPECT_VERDICT(r, RecordStatus::network_error, "DNS CNAME query for pm-bounces.example.com failed: timeout");
}

// ---- found, queries, all_required_pass ----

TEST(Judge, FoundIsCondensedPrintableAscii) {
  const std::string huge = "v=spf1 include:_spf.postroom.example " + std::string(600, 'x') + "\x01\xc3\xa9 ~all";
  const auto r = judged(make_record("spf", "example.com", "TXT", "v=spf1 include:_spf.postroom.example ~all"),
                        {txt_answer("example.com", {huge})});
  EXPECT_EQ(r.status, RecordStatus::fail) << describe(r);  // "x…" is not a mechanism
  EXPECT_LE(r.found.size(), max_found_length);
  EXPECT_EQ(r.found.substr(0, 20), "v=spf1 include:_spf.");
  EXPECT_NE(r.found.find("..."), std::string::npos);
  EXPECT_EQ(r.found.substr(r.found.size() - 8), "??? ~all");
}

TEST(Judge, UnknownKeysFallBackToTheirType) {
  auto r = judged(make_record("custom", "x.example.com", "TXT", "hello"), {txt_answer("x.example.com", {"hello"})});
  EXPECT_VERDICT(r, RecordStatus::pass, "");
  r = judged(make_record("custom", "x.example.com", "MX", "mx.example.net"),
             {mx_answer("x.example.com", {{5, "MX.example.net."}})});
  EXPECT_VERDICT(r, RecordStatus::pass, "");
  r = judged(make_record("custom", "x.example.com", "AAAA", "::1"), {});
  EXPECT_VERDICT(r, RecordStatus::fail, "unsupported record type");
}

TEST(QueriesFor, EachKey) {
  auto q = queries_for(make_record("verification", "abc.example.com", "CNAME", "v.postroom.example"));
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].name, "abc.example.com");
  EXPECT_EQ(q[0].type, RecordType::cname);
  q = queries_for(make_record("return_path", "rp.example.com", "CNAME", "b.postroom.example"));
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].type, RecordType::cname);
  EXPECT_EQ(q[1].type, RecordType::mx);
  EXPECT_EQ(q[1].name, "rp.example.com");
  for (const char* key : {"spf", "dkim1", "dkim2", "dkim_ed25519", "dmarc"}) {
    q = queries_for(make_record(key, "n.example.com", "TXT", "x"));
    ASSERT_EQ(q.size(), 1u) << key;
    EXPECT_EQ(q[0].type, RecordType::txt) << key;
  }
  EXPECT_TRUE(queries_for(make_record("custom", "n.example.com", "SRV", "x")).empty());
}

TEST(AllRequiredPass, OnlyRequiredRecordsCount) {
  std::vector<DnsRecord> records(3);
  for (auto& r : records) r.status = RecordStatus::pass;
  EXPECT_TRUE(all_required_pass(records));
  records[2].required = false;
  records[2].status = RecordStatus::fail;
  EXPECT_TRUE(all_required_pass(records));
  records[1].status = RecordStatus::network_error;
  EXPECT_FALSE(all_required_pass(records));
  records[1].status = RecordStatus::unchecked;
  EXPECT_FALSE(all_required_pass(records));
  EXPECT_TRUE(all_required_pass({}));
}

// ---- Against dnsmasq ----

namespace {

struct Keys {
  std::string dkim1, dkim2, other;
};

// What a domain must publish, in the shapes the domains service creates.
std::vector<DnsRecord> expected_records(const std::string& d, const Keys& keys) {
  auto rec = [&](std::string_view key, std::string name, std::string type, std::string value) {
    DnsRecord r;
    r.key = std::string(key);
    r.domain = name.empty() ? d : name + "." + d;
    r.name = name;
    r.type = std::move(type);
    r.value = std::move(value);
    return r;
  };
  auto records = std::vector<DnsRecord>{
      rec(record_key::verification, "pr7f3a", "CNAME", "verify.postroom.test"),
      rec(record_key::spf, "", "TXT", "v=spf1 include:_spf.postroom.test ~all"),
      rec(record_key::dkim1, "pr1._domainkey", "TXT", keys.dkim1),
      rec(record_key::dkim2, "pr2._domainkey", "TXT", keys.dkim2),
      rec(record_key::dmarc, "_dmarc", "TXT", "v=DMARC1; p=none; rua=mailto:dmarc@postroom.test"),
      rec(record_key::return_path, "pr-bounces", "CNAME", "bounces.postroom.test"),
      rec(record_key::link_verification, "pr-link", "CNAME", "t.postroom.test"),
  };
  records.back().required = false;
  return records;
}

// dnsmasq makes each comma-separated part of --txt-record one character-string.
std::string txt_option(const std::string& name, const std::string& value) {
  std::string out = "--txt-record=" + name;
  for (const auto& s : postroom::dkim::split_txt_strings(value)) out += "," + s;
  return out;
}

// How one record is published: as expected, or differently (type "MX" publishes an MX with `value` as host),
// or not at all.
struct Published {
  std::string type;
  std::string value;
};

std::vector<std::string> publish(const std::vector<DnsRecord>& records,
                                 const std::map<std::string, std::optional<Published>>& changes = {}) {
  std::vector<std::string> out;
  for (const auto& r : records) {
    Published p{r.type, r.value};
    if (auto it = changes.find(r.key); it != changes.end()) {
      if (!it->second) continue;
      p = *it->second;
    }
    if (p.type == "CNAME") {
      out.push_back("--cname=" + r.domain + "," + p.value);
    } else if (p.type == "MX") {
      out.push_back("--mx-host=" + r.domain + "," + p.value + ",10");
    } else {
      out.push_back(txt_option(r.domain, p.value));
    }
  }
  return out;
}

// One domain with one broken record, and what its check must say.
struct BrokenCase {
  std::string domain;
  std::string key;
  std::optional<Published> published;  // nullopt: not published
  RecordStatus status;
  std::string reason;
  std::vector<std::string> extra = {};  // more dnsmasq options for this domain
};

class Integration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ = new Keys{postroom::dkim::SigningKey::generate_rsa(2048).dns_txt_value(),
                     postroom::dkim::SigningKey::generate_rsa(2048).dns_txt_value(),
                     postroom::dkim::SigningKey::generate_rsa(2048).dns_txt_value()};
    cases_ = new std::vector<BrokenCase>{
        {"missing.vt.test", "link_verification", std::nullopt, RecordStatus::missing,
         "no CNAME record at pr-link.missing.vt.test"},
        {"nodmarc.vt.test", "dmarc", std::nullopt, RecordStatus::missing, "no TXT record at _dmarc.nodmarc.vt.test"},
        {"wrongcname.vt.test", "verification", Published{"CNAME", "other.example.net"}, RecordStatus::fail,
         "CNAME points to other.example.net, expected verify.postroom.test"},
        {"noinclude.vt.test", "spf", Published{"TXT", "v=spf1 include:_spf.google.com ~all"}, RecordStatus::fail,
         "SPF record does not include include:_spf.postroom.test"},
        {"twospf.vt.test",
         "spf",
         Published{"TXT", "v=spf1 include:_spf.postroom.test ~all"},
         RecordStatus::fail,
         "two SPF records at twospf.vt.test",
         {"--txt-record=twospf.vt.test,v=spf1 include:_spf.google.com ~all"}},
        {"wrongdkim.vt.test", "dkim2", Published{"TXT", keys_->other}, RecordStatus::fail,
         "DKIM key differs from the published selector key"},
        {"baddmarc.vt.test", "dmarc", Published{"TXT", "v=DMARC1; p=maybe"}, RecordStatus::fail,
         "DMARC record is invalid: invalid policy p=maybe"},
        {"mxwrong.vt.test", "return_path", Published{"MX", "mx.other.example"}, RecordStatus::fail,
         "MX at pr-bounces.mxwrong.vt.test points to MX 10 mx.other.example"},
    };
    std::vector<std::string> options = {"--local=/vt.test/"};
    for (const auto& d : {"good.vt.test", "Good2.VT.test", "good3.vt.test"}) {
      for (auto& o : publish(expected_records(d, *keys_))) options.push_back(std::move(o));
    }
    // A correct domain whose return path is an MX to our bounce host instead of a CNAME.
    for (auto& o : publish(expected_records("mxreturn.vt.test", *keys_),
                           {{"return_path", Published{"MX", "bounces.postroom.test"}}})) {
      options.push_back(std::move(o));
    }
    // The selector keys reached through CNAMEs into our own zone.
    for (auto& o : publish(
             expected_records("delegated.vt.test", *keys_),
             {{"dkim1", Published{"CNAME", "pr1.dkim.vt.test"}}, {"dkim2", Published{"CNAME", "pr2.dkim.vt.test"}}})) {
      options.push_back(std::move(o));
    }
    options.push_back(txt_option("pr1.dkim.vt.test", keys_->dkim1));
    options.push_back(txt_option("pr2.dkim.vt.test", keys_->dkim2));
    for (const auto& c : *cases_) {
      for (auto& o : publish(expected_records(c.domain, *keys_), {{c.key, c.published}}))
        options.push_back(std::move(o));
      for (const auto& o : c.extra) options.push_back(o);
    }
    dns_ = new postroom::testing::Dnsmasq(options);
  }
  static void TearDownTestSuite() {
    delete dns_;
    delete cases_;
    delete keys_;
    dns_ = nullptr;
    cases_ = nullptr;
    keys_ = nullptr;
  }
  static std::vector<std::string> good_domains() {
    return {"good.vt.test", "Good2.VT.test", "good3.vt.test", "mxreturn.vt.test", "delegated.vt.test"};
  }
  static postroom::dns::Resolver resolver() {
    postroom::dns::ResolverOptions o;
    o.servers = {dns_->server()};
    o.timeout = std::chrono::milliseconds(1000);
    return postroom::dns::Resolver(o);
  }
  static void expect_all_pass(const std::vector<DnsRecord>& records) {
    for (const auto& r : records) {
      EXPECT_EQ(r.status, RecordStatus::pass) << describe(r);
      EXPECT_EQ(r.reason, "") << describe(r);
      EXPECT_FALSE(r.found.empty()) << describe(r);
    }
    EXPECT_TRUE(all_required_pass(records));
  }
  static void expect_case(const BrokenCase& c, const std::vector<DnsRecord>& records) {
    for (const auto& r : records) {
      if (r.key == c.key) {
        EXPECT_EQ(r.status, c.status) << c.domain << ": " << describe(r);
        EXPECT_NE(r.reason.find(c.reason), std::string::npos)
            << c.domain << ": want \"" << c.reason << "\" in " << describe(r);
      } else {
        EXPECT_EQ(r.status, RecordStatus::pass) << c.domain << ": " << describe(r);
      }
    }
  }

  static postroom::testing::Dnsmasq* dns_;
  static Keys* keys_;
  static std::vector<BrokenCase>* cases_;
};
postroom::testing::Dnsmasq* Integration::dns_ = nullptr;
Keys* Integration::keys_ = nullptr;
std::vector<BrokenCase>* Integration::cases_ = nullptr;

}  // namespace

TEST_F(Integration, CorrectDomainsPassEveryRecord) {
  for (const auto& d : good_domains()) {
    SCOPED_TRACE(d);
    auto records = expected_records(d, *keys_);
    check_records(resolver(), records);
    expect_all_pass(records);
  }
}

TEST_F(Integration, FoundShowsWhatDnsServes) {
  auto records = expected_records("good.vt.test", *keys_);
  check_records(resolver(), records);
  ASSERT_EQ(records.size(), 7u);
  EXPECT_EQ(records[0].found, "verify.postroom.test");
  EXPECT_EQ(records[1].found, "v=spf1 include:_spf.postroom.test ~all");
  EXPECT_EQ(records[2].found.substr(0, 18), "v=DKIM1; k=rsa; p=");
  EXPECT_LE(records[2].found.size(), max_found_length);
  EXPECT_EQ(records[4].found, "v=DMARC1; p=none; rua=mailto:dmarc@postroom.test");
  EXPECT_EQ(records[5].found, "CNAME bounces.postroom.test");

  auto mx = expected_records("mxreturn.vt.test", *keys_);
  check_records(resolver(), mx);
  EXPECT_EQ(mx[5].found, "MX 10 bounces.postroom.test");
}

TEST_F(Integration, EachBrokenRecordFailsAlone) {
  for (const auto& c : *cases_) {
    SCOPED_TRACE(c.domain);
    auto records = expected_records(c.domain, *keys_);
    check_records(resolver(), records);
    expect_case(c, records);
    // Only link_verification is optional.
    EXPECT_EQ(all_required_pass(records), c.key == "link_verification") << c.domain;
  }
}

TEST_F(Integration, CheckManyMatchesOneByOne) {
  std::vector<std::vector<DnsRecord>> all;
  for (const auto& d : good_domains()) all.push_back(expected_records(d, *keys_));
  for (const auto& c : *cases_) all.push_back(expected_records(c.domain, *keys_));
  // Many copies, so that the bound matters.
  const std::size_t distinct = all.size();
  for (int copy = 0; copy < 20; ++copy) {
    for (std::size_t i = 0; i < distinct; ++i) all.push_back(all[i]);
  }
  std::vector<std::vector<DnsRecord>*> domains;
  for (auto& records : all) domains.push_back(&records);
  domains.push_back(nullptr);  // skipped
  check_many(resolver(), domains, 8);
  const std::size_t good = good_domains().size();
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::size_t which = i % distinct;
    if (which < good) {
      expect_all_pass(all[i]);
    } else {
      expect_case((*cases_)[which - good], all[i]);
    }
  }
}

TEST_F(Integration, RefusedNamesAreNetworkErrors) {
  // dnsmasq answers only for vt.test and forwards nothing: other names are refused.
  auto records = expected_records("elsewhere.invalid", *keys_);
  check_records(resolver(), records);
  for (const auto& r : records) {
    EXPECT_EQ(r.status, RecordStatus::network_error) << describe(r);
    EXPECT_NE(r.reason.find("refused"), std::string::npos) << describe(r);
  }
  EXPECT_FALSE(all_required_pass(records));
}

TEST(IntegrationTimeout, SilentServerGivesNetworkErrors) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  postroom::dns::ResolverOptions o;
  o.servers = {"127.0.0.1:" + std::to_string(ntohs(addr.sin_port))};
  o.timeout = std::chrono::milliseconds(200);
  o.tries = 1;
  auto records = expected_records("good.vt.test", Keys{kRsaA, kRsaA, kRsaA});
  const auto start = std::chrono::steady_clock::now();
  check_records(postroom::dns::Resolver(o), records);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ::close(fd);
  for (const auto& r : records) {
    EXPECT_EQ(r.status, RecordStatus::network_error) << describe(r);
    EXPECT_NE(r.reason.find("timeout"), std::string::npos) << describe(r);
  }
  EXPECT_LT(elapsed, std::chrono::seconds(3));  // all queries at once, not one after another
}
