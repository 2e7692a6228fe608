#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "mime/message.h"

using namespace postroom::mime;

namespace {

std::string crlf(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

const std::string kMixed = crlf(R"(From: =?UTF-8?B?SsO8cmdlbg==?= <juergen@example.com>
To: Alice <alice@example.com>, "Bob, Jr." <BOB@example.com>
Cc: Team: carol@example.com, dave@example.com;, not an address
Reply-To: replies@example.com
Subject: =?ISO-8859-1?Q?Caf=E9?= au lait
Date: Thu, 18 Oct 2012 22:48:39 -0700
Message-ID: <abc.123@example.com>
In-Reply-To: <parent@example.com>
X-Mailer: Tester 1.0
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe
--alt
Content-Type: text/html; charset=utf-8

<p>Hi <img src="cid:logo@x"></p>
--alt--
--rel
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-ID: <logo@x>

iVBORw0KGgo=
--rel--
--outer
Content-Type: application/pdf; name="=?UTF-8?B?UmVwb3J0IMOcLnBkZg==?="
Content-Disposition: attachment; filename*=UTF-8''Report%20%C3%9C.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer--
)");

}  // namespace

TEST(MimeParse, SummarizesAMultipartMessage) {
  const ParsedMessage m = parse_message(kMixed);
  ASSERT_TRUE(m.from);
  EXPECT_EQ(m.from->name, "Jürgen");
  EXPECT_EQ(m.from->email, "juergen@example.com");
  ASSERT_EQ(m.to.size(), 2u);
  EXPECT_EQ(m.to[1].name, "Bob, Jr.");
  EXPECT_EQ(m.to[1].email, "BOB@example.com");
  // Group members are recipients; the trailing garbage is not an address.
  ASSERT_GE(m.cc.size(), 2u);
  EXPECT_EQ(m.cc[0].email, "carol@example.com");
  EXPECT_EQ(m.cc[1].email, "dave@example.com");
  ASSERT_EQ(m.reply_to.size(), 1u);
  EXPECT_EQ(m.subject, "Café au lait");
  ASSERT_TRUE(m.date);
  EXPECT_EQ(*m.date, 1350625719);
  EXPECT_EQ(m.message_id, "abc.123@example.com");
  EXPECT_EQ(m.in_reply_to, "<parent@example.com>");
  EXPECT_EQ(m.x_mailer, "Tester 1.0");
  EXPECT_EQ(m.size, kMixed.size());
  ASSERT_TRUE(m.text_body);
  EXPECT_EQ(*m.text_body, "Grüße");
  EXPECT_EQ(m.text_body_size, std::string("Grüße").size());
  ASSERT_TRUE(m.html_body);
  EXPECT_NE(m.html_body->find("cid:logo@x"), std::string::npos);

  ASSERT_EQ(m.attachments.size(), 2u);
  EXPECT_EQ(m.attachments[0].content_type, "image/png");
  EXPECT_EQ(m.attachments[0].content_id, "logo@x");
  EXPECT_EQ(m.attachments[0].disposition, "inline");
  EXPECT_EQ(m.attachments[0].transfer_encoding, "base64");
  EXPECT_EQ(m.attachments[0].size, 8u);
  EXPECT_EQ(m.attachments[1].filename, "Report Ü.pdf");
  EXPECT_EQ(m.attachments[1].disposition, "attachment");
  EXPECT_EQ(m.attachments[1].content_type, "application/pdf");
  EXPECT_EQ(attachment_content(kMixed, 1).value(), "%PDF-1.4\n");
  EXPECT_FALSE(attachment_content(kMixed, 2).has_value());
  EXPECT_FALSE(m.attachments[1].content.has_value());

  ParseOptions keep;
  keep.keep_attachment_content = true;
  EXPECT_EQ(parse_message(kMixed, keep).attachments[1].content.value(), "%PDF-1.4\n");

  ASSERT_GE(m.headers.size(), 10u);
  EXPECT_EQ(m.headers[0].name, "From");
  EXPECT_EQ(m.headers[4].name, "Subject");
  EXPECT_EQ(m.headers[4].value, "Café au lait");
}

TEST(MimeParse, BccFromEnvelope) {
  const ParsedMessage m = parse_message(kMixed);
  const auto bcc = bcc_from_envelope({"alice@EXAMPLE.com", "<bob@example.com>", "secret@example.com",
                                      "carol@example.com", "SECRET@example.com", "hidden@example.org"},
                                     m);
  ASSERT_EQ(bcc.size(), 2u);
  EXPECT_EQ(bcc[0].email, "secret@example.com");
  EXPECT_EQ(bcc[1].email, "hidden@example.org");
}

TEST(MimeParse, NonMimeAndUndeclaredCharset) {
  const ParsedMessage m = parse_message("From: a@b.c\r\nSubject: caf\xe9\r\n\r\nna\xefve body\r\n");
  EXPECT_EQ(m.subject, "café");
  ASSERT_TRUE(m.text_body);
  EXPECT_EQ(*m.text_body, "naïve body\r\n");
  EXPECT_FALSE(m.html_body);
}

TEST(MimeParse, GarbageNeverThrows) {
  const std::string inputs[] = {"",
                                "\r\n\r\n",
                                "no headers at all",
                                std::string(5000, '\0'),
                                "From:\r\n",
                                "Content-Type: multipart/mixed\r\n\r\n--\r\n--\r\n",
                                "To: ,,,<<>>@@;:\r\nDate: yesterday\r\n\r\nx"};
  for (const std::string& input : inputs) {
    const ParsedMessage m = parse_message(input);
    EXPECT_EQ(m.size, input.size());
  }
  const ParsedMessage dated = parse_message("To: ,,,<<>>@@;:\r\nDate: yesterday\r\n\r\nx");
  EXPECT_FALSE(dated.date);
  EXPECT_FALSE(dated.problems.empty());
}

TEST(MimeParse, DeepNestingAndManyPartsAreBounded) {
  std::string deep = "From: a@b.c\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n";
  const int levels = 3000;
  for (int i = 1; i < levels; ++i) {
    deep += "--b" + std::to_string(i - 1) + "\r\nContent-Type: multipart/mixed; boundary=b" + std::to_string(i) +
            "\r\n\r\n";
  }
  deep += "--b" + std::to_string(levels - 1) + "\r\nContent-Type: text/plain\r\n\r\ndeep\r\n";
  const ParsedMessage nested = parse_message(deep);
  EXPECT_FALSE(nested.problems.empty());

  std::string many = "From: a@b.c\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n";
  for (int i = 0; i < 3000; ++i) many += "--m\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n";
  many += "--m--\r\n";
  const ParsedMessage wide = parse_message(many);
  EXPECT_LE(wide.attachments.size(), ParseOptions{}.max_parts);
  EXPECT_FALSE(wide.problems.empty());
}

TEST(MimeParse, ParallelParsingIsSafe) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (parse_message(kMixed).attachments.size() != 2) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(MimeSanitize, RemovesScriptsHandlersAndScriptUrls) {
  const std::string html =
      "<html><head><script>alert(1)</script><meta http-equiv=\"refresh\" content=\"0;url=javascript:x\"></head>"
      "<body onload=\"evil()\"><p onclick='x()' class=\"keep\">Hello <b>world</b></p>"
      "<a href=\" java\tscript:alert(1)\">bad</a><a href=\"https://example.com/\">good</a>"
      "<img src=x onerror=alert(1)><iframe srcdoc=\"<script>x</script>\"></iframe>"
      "<SCRIPT SRC=//evil.example/x.js></SCRIPT><svg><script>alert(2)</script></svg>"
      "<noembed><img title=\"</noembed><img src=x onerror=alert(3)>\"></noembed>"
      "<div style=\"color:red\">styled</div><div style=\"width:expression(alert(4))\">x</div>"
      "<a href=\"&#106;avascript:alert(5)\">entity</a></body></html>";
  const std::string clean = sanitize_html_for_preview(html);
  EXPECT_EQ(clean.find("<script"), std::string::npos) << clean;
  EXPECT_EQ(clean.find("<SCRIPT"), std::string::npos) << clean;
  EXPECT_EQ(clean.find("alert"), std::string::npos) << clean;
  EXPECT_EQ(clean.find("onload"), std::string::npos) << clean;
  EXPECT_EQ(clean.find("onclick"), std::string::npos) << clean;
  EXPECT_EQ(clean.find("onerror"), std::string::npos) << clean;
  EXPECT_EQ(clean.find("javascript"), std::string::npos) << clean;
  EXPECT_EQ(clean.find("iframe"), std::string::npos) << clean;
  EXPECT_NE(clean.find("Hello <b>world</b>"), std::string::npos) << clean;
  EXPECT_NE(clean.find("class=\"keep\""), std::string::npos) << clean;
  EXPECT_NE(clean.find("https://example.com/"), std::string::npos) << clean;
  EXPECT_NE(clean.find("style=\"color:red\""), std::string::npos) << clean;
  EXPECT_EQ(clean.find("expression"), std::string::npos) << clean;
}

TEST(MimeSanitize, AttributeValuesStayEscaped) {
  const std::string clean = sanitize_html_for_preview("<p title=\"&lt;/p&gt;&lt;img src=x onerror=y&gt;\">t</p>");
  EXPECT_EQ(clean.find("<img"), std::string::npos) << clean;
}

TEST(MimeSanitize, HostileInputStaysBounded) {
  std::string nested;
  for (int i = 0; i < 20000; ++i) nested += "<div><b><i>";
  nested += "x";
  // libxml2 stops descending at its depth limit (256); what matters is that this returns quickly.
  const std::string clean = sanitize_html_for_preview(nested);
  EXPECT_LT(clean.size(), nested.size());
  EXPECT_EQ(sanitize_html_for_preview(""), "");
  (void)sanitize_html_for_preview(std::string(100000, '<'));
  (void)sanitize_html_for_preview(std::string("\0\xff\xfe<script>", 10));
}
