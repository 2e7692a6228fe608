// Pure parts of the sandbox QA tools: the List-Unsubscribe check of tech info and the rewrite of forwarded mail.
#include <gtest/gtest.h>

#include "mime/message.h"
#include "mime/raw_headers.h"
#include "sandbox/forwarding.h"
#include "sandbox/tech_info.h"

namespace postroom::sandbox {
namespace {

const std::string kSignedBoth =
    "v=1; a=rsa-sha256; d=example.com; s=s1; h=From:To:Subject:List-Unsubscribe:\r\n List-Unsubscribe-Post; bh=x; b=y";

TEST(ListUnsubscribe, AbsentHeaderIsReported) {
  const auto check = check_list_unsubscribe("", "", {});
  EXPECT_FALSE(check.present);
  EXPECT_FALSE(check.one_click);
  ASSERT_EQ(check.problems.size(), 1u);
  EXPECT_NE(check.problems[0].find("No List-Unsubscribe header"), std::string::npos);
}

TEST(ListUnsubscribe, OneClickNeedsPostHttpsAndDkimOverBothHeaders) {
  const auto ready = check_list_unsubscribe("<https://example.com/u/1>, <mailto:u@example.com?subject=x>",
                                            "List-Unsubscribe=One-Click", {kSignedBoth});
  EXPECT_TRUE(ready.present);
  EXPECT_TRUE(ready.one_click);
  EXPECT_TRUE(ready.problems.empty()) << ready.problems.front();
  EXPECT_EQ(ready.https_uris, std::vector<std::string>{"https://example.com/u/1"});
  EXPECT_EQ(ready.mailto_uris, std::vector<std::string>{"mailto:u@example.com?subject=x"});

  const auto unsigned_headers =
      check_list_unsubscribe("<https://example.com/u/1>", "List-Unsubscribe=One-Click", {"v=1; h=From:To; b=x"});
  EXPECT_FALSE(unsigned_headers.one_click);
  const auto wrong_post = check_list_unsubscribe("<https://example.com/u/1>", "One-Click", {kSignedBoth});
  EXPECT_FALSE(wrong_post.one_click);
  EXPECT_NE(wrong_post.problems.front().find("exactly \"List-Unsubscribe=One-Click\""), std::string::npos);
  const auto http_only = check_list_unsubscribe("<http://example.com/u>", "List-Unsubscribe=One-Click", {kSignedBoth});
  EXPECT_FALSE(http_only.one_click);
  const auto mailto_only = check_list_unsubscribe("<mailto:u@example.com>", "", {});
  EXPECT_FALSE(mailto_only.one_click);
  EXPECT_TRUE(mailto_only.present);
}

TEST(ListUnsubscribe, MalformedSyntaxIsNamed) {
  const auto bare = check_list_unsubscribe("https://example.com/u", "", {});
  EXPECT_FALSE(bare.one_click);
  bool named = false;
  for (const auto& p : bare.problems) named = named || p.find("angle brackets") != std::string::npos;
  EXPECT_TRUE(named);
  const auto odd = check_list_unsubscribe("<ftp://example.com/u>", "", {});
  EXPECT_NE(odd.problems.front().find("Unsupported unsubscribe URI"), std::string::npos);
}

TEST(ForwardRewrite, FromReplacedOriginalKeptSignaturesDropped) {
  const std::string raw =
      "DKIM-Signature: v=1; a=rsa-sha256; d=shop.example;\r\n h=From:To; b=abc\r\n"
      "From: \"Shop\" <news@shop.example>\r\nSender: bounces@shop.example\r\nTo: qa@example.com\r\n"
      "X-Mailtrap-Original-From: spoofed@evil.example\r\nSubject: Sale\r\n\r\nBody\r\n";
  const std::string out = rewrite_for_forwarding(raw, "user-i7@forward.example");
  EXPECT_EQ(mime::raw_header(out, "From"), "Postroom Forward <user-i7@forward.example>");
  EXPECT_EQ(mime::raw_header(out, "X-Mailtrap-Original-From"), "\"Shop\" <news@shop.example>");
  EXPECT_EQ(mime::raw_header(out, "DKIM-Signature"), std::nullopt);
  EXPECT_EQ(mime::raw_header(out, "Sender"), std::nullopt);
  EXPECT_EQ(mime::raw_header(out, "To"), "qa@example.com");
  EXPECT_EQ(mime::raw_header(out, "Subject"), "Sale");
  EXPECT_NE(out.find("\r\n\r\nBody\r\n"), std::string::npos);
  const auto parsed = mime::parse_message(out);
  int from_headers = 0, original = 0;
  for (const auto& h : parsed.headers) {
    from_headers += h.name == "From";
    original += h.name == "X-Mailtrap-Original-From";
  }
  EXPECT_EQ(from_headers, 1);
  EXPECT_EQ(original, 1) << "a spoofed original-from header is replaced, not kept";
}

TEST(ForwardRewrite, NoInjectionThroughTheOriginalFrom) {
  // A folded From stays one header value; no CR or LF of it can start a field of its own.
  const std::string raw = "From: a@example.com,\r\n b@example.com\r\nSubject: s\r\n\r\nx\r\n";
  const std::string out = rewrite_for_forwarding(raw, "f@forward.example");
  EXPECT_EQ(mime::raw_header(out, "X-Mailtrap-Original-From"), "a@example.com, b@example.com");
  EXPECT_EQ(out.find("\r\nb@example.com"), std::string::npos);
}

TEST(ForwardAddress, Shape) { EXPECT_EQ(forward_from_address("abc123", 42, "fwd.example"), "abc123-i42@fwd.example"); }

}  // namespace
}  // namespace postroom::sandbox
