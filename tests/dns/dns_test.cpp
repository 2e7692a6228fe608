// postroom_dns: record parsers (unit) and the resolver against a real dnsmasq on loopback (Integration*).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "dns/records.h"
#include "dns/resolver.h"
#include "dnsmasq_fixture.h"

using namespace postroom::dns;

TEST(TagList, ParsesAndRejects) {
  auto t = parse_tag_list(" v=DKIM1 ; k = rsa;p=AB\r\n CD; ");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[1].first, "k");
  EXPECT_EQ((*t)[1].second, "rsa");
  EXPECT_EQ((*t)[2].second, "AB\r\n CD");
  EXPECT_FALSE(parse_tag_list("v=1; v=2"));
  EXPECT_FALSE(parse_tag_list("novalue"));
  EXPECT_FALSE(parse_tag_list("1a=b"));
  EXPECT_TRUE(parse_tag_list(""));
}

TEST(Spf, ParsesTerms) {
  std::string err;
  auto r = parse_spf(
      "v=spf1 include:_spf.Example.COM. ip4:192.0.2.1/32 ip6:2001:DB8::1 ip4:198.51.100.0/24 a mx:mx.example.com/24 "
      "-all redirect=_spf.example.net",
      &err);
  ASSERT_TRUE(r) << err;
  ASSERT_EQ(r->terms.size(), 8u);
  EXPECT_EQ(r->terms[0], (SpfTerm{'+', "include", "_spf.example.com"}));
  EXPECT_EQ(r->terms[1], (SpfTerm{'+', "ip4", "192.0.2.1"}));
  EXPECT_EQ(r->terms[2], (SpfTerm{'+', "ip6", "2001:db8::1"}));
  EXPECT_EQ(r->terms[3], (SpfTerm{'+', "ip4", "198.51.100.0/24"}));
  EXPECT_EQ(r->terms[4], (SpfTerm{'+', "a", ""}));
  EXPECT_EQ(r->terms[5], (SpfTerm{'+', "mx", "mx.example.com/24"}));
  EXPECT_EQ(r->terms[6], (SpfTerm{'-', "all", ""}));
  EXPECT_EQ(r->terms[7], (SpfTerm{'=', "redirect", "_spf.example.net"}));
  EXPECT_TRUE(r->has_include("_SPF.example.com."));
  EXPECT_FALSE(r->has_include("example.com"));
  EXPECT_EQ(r->all_qualifier(), '-');
}

TEST(Spf, RejectsMalformed) {
  EXPECT_FALSE(parse_spf("v=spf10 -all"));
  EXPECT_FALSE(parse_spf("spf1 -all"));
  EXPECT_FALSE(parse_spf("v=spf1 ip4:999.1.1.1 -all"));
  EXPECT_FALSE(parse_spf("v=spf1 ip4:1.2.3.4/33"));
  EXPECT_FALSE(parse_spf("v=spf1 include: -all"));
  EXPECT_FALSE(parse_spf("v=spf1 foo:bar -all"));
  EXPECT_FALSE(parse_spf("v=spf1 all:x"));
  EXPECT_TRUE(parse_spf("V=SPF1"));
}

TEST(Spf, SemanticEquality) {
  auto a = parse_spf("v=spf1 include:a.example include:b.example ip4:192.0.2.1 ~all");
  auto b = parse_spf("v=spf1  +include:B.example. ip4:192.0.2.1/32 include:a.example ~all");
  auto c = parse_spf("v=spf1 include:a.example include:b.example ip4:192.0.2.1 -all");
  auto d = parse_spf("v=spf1 include:a.example ip4:192.0.2.1 ~all");
  ASSERT_TRUE(a && b && c && d);
  EXPECT_TRUE(spf_equivalent(*a, *b));
  EXPECT_FALSE(spf_equivalent(*a, *c));
  EXPECT_FALSE(spf_equivalent(*a, *d));
}

TEST(Spf, SelectsTheOneRecord) {
  std::string err;
  EXPECT_EQ(select_spf({"google-site-verification=x", "v=spf1 -all"}, &err), "v=spf1 -all");
  EXPECT_FALSE(select_spf({"v=spf1 -all", "v=spf1 ~all"}, &err));
  EXPECT_EQ(err, "more than one SPF record");
  EXPECT_FALSE(select_spf({"v=spf10 -all"}, &err));
  EXPECT_EQ(err, "no SPF record");
}

TEST(DkimKey, ParsesAndCompares) {
  std::string err;
  auto k = parse_dkim_key("v=DKIM1; k=rsa; h=sha256; t=y:s; p=MIIBIjANBgkq hkiG9w0BAQEF", &err);
  ASSERT_TRUE(k) << err;
  EXPECT_EQ(k->key_type, "rsa");
  EXPECT_EQ(k->public_key, "MIIBIjANBgkqhkiG9w0BAQEF");
  EXPECT_EQ(k->hash_algorithms, std::vector<std::string>{"sha256"});
  EXPECT_EQ(k->flags, (std::vector<std::string>{"y", "s"}));
  auto same = parse_dkim_key("p=MIIBIjANBgkqhkiG9w0B\r\n\tAQEF");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->key_type, "rsa");  // the default
  EXPECT_TRUE(dkim_keys_equal(*k, *same));
  auto other = parse_dkim_key("v=DKIM1; k=ed25519; p=MIIBIjANBgkqhkiG9w0BAQEF");
  ASSERT_TRUE(other);
  EXPECT_FALSE(dkim_keys_equal(*k, *other));
  auto revoked = parse_dkim_key("v=DKIM1; p=");
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(revoked->revoked());
  EXPECT_FALSE(parse_dkim_key("k=rsa; v=DKIM1; p=AAAA"));  // v= must be first
  EXPECT_FALSE(parse_dkim_key("v=DKIM1; k=dsa; p=AAAA"));
  EXPECT_FALSE(parse_dkim_key("v=DKIM1; k=rsa"));
  EXPECT_FALSE(parse_dkim_key("v=DKIM1; p=AA!A"));
}

TEST(Dmarc, ParsesPolicies) {
  std::string err;
  auto d = parse_dmarc(
      "v=DMARC1; p=Quarantine; sp=reject; pct=50; adkim=s; rua=mailto:a@example.com, mailto:b@example.com", &err);
  ASSERT_TRUE(d) << err;
  EXPECT_EQ(d->policy, "quarantine");
  EXPECT_EQ(d->subdomain_policy, "reject");
  EXPECT_EQ(d->percent, 50);
  EXPECT_EQ(d->adkim, "s");
  EXPECT_EQ(d->aspf, "r");
  EXPECT_EQ(d->rua, (std::vector<std::string>{"mailto:a@example.com", "mailto:b@example.com"}));
  EXPECT_FALSE(parse_dmarc("p=none; v=DMARC1"));
  EXPECT_FALSE(parse_dmarc("v=DMARC1; p=maybe"));
  EXPECT_FALSE(parse_dmarc("v=DMARC1; sp=none"));
  EXPECT_FALSE(parse_dmarc("v=DMARC1; p=none; pct=101"));
  EXPECT_FALSE(parse_dmarc("v=DMARC1; p=none; aspf=x"));
  EXPECT_FALSE(parse_dmarc("v=dmarc1; p=none"));
}

TEST(ServerList, ParsesAndValidates) {
  EXPECT_EQ(parse_server_list("127.0.0.1:5353, 127.0.0.2,[::1]:53,::1"),
            (std::vector<std::string>{"127.0.0.1:5353", "127.0.0.2:53", "[::1]:53", "[::1]:53"}));
  EXPECT_THROW(parse_server_list("127.0.0.1:0"), std::invalid_argument);
  EXPECT_THROW(parse_server_list("127.0.0.1:99999"), std::invalid_argument);
  EXPECT_THROW(parse_server_list("dns.example:53"), std::invalid_argument);
  EXPECT_THROW(parse_server_list("[::1:53"), std::invalid_argument);
}

namespace {

std::string long_string(char c, std::size_t n) { return std::string(n, c); }

class Integration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dns_ = new postroom::testing::Dnsmasq({
        "--local=/example.test/",
        "--txt-record=example.test,v=spf1 include:_spf.postroom.test ~all",
        "--txt-record=example.test,google-site-verification=abc",
        "--txt-record=_dmarc.example.test,v=DMARC1; p=reject",
        // dnsmasq makes each comma-separated part one character-string.
        "--txt-record=long.example.test," + long_string('a', 255) + "," + long_string('b', 255) + ",tail",
        "--cname=s1._domainkey.example.test,s1.dkim.example.test",
        "--txt-record=s1.dkim.example.test,v=DKIM1; k=rsa; p=AAAA",
        "--mx-host=example.test,mx2.example.test,20",
        "--mx-host=example.test,mx1.example.test,10",
        "--host-record=host.example.test,127.0.0.10,::10",
    });
  }
  static void TearDownTestSuite() {
    delete dns_;
    dns_ = nullptr;
  }
  static Resolver resolver() {
    ResolverOptions o;
    o.servers = {dns_->server()};
    o.timeout = std::chrono::milliseconds(1000);
    return Resolver(o);
  }
  static postroom::testing::Dnsmasq* dns_;
};
postroom::testing::Dnsmasq* Integration::dns_ = nullptr;

}  // namespace

TEST_F(Integration, Txt) {
  auto a = resolver().resolve("example.test", RecordType::txt);
  ASSERT_EQ(a.status, Status::ok) << a.error;
  ASSERT_EQ(a.txt.size(), 2u);
  auto joined = a.txt_joined();
  std::sort(joined.begin(), joined.end());
  EXPECT_EQ(joined[0], "google-site-verification=abc");
  EXPECT_EQ(joined[1], "v=spf1 include:_spf.postroom.test ~all");
  auto spf = select_spf(a.txt_joined());
  ASSERT_TRUE(spf);
  auto parsed = parse_spf(*spf);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->has_include("_spf.postroom.test"));

  auto d = resolver().resolve("_dmarc.example.test", RecordType::txt);
  ASSERT_EQ(d.status, Status::ok);
  ASSERT_EQ(d.txt.size(), 1u);
  EXPECT_TRUE(parse_dmarc(d.txt[0].joined()));
}

TEST_F(Integration, LongTxtInSeveralStrings) {
  auto a = resolver().resolve("long.example.test", RecordType::txt);
  ASSERT_EQ(a.status, Status::ok) << a.error;
  ASSERT_EQ(a.txt.size(), 1u);
  ASSERT_EQ(a.txt[0].strings.size(), 3u);
  EXPECT_EQ(a.txt[0].strings[0], long_string('a', 255));
  EXPECT_EQ(a.txt[0].strings[2], "tail");
  EXPECT_EQ(a.txt[0].joined(), long_string('a', 255) + long_string('b', 255) + "tail");
}

TEST_F(Integration, CnameAndFollowedTxt) {
  auto c = resolver().resolve("s1._domainkey.example.test", RecordType::cname);
  ASSERT_EQ(c.status, Status::ok) << c.error;
  EXPECT_EQ(c.cnames, std::vector<std::string>{"s1.dkim.example.test"});
  auto t = resolver().resolve("s1._domainkey.example.test", RecordType::txt);
  ASSERT_EQ(t.status, Status::ok) << t.error;
  ASSERT_EQ(t.txt.size(), 1u);
  auto key = parse_dkim_key(t.txt[0].joined());
  ASSERT_TRUE(key);
  EXPECT_EQ(key->public_key, "AAAA");
}

TEST_F(Integration, Mx) {
  auto a = resolver().resolve("example.test", RecordType::mx);
  ASSERT_EQ(a.status, Status::ok) << a.error;
  ASSERT_EQ(a.mx.size(), 2u);
  EXPECT_EQ(a.mx[0].preference, 10);
  EXPECT_EQ(a.mx[0].host, "mx1.example.test");
  EXPECT_EQ(a.mx[1].preference, 20);
  EXPECT_EQ(a.mx[1].host, "mx2.example.test");
}

TEST_F(Integration, AddressRecords) {
  auto a = resolver().resolve("host.example.test", RecordType::a);
  ASSERT_EQ(a.status, Status::ok) << a.error;
  EXPECT_EQ(a.addresses, std::vector<std::string>{"127.0.0.10"});
  auto aaaa = resolver().resolve("host.example.test", RecordType::aaaa);
  ASSERT_EQ(aaaa.status, Status::ok) << aaaa.error;
  EXPECT_EQ(aaaa.addresses, std::vector<std::string>{"::10"});
}

TEST_F(Integration, NxdomainAndNodata) {
  auto nx = resolver().resolve("missing.example.test", RecordType::txt);
  EXPECT_EQ(nx.status, Status::nxdomain);
  auto nodata = resolver().resolve("host.example.test", RecordType::mx);
  EXPECT_EQ(nodata.status, Status::nodata);
  auto refused = resolver().resolve("elsewhere.invalid", RecordType::a);  // not ours, no upstream
  EXPECT_EQ(refused.status, Status::refused) << refused.error;
}

TEST_F(Integration, BatchWithBoundedConcurrency) {
  std::vector<Query> queries;
  for (int i = 0; i < 300; ++i) {
    queries.push_back({"example.test", RecordType::mx});
    queries.push_back({"missing" + std::to_string(i) + ".example.test", RecordType::txt});
    queries.push_back({"long.example.test", RecordType::txt});
  }
  auto answers = resolver().resolve_all(queries, 16);
  ASSERT_EQ(answers.size(), queries.size());
  for (std::size_t i = 0; i < answers.size(); ++i) {
    EXPECT_EQ(answers[i].query.name, queries[i].name);
    EXPECT_EQ(answers[i].status, i % 3 == 1 ? Status::nxdomain : Status::ok) << i;
  }
  EXPECT_EQ(answers[2].txt.at(0).joined().size(), 514u);
}

TEST(ResolverTimeout, SilentServerTimesOut) {
  // A bound UDP socket that never answers.
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ResolverOptions o;
  o.servers = {"127.0.0.1:" + std::to_string(ntohs(addr.sin_port))};
  o.timeout = std::chrono::milliseconds(200);
  o.tries = 1;
  const auto start = std::chrono::steady_clock::now();
  auto a = Resolver(o).resolve("example.test", RecordType::txt);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ::close(fd);
  EXPECT_EQ(a.status, Status::timeout) << a.error;
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}
