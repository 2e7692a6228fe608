// Pure pieces of live sending: raw header edits, relay URLs, retry hints, mailbox providers, inbound addresses,
// the unsubscribe footer.
#include <gtest/gtest.h>

#include "mime/raw_headers.h"
#include "sending/delivery.h"
#include "sending/inbound.h"
#include "sending/service.h"

namespace postroom {
namespace {

const std::string kRaw =
    "From: a@example.com\r\nX-MT-Category: welcome\r\nSubject: folded\r\n  subject line\r\nx-mt-custom-variables: "
    "{\"a\":1}\r\nBcc: hidden@example.com\r\n\r\nX-MT-Category: in the body stays\r\n";

TEST(SendingRawHeaders, FindsUnfoldedCaseInsensitive) {
  EXPECT_EQ(mime::raw_header(kRaw, "subject"), "folded  subject line");
  EXPECT_EQ(mime::raw_header(kRaw, "X-MT-Custom-Variables"), "{\"a\":1}");
  EXPECT_FALSE(mime::raw_header(kRaw, "To"));
  // Fields in the body are not headers.
  EXPECT_EQ(mime::raw_header("A: 1\r\n\r\nB: 2\r\n", "B"), std::nullopt);
}

TEST(SendingRawHeaders, RemovesFieldsWithContinuationsAndKeepsTheBody) {
  const std::string out = mime::remove_headers(kRaw, {"x-mt-category", "X-MT-Custom-Variables", "bcc", "Subject"});
  EXPECT_EQ(out, "From: a@example.com\r\n\r\nX-MT-Category: in the body stays\r\n");
}

TEST(SendingRawHeaders, PrependedFieldsCannotInject) {
  const std::string out = mime::prepend_headers("Subject: x\r\n\r\nbody", {{"X-A", "1\r\nBcc: evil@example.com"}});
  EXPECT_EQ(out, "X-A: 1Bcc: evil@example.com\r\nSubject: x\r\n\r\nbody");
}

TEST(SendingRelay, ParsesUrls) {
  auto relay = sending::parse_relay_url("smtp://user:p%40ss@relay.example.com:2525");
  EXPECT_EQ(relay.host, "relay.example.com");
  EXPECT_EQ(relay.port, 2525);
  EXPECT_EQ(relay.username, "user");
  EXPECT_EQ(relay.password, "p%40ss");
  relay = sending::parse_relay_url("smtps://[::1]");
  EXPECT_EQ(relay.host, "::1");
  EXPECT_EQ(relay.port, 465);
  EXPECT_EQ(relay.tls, "implicit");
  relay = sending::parse_relay_url("smtp://relay.example.com");
  EXPECT_EQ(relay.port, 587);
  EXPECT_TRUE(relay.username.empty());
  EXPECT_THROW(sending::parse_relay_url("http://relay.example.com"), std::invalid_argument);
  EXPECT_THROW(sending::parse_relay_url("smtp://"), std::invalid_argument);
}

TEST(SendingRetryHints, ReadsSecondsAndMinutes) {
  EXPECT_EQ(sending::retry_hint_seconds("451 4.7.1 Greylisted, please try again in 300 seconds"), 300);
  EXPECT_EQ(sending::retry_hint_seconds("421 Try again in 5 minutes"), 300);
  EXPECT_EQ(sending::retry_hint_seconds("450 retry after 90s"), 90);
  EXPECT_FALSE(sending::retry_hint_seconds("452 4.2.2 Mailbox full"));
}

TEST(SendingProviders, ByMxHost) {
  // gmail.com's own MX is Gmail; custom domains on Google use aspmx.l.google.com (Workspace).
  EXPECT_EQ(sending::mailbox_provider("gmail-smtp-in.l.google.com"), "Google");
  EXPECT_EQ(sending::mailbox_provider("ASPMX.L.GOOGLE.COM"), "Google Workspace");
  EXPECT_EQ(sending::mailbox_provider("example-com.mail.protection.outlook.com"), "Office 365");
  EXPECT_EQ(sending::mailbox_provider("mta5.am0.yahoodns.net"), "Yahoo");
  EXPECT_EQ(sending::mailbox_provider("mx01.mail.icloud.com"), "iCloud");
  EXPECT_EQ(sending::mailbox_provider("mx.example.net"), "");
  EXPECT_EQ(sending::mailbox_provider("notgoogle.com"), "");
}

TEST(SendingInbound, AddressesMapToTheirMeaning) {
  using Kind = sending::InboundAddress::Kind;
  const std::string id = "0c7fd939-02cf-41ed-88c2-0a58a9feac02";
  auto a = sending::classify_inbound_address("b-" + id);
  EXPECT_EQ(a.kind, Kind::bounce);
  EXPECT_EQ(a.message_id, id);
  a = sending::classify_inbound_address("UNSUBSCRIBE+" + id);
  EXPECT_EQ(a.kind, Kind::unsubscribe);
  EXPECT_EQ(a.message_id, id);
  EXPECT_EQ(sending::classify_inbound_address("fbl").kind, Kind::complaint);
  EXPECT_EQ(sending::classify_inbound_address("b-not-a-uuid").kind, Kind::none);
  EXPECT_EQ(sending::classify_inbound_address("postmaster").kind, Kind::none);
  EXPECT_EQ(sending::classify_inbound_address("b-" + id + "x").kind, Kind::none);
}

TEST(SendingDomains, DomainOfAnAddress) {
  EXPECT_EQ(sending::domain_of("App <app@Example.COM>"), "example.com");
  EXPECT_EQ(sending::domain_of("nobody"), "");
}

TEST(SendingFooter, LinksTheUrl) {
  EXPECT_NE(sending::unsubscribe_footer_html("https://p.example/unsubscribe/x")
                .find("href=\"https://p.example/unsubscribe/x\""),
            std::string::npos);
  EXPECT_NE(sending::unsubscribe_footer_text("https://p.example/unsubscribe/x").find("https://p.example/unsubscribe/x"),
            std::string::npos);
}

}  // namespace
}  // namespace postroom
