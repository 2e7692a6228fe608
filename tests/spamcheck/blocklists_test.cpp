// The blacklists report (src/spamcheck/blocklists.*, links.*): the list format and the default lists, query
// names, link extraction from hostile markup (pure functions: nothing is fetched), then whole reports against
// dnsmasq on a free loopback port serving test copies of the default zones (Dnsbl*).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "../dns/dnsmasq_fixture.h"
#include "spamcheck/blocklists.h"
#include "spamcheck/links.h"

using namespace postroom::spamcheck;

namespace {

const Blocklist& list_named(const std::vector<Blocklist>& lists, const std::string& name) {
  const auto it = std::find_if(lists.begin(), lists.end(), [&](const Blocklist& l) { return l.name == name; });
  if (it == lists.end()) throw std::runtime_error("no list " + name);
  return *it;
}

std::string config_error(const std::string& text) {
  try {
    parse_blocklists(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST(Blocklists, DefaultsAreTheDocumentedLists) {
  const auto lists = default_blocklists();
  std::vector<std::string> names;
  for (const auto& l : lists) names.push_back(l.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Spamhaus ZEN", "SpamCop", "Barracuda", "PSBL", "Mailspike",
                                             "Spamhaus DBL", "SURBL", "URIBL"}));
  const Blocklist& zen = list_named(lists, "Spamhaus ZEN");
  EXPECT_EQ(zen.zone, "zen.spamhaus.org");
  EXPECT_EQ(zen.kind, Blocklist::ip);
  EXPECT_TRUE(zen.ipv6);
  EXPECT_FALSE(list_named(lists, "SpamCop").ipv6);
  EXPECT_EQ(list_named(lists, "Spamhaus DBL").kind, Blocklist::domain);
  EXPECT_EQ(list_named(lists, "URIBL").zone, "multi.uribl.com");
  for (const auto& l : lists) {
    EXPECT_EQ(l.url.substr(0, 8), "https://") << l.name;
    EXPECT_FALSE(l.codes.empty()) << l.name;
  }
  // The refusal codes are errors, never listings.
  const auto error_for = [](const Blocklist& l, std::uint32_t code) {
    return std::any_of(l.codes.begin(), l.codes.end(), [&](const ReturnCode& c) {
      return c.bit == 0 && code >= c.first && code <= c.last && c.verdict == ReturnCode::error;
    });
  };
  EXPECT_TRUE(error_for(zen, 0x7ffffffe));  // 127.255.255.254
  EXPECT_TRUE(error_for(zen, 0x7fffffff));
  EXPECT_TRUE(error_for(list_named(lists, "Spamhaus DBL"), 0x7f0001ff));  // 127.0.1.255
}

TEST(Blocklists, ParsesTheFormat) {
  const auto lists = parse_blocklists(
      "# comment\n"
      "[My List]\n"
      "kind = domain\n"
      "zone = Bl.Example.ORG.\n"
      "url = https://bl.example.org/lookup\n"
      "code 127.0.0.2 = listed spam source\n"
      "code 127.0.0.4-127.0.0.7 = listed  exploited = yes\n"
      "bit 8 = error refused\n"
      "\r\n"
      "[Other]\nkind = ip\nzone = other.example\nipv6 = yes\n");
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].name, "My List");
  EXPECT_EQ(lists[0].zone, "bl.example.org");
  EXPECT_EQ(lists[0].kind, Blocklist::domain);
  ASSERT_EQ(lists[0].codes.size(), 3u);
  EXPECT_EQ(lists[0].codes[0], (ReturnCode{0x7f000002, 0x7f000002, 0, ReturnCode::listed, "spam source"}));
  EXPECT_EQ(lists[0].codes[1], (ReturnCode{0x7f000004, 0x7f000007, 0, ReturnCode::listed, "exploited = yes"}));
  EXPECT_EQ(lists[0].codes[2], (ReturnCode{0, 0, 8, ReturnCode::error, "refused"}));
  EXPECT_TRUE(lists[1].ipv6);
  EXPECT_TRUE(lists[1].url.empty());
}

TEST(Blocklists, RejectsMalformedConfigWithTheLine) {
  EXPECT_NE(config_error("zone = x.example\n").find("line 1"), std::string::npos);
  EXPECT_NE(config_error("[A]\nkind = ip\n").find("no zone"), std::string::npos);
  EXPECT_NE(config_error("[A]\nzone = a.example\n").find("no kind"), std::string::npos);
  EXPECT_NE(config_error("[A]\nkind = ip\nzone = a.example\ncode 127.0.0.9-127.0.0.2 = listed x\n").find("line 4"),
            std::string::npos);
  EXPECT_NE(config_error("[A]\nkind = ip\nzone = a.example\ncode 127.0.0.2 = maybe x\n"), "accepted");
  EXPECT_NE(config_error("[A]\nkind = ip\nzone = a.example\ncode 127.0.0.2 = listed\n"), "accepted");
  EXPECT_NE(config_error("[A]\nkind = ip\nzone = a.example\nbit 3 = listed x\n"), "accepted");
  EXPECT_NE(config_error("[A]\nkind = ip\nzone = a.example\nbit 256 = listed x\n"), "accepted");
  EXPECT_NE(config_error("[A]\nkind = ip\nzone = not a zone\n"), "accepted");
  EXPECT_NE(config_error("[A]\nkind = ip\nzone = a.example\nurl = javascript:alert(1)\n"), "accepted");
  EXPECT_NE(config_error("[A]\nkind = domain\nzone = a.example\nipv6 = yes\n"), "accepted");
  EXPECT_NE(config_error("[A]\nkind = ip\nzone = a.example\ncolour = blue\n"), "accepted");
  EXPECT_NE(config_error("[]\n"), "accepted");
  EXPECT_TRUE(parse_blocklists("").empty());
}

TEST(Blocklists, QueryNames) {
  EXPECT_EQ(reversed_ip_query("192.0.2.99", "zen.spamhaus.org"), "99.2.0.192.zen.spamhaus.org");
  EXPECT_EQ(reversed_ip_query("2001:db8:1:2::abcd", "zen.spamhaus.org"),
            "d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org");
  EXPECT_EQ(reversed_ip_query("::ffff:198.51.100.7", "bl.example"), "7.100.51.198.bl.example");  // mapped → IPv4
  EXPECT_EQ(reversed_ip_query("[203.0.113.5]", "bl.example"), "5.113.0.203.bl.example");
  EXPECT_EQ(reversed_ip_query("not-an-ip", "bl.example"), "");
  EXPECT_EQ(reversed_ip_query("1.2.3", "bl.example"), "");
}

TEST(Blocklists, NonPublicAddresses) {
  EXPECT_EQ(non_public_reason("10.1.2.3"), "private address");
  EXPECT_EQ(non_public_reason("172.31.0.1"), "private address");
  EXPECT_EQ(non_public_reason("192.168.1.1"), "private address");
  EXPECT_EQ(non_public_reason("100.64.0.1"), "private address");
  EXPECT_EQ(non_public_reason("fd12:3456::1"), "private address");
  EXPECT_EQ(non_public_reason("127.0.0.1"), "loopback address");
  EXPECT_EQ(non_public_reason("::1"), "loopback address");
  EXPECT_EQ(non_public_reason("::ffff:10.0.0.1"), "private address");
  EXPECT_EQ(non_public_reason("169.254.1.1"), "link-local address");
  EXPECT_EQ(non_public_reason("fe80::1"), "link-local address");
  EXPECT_EQ(non_public_reason("224.0.0.1"), "multicast address");
  EXPECT_EQ(non_public_reason("198.51.100.1"), "reserved address");
  EXPECT_EQ(non_public_reason("2001:db8::1"), "reserved address");
  EXPECT_EQ(non_public_reason("8.8.8.8"), "");
  EXPECT_EQ(non_public_reason("172.32.0.1"), "");
  EXPECT_EQ(non_public_reason("2a00:1450:4001:800::200e"), "");
}

TEST(Links, ExtractsHostsFromHostileHtml) {
  const std::string html = R"html(<html><body>
    <a href="https://WWW.Example.COM:8443/path?q=1#frag">ok</a>
    <a href="http://paypal.com@evil-one.test/login">user info hides the host</a>
    <a href='HTTPS://Evil-Two.Test./'>upper case, trailing dot</a>
    <a href="h&#116;tp&colon;&sol;&sol;evil-three&period;test/x">character references</a>
    <a href="https:\\evil-four.test\path">backslashes</a>
    <a href="http://evil%2Dfive%2etest/">percent-encoded host</a>
    <a href="ht	tp://evil-six.test/">tab in the scheme</a>
    <a href="javascript:fetch('http://evil-seven.test')">js</a>
    <a href="http://192.168.1.1/admin">IP address</a><a href="http://[::1]/">IPv6</a>
    <a href="http://localhost/">single label</a><a href="mailto:x@mail.test">mail</a>
    <a href="ftp://files.test/">ftp</a><a href="//relative.test/">scheme-relative</a>
    <img src="https://www.example.com/pixel.gif">  duplicate
    Plain text: see http://plain.test/page, or (https://paren.test) now.
    <a href="http://b&uuml;cher.test/">not punycoded</a>
  </body></html>)html";
  const auto domains = link_domains(html);
  EXPECT_EQ(domains, (std::vector<std::string>{"www.example.com", "evil-one.test", "evil-two.test", "evil-three.test",
                                               "evil-four.test", "evil-five.test", "evil-six.test", "evil-seven.test",
                                               "plain.test", "paren.test"}));
}

TEST(Links, CapsAndDegenerateInput) {
  std::string many;
  for (int i = 0; i < 50; ++i) many += "http://host" + std::to_string(i) + ".test/ ";
  EXPECT_EQ(link_domains(many).size(), 20u);
  EXPECT_EQ(link_domains(many, 3), (std::vector<std::string>{"host0.test", "host1.test", "host2.test"}));
  EXPECT_TRUE(link_domains(many, 0).empty());
  EXPECT_TRUE(link_domains("").empty());
  EXPECT_TRUE(link_domains("http://").empty());
  EXPECT_TRUE(link_domains("https:").empty());
  EXPECT_TRUE(link_domains("&#x110000;&#99999999999999999999;&#;&").empty());
  EXPECT_TRUE(link_domains(std::string(100000, 'h')).empty());
  EXPECT_TRUE(link_domains("http://" + std::string(300, 'a') + ".test/").empty());  // a label over 63
}

TEST(Links, EmailDomainAndNormalization) {
  EXPECT_EQ(email_domain("Alice <alice@Mail.Example.COM>"), "mail.example.com");
  EXPECT_EQ(email_domain("bob@example.org"), "example.org");
  EXPECT_EQ(email_domain("\"a@b\" <c@d.example>"), "d.example");
  EXPECT_FALSE(email_domain("no address"));
  EXPECT_FALSE(email_domain("x@localhost"));
  EXPECT_EQ(normalize_domain("Example.COM."), "example.com");
  EXPECT_FALSE(normalize_domain("1.2.3.4"));
  EXPECT_FALSE(normalize_domain("a..b"));
  EXPECT_FALSE(normalize_domain("exa mple.com"));
  EXPECT_FALSE(normalize_domain(""));
}

// ---- against dnsmasq ----

namespace {

// The default lists with their zones moved under .test, so their real return-code semantics are exercised.
std::vector<Blocklist> test_lists() {
  auto lists = default_blocklists();
  for (auto& l : lists) {
    std::string zone = l.zone;
    std::replace(zone.begin(), zone.end(), '.', '-');
    l.zone = zone + ".test";  // zen-spamhaus-org.test …
  }
  Blocklist unserved;  // a zone dnsmasq has no authority for: it refuses the query
  unserved.name = "Unserved";
  unserved.zone = "unserved.example";
  unserved.url = "https://unserved.example/";
  lists.push_back(unserved);
  return lists;
}

const char* kIpv6Listed = "2a00:1450:4001:800::200e";

class Dnsbl : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string v6_name = reversed_ip_query(kIpv6Listed, "zen-spamhaus-org.test");
    dns_ = new postroom::testing::Dnsmasq({
        "--local=/zen-spamhaus-org.test/",
        "--local=/bl-spamcop-net.test/",
        "--local=/b-barracudacentral-org.test/",
        "--local=/psbl-surriel-com.test/",
        "--local=/bl-mailspike-net.test/",
        "--local=/dbl-spamhaus-org.test/",
        "--local=/multi-surbl-org.test/",
        "--local=/multi-uribl-com.test/",
        // 5.6.7.8: SBL and XBL on ZEN, listed on SpamCop; 5.6.7.10: ZEN refuses (public resolver);
        // 5.6.7.11: an answer outside 127/8; 5.6.7.12: a code ZEN does not define.
        "--address=/8.7.6.5.zen-spamhaus-org.test/127.0.0.2",
        "--address=/8.7.6.5.zen-spamhaus-org.test/127.0.0.4",
        "--host-record=8.7.6.5.bl-spamcop-net.test,127.0.0.2",
        "--host-record=10.7.6.5.zen-spamhaus-org.test,127.255.255.254",
        "--host-record=11.7.6.5.zen-spamhaus-org.test,10.0.0.1",
        "--host-record=12.7.6.5.zen-spamhaus-org.test,127.0.0.200",
        "--host-record=" + v6_name + ",127.0.0.3",
        // Domains: DBL spam domain, DBL refusal, SURBL bits 64+8, URIBL blocked (bit 1).
        "--host-record=spam-domain.example.dbl-spamhaus-org.test,127.0.1.2",
        "--host-record=spam-domain.example.multi-surbl-org.test,127.0.0.72",
        "--host-record=refused-domain.example.dbl-spamhaus-org.test,127.255.255.254",
        "--host-record=refused-domain.example.multi-uribl-com.test,127.0.0.1",
    });
  }
  static void TearDownTestSuite() {
    delete dns_;
    dns_ = nullptr;
  }
  static postroom::dns::Resolver resolver() {
    postroom::dns::ResolverOptions options;
    options.servers = {dns_->server()};
    options.timeout = std::chrono::milliseconds(1000);
    options.tries = 1;
    return postroom::dns::Resolver(options);
  }
  static const BlocklistCheck& check(const BlacklistReport& report, const std::string& list, const std::string& item) {
    for (const auto& c : report.checks) {
      if (c.list_name == list && c.item == item) return c;
    }
    throw std::runtime_error("no check " + list + " / " + item);
  }
  static postroom::testing::Dnsmasq* dns_;
};
postroom::testing::Dnsmasq* Dnsbl::dns_ = nullptr;

}  // namespace

TEST_F(Dnsbl, ListedIpHasItsMeanings) {
  const auto report = check_blacklists(resolver(), test_lists(), "5.6.7.8", {});
  EXPECT_TRUE(report.any_listed());
  const auto& zen = check(report, "Spamhaus ZEN", "5.6.7.8");
  EXPECT_EQ(zen.status, CheckStatus::listed);
  EXPECT_EQ(zen.query, "8.7.6.5.zen-spamhaus-org.test");
  std::vector<std::string> meanings;
  for (const auto& hit : zen.codes) meanings.push_back(hit.code + " " + hit.meaning);
  std::sort(meanings.begin(), meanings.end());
  EXPECT_EQ(meanings,
            (std::vector<std::string>{"127.0.0.2 SBL: Spamhaus SBL Data (direct spam source or spam operation)",
                                      "127.0.0.4 XBL: exploited host (bot, open proxy, malware)"}));
  EXPECT_EQ(check(report, "SpamCop", "5.6.7.8").status, CheckStatus::listed);
  EXPECT_EQ(check(report, "Barracuda", "5.6.7.8").status, CheckStatus::not_listed);
  EXPECT_EQ(check(report, "Unserved", "5.6.7.8").status, CheckStatus::error);
  EXPECT_TRUE(report.domains.empty());
  // One check per IP list, none for the domain lists (no domains given).
  EXPECT_EQ(report.checks.size(), 6u);
}

TEST_F(Dnsbl, UnlistedIp) {
  const auto report = check_blacklists(resolver(), test_lists(), "5.6.7.9", {});
  EXPECT_FALSE(report.any_listed());
  EXPECT_FALSE(report.all_failed());
  for (const auto& c : report.checks) {
    if (c.list_name == "Unserved") {
      EXPECT_EQ(c.status, CheckStatus::error);
      EXPECT_NE(c.detail.find("refused"), std::string::npos) << c.detail;
    } else {
      EXPECT_EQ(c.status, CheckStatus::not_listed) << c.list_name;
    }
  }
}

TEST_F(Dnsbl, RefusalsAndOddAnswersAreErrorsOrFlagged) {
  const auto refused = check_blacklists(resolver(), test_lists(), "5.6.7.10", {});
  const auto& zen = check(refused, "Spamhaus ZEN", "5.6.7.10");
  EXPECT_EQ(zen.status, CheckStatus::error);
  ASSERT_EQ(zen.codes.size(), 1u);
  EXPECT_EQ(zen.codes[0].code, "127.255.255.254");
  EXPECT_TRUE(zen.codes[0].error);
  EXPECT_NE(zen.codes[0].meaning.find("public or open resolver"), std::string::npos);
  EXPECT_FALSE(refused.any_listed());

  const auto outside = check_blacklists(resolver(), test_lists(), "5.6.7.11", {});
  EXPECT_EQ(check(outside, "Spamhaus ZEN", "5.6.7.11").status, CheckStatus::error);

  const auto unknown = check_blacklists(resolver(), test_lists(), "5.6.7.12", {});
  const auto& unknown_zen = check(unknown, "Spamhaus ZEN", "5.6.7.12");
  EXPECT_EQ(unknown_zen.status, CheckStatus::listed);
  EXPECT_EQ(unknown_zen.codes.at(0).meaning, "listed (unrecognised return code)");
}

TEST_F(Dnsbl, Ipv6UsesNibblesWhereTheListSupportsIt) {
  const auto report = check_blacklists(resolver(), test_lists(), kIpv6Listed, {});
  const auto& zen = check(report, "Spamhaus ZEN", kIpv6Listed);
  EXPECT_EQ(zen.status, CheckStatus::listed);
  EXPECT_EQ(zen.query, "e.0.0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.0.1.0.0.4.0.5.4.1.0.0.a.2.zen-spamhaus-org.test");
  EXPECT_EQ(zen.codes.at(0).meaning, "SBL CSS: low-reputation sending IP (Spamhaus CSS)");
  const auto& spamcop = check(report, "SpamCop", kIpv6Listed);
  EXPECT_EQ(spamcop.status, CheckStatus::skipped);
  EXPECT_TRUE(spamcop.query.empty());
  EXPECT_EQ(spamcop.detail, "not checked: the list does not answer IPv6 queries");
}

TEST_F(Dnsbl, PrivateAddressesAreNotLookedUp) {
  // A resolver that could not answer anything: a skipped check makes no query, so it cannot fail.
  postroom::dns::ResolverOptions options;
  options.servers = {"127.0.0.1:9"};
  options.timeout = std::chrono::milliseconds(200);
  options.tries = 1;
  for (const char* ip : {"10.1.2.3", "192.168.0.7", "fd00::5", "127.0.0.1"}) {
    const auto report = check_blacklists(postroom::dns::Resolver(options), default_blocklists(), ip, {});
    ASSERT_EQ(report.checks.size(), 5u) << ip;
    for (const auto& c : report.checks) {
      EXPECT_EQ(c.status, CheckStatus::skipped) << ip;
      EXPECT_TRUE(c.query.empty());
      EXPECT_EQ(c.detail.substr(0, 13), "not checked: ") << c.detail;
    }
  }
  const auto report = check_blacklists(postroom::dns::Resolver(options), default_blocklists(), "10.1.2.3", {});
  EXPECT_EQ(report.checks.front().detail, "not checked: private address");
  EXPECT_FALSE(report.all_failed());
}

TEST_F(Dnsbl, Domains) {
  const auto report = check_blacklists(resolver(), test_lists(), "",
                                       {"Spam-Domain.Example", "clean-domain.example", "refused-domain.example",
                                        "spam-domain.example.", "not a domain"});
  EXPECT_EQ(report.domains,
            (std::vector<std::string>{"spam-domain.example", "clean-domain.example", "refused-domain.example"}));
  // No IP: no IP checks. Three domain lists × (3 domains + 1 malformed).
  EXPECT_EQ(report.checks.size(), 12u);
  const auto& dbl = check(report, "Spamhaus DBL", "spam-domain.example");
  EXPECT_EQ(dbl.status, CheckStatus::listed);
  EXPECT_EQ(dbl.query, "spam-domain.example.dbl-spamhaus-org.test");
  EXPECT_EQ(dbl.codes.at(0).meaning, "DBL: spam domain");
  const auto& surbl = check(report, "SURBL", "spam-domain.example");
  EXPECT_EQ(surbl.status, CheckStatus::listed);
  std::vector<std::string> surbl_meanings;
  for (const auto& hit : surbl.codes) surbl_meanings.push_back(hit.meaning);
  EXPECT_EQ(surbl_meanings, (std::vector<std::string>{"SURBL PH: phishing", "SURBL ABUSE: spam and other abuse"}));
  EXPECT_EQ(check(report, "URIBL", "spam-domain.example").status, CheckStatus::not_listed);
  EXPECT_EQ(check(report, "Spamhaus DBL", "clean-domain.example").status, CheckStatus::not_listed);
  EXPECT_EQ(check(report, "Spamhaus DBL", "refused-domain.example").status, CheckStatus::error);
  const auto& uribl_blocked = check(report, "URIBL", "refused-domain.example");
  EXPECT_EQ(uribl_blocked.status, CheckStatus::error);
  EXPECT_TRUE(uribl_blocked.codes.at(0).error);
  EXPECT_EQ(check(report, "SURBL", "not a domain").status, CheckStatus::skipped);
}

TEST_F(Dnsbl, JsonIsMailtrapsShape) {
  const auto report =
      check_blacklists(resolver(), test_lists(), "5.6.7.8", {"spam-domain.example", "clean-domain.example"});
  const auto json = to_json(report);
  EXPECT_EQ(json.at("result").as_string(), "success");
  EXPECT_EQ(json.at("ip").as_string(), "5.6.7.8");
  EXPECT_EQ(json.at("domain").as_string(), "spam-domain.example");
  const auto& entries = json.at("report").as_array();
  ASSERT_EQ(entries.size(), test_lists().size());
  for (const auto& entry : entries) {
    const auto& e = entry.as_object();
    EXPECT_TRUE(e.at("name").is_string());
    EXPECT_TRUE(e.at("url").is_string());
    EXPECT_TRUE(e.at("in_black_list").is_bool());
    const bool listed = e.at("in_black_list").as_bool();
    const std::string name(e.at("name").as_string());
    EXPECT_EQ(listed, name == "Spamhaus ZEN" || name == "SpamCop" || name == "Spamhaus DBL" || name == "SURBL") << name;
  }
  const auto& zen_check = entries.at(0).at("checks").at(0);
  EXPECT_EQ(zen_check.at("status").as_string(), "listed");
  EXPECT_EQ(zen_check.at("type").as_string(), "ip");
  EXPECT_EQ(zen_check.at("query").as_string(), "8.7.6.5.zen-spamhaus-org.test");

  // Only failures: "error".
  postroom::dns::ResolverOptions options;
  options.servers = {dns_->server()};
  Blocklist unserved = test_lists().back();
  const auto failed = check_blacklists(postroom::dns::Resolver(options), {unserved}, "5.6.7.8", {});
  EXPECT_TRUE(failed.all_failed());
  EXPECT_EQ(to_json(failed).at("result").as_string(), "error");
}

TEST_F(Dnsbl, TwentyLinkDomainsAtOnce) {
  std::string html;
  for (int i = 0; i < 30; ++i) html += "<a href=\"https://site" + std::to_string(i) + ".example/\">x</a>";
  html += "<a href=\"https://spam-domain.example/\">x</a>";
  auto domains = link_domains(html);
  ASSERT_EQ(domains.size(), 20u);
  domains.insert(domains.begin(), "spam-domain.example");
  const auto start = std::chrono::steady_clock::now();
  const auto report = check_blacklists(resolver(), test_lists(), "5.6.7.9", domains);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(report.checks.size(), 6u + 3u * 21u);
  EXPECT_TRUE(report.any_listed());
}
