// Delivery status notifications: the shared RFC 3464 samples field by field, hand-made DSNs (folding, missing
// fields, hostile sizes), plain-text bounces of the common MTAs, and Diagnostic-Code splitting.
#include "mime/dsn.h"
#include "mime/text.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

using postroom::mime::Dsn;
using postroom::mime::DsnRecipient;
using postroom::mime::kMaxDsnRecipients;
using postroom::mime::parse_diagnostic_code;
using postroom::mime::parse_dsn;
using postroom::mime::parse_plain_bounce;
using postroom::mime::SmtpReplyParts;

namespace {

std::string sample(const std::string& name) {
  const std::string path = std::string(POSTROOM_SHARED_DIR) + "/testdata/mime/dsn/testdata/" + name;
  std::ifstream file(path, std::ios::binary);
  std::ostringstream out;
  out << file.rdbuf();
  EXPECT_FALSE(out.str().empty()) << "missing sample " << path;
  return out.str();
}

std::string crlf(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

void expect_recipient(const DsnRecipient& r, const DsnRecipient& expected) {
  EXPECT_EQ(r.final_recipient, expected.final_recipient);
  EXPECT_EQ(r.original_recipient, expected.original_recipient);
  EXPECT_EQ(r.action, expected.action);
  EXPECT_EQ(r.status, expected.status);
  EXPECT_EQ(r.diagnostic_code, expected.diagnostic_code);
  EXPECT_EQ(r.remote_mta, expected.remote_mta);
  EXPECT_EQ(r.last_attempt_date, expected.last_attempt_date);
}

constexpr const char* kHuman = "[human-readable explanation goes here]";

// ---------------------------------------------------------------------------------------------------------------
// The shared samples

TEST(DsnSamples, Simple) {
  const auto dsn = parse_dsn(sample("simple_dsn.raw"));
  ASSERT_TRUE(dsn);
  EXPECT_EQ(dsn->reporting_mta, "cs.utk.edu");
  EXPECT_EQ(dsn->arrival_date, "");
  EXPECT_EQ(dsn->original_message_id, "");
  EXPECT_EQ(dsn->original_envelope_id, "");
  EXPECT_EQ(dsn->original_return_path, "");
  EXPECT_EQ(dsn->human_readable, kHuman);
  ASSERT_EQ(dsn->recipients.size(), 1u);
  expect_recipient(dsn->recipients[0], {.final_recipient = "louisl@larry.slip.umd.edu",
                                        .original_recipient = "louisl@larry.slip.umd.edu",
                                        .action = "failed",
                                        .status = "4.0.0",
                                        .diagnostic_code = "smtp; 426 connection timed out",
                                        .remote_mta = "",
                                        .last_attempt_date = "Thu, 7 Jul 1994 17:15:49 -0400"});
  const SmtpReplyParts parts = parse_diagnostic_code(dsn->recipients[0].diagnostic_code);
  EXPECT_EQ(parts.code, 426);
  EXPECT_EQ(parts.enhanced, "");
  EXPECT_EQ(parts.text, "connection timed out");
}

TEST(DsnSamples, SimpleWithHtml) {
  const auto dsn = parse_dsn(sample("simple_dsn_with_html.raw"));
  ASSERT_TRUE(dsn);
  EXPECT_EQ(dsn->reporting_mta, "cs.utk.edu");
  EXPECT_EQ(dsn->arrival_date, "");
  EXPECT_EQ(dsn->original_message_id, "");
  EXPECT_EQ(dsn->original_envelope_id, "");
  EXPECT_EQ(dsn->original_return_path, "");
  // The only human-readable part is HTML: its text, without the tags.
  EXPECT_EQ(dsn->human_readable, kHuman);
  ASSERT_EQ(dsn->recipients.size(), 1u);
  expect_recipient(dsn->recipients[0], {.final_recipient = "louisl@larry.slip.umd.edu",
                                        .original_recipient = "louisl@larry.slip.umd.edu",
                                        .action = "failed",
                                        .status = "4.0.0",
                                        .diagnostic_code = "smtp; 426 connection timed out",
                                        .remote_mta = "",
                                        .last_attempt_date = "Thu, 7 Jul 1994 17:15:49 -0400"});
}

TEST(DsnSamples, Delayed) {
  const auto dsn = parse_dsn(sample("delayed_dsn.raw"));
  ASSERT_TRUE(dsn);
  EXPECT_EQ(dsn->reporting_mta, "sun2.nsfnet-relay.ac.uk");
  EXPECT_EQ(dsn->arrival_date, "");
  EXPECT_EQ(dsn->original_message_id, "");
  EXPECT_EQ(dsn->original_envelope_id, "");
  EXPECT_EQ(dsn->original_return_path, "");
  EXPECT_EQ(dsn->human_readable, kHuman);
  ASSERT_EQ(dsn->recipients.size(), 1u);
  // "Status: 4.0.0 (unknown temporary failure)": the comment is not part of the code.
  expect_recipient(dsn->recipients[0], {.final_recipient = "thomas@de-montfort.ac.uk",
                                        .original_recipient = "",
                                        .action = "delayed",
                                        .status = "4.0.0",
                                        .diagnostic_code = "",
                                        .remote_mta = "",
                                        .last_attempt_date = ""});
}

TEST(DsnSamples, MultiRecipient) {
  const auto dsn = parse_dsn(sample("multi_recipient_dsn.raw"));
  ASSERT_TRUE(dsn);
  EXPECT_EQ(dsn->reporting_mta, "cs.utk.edu");
  EXPECT_EQ(dsn->arrival_date, "");
  EXPECT_EQ(dsn->original_message_id, "");
  EXPECT_EQ(dsn->original_envelope_id, "");
  EXPECT_EQ(dsn->original_return_path, "");
  EXPECT_EQ(dsn->human_readable, kHuman);
  ASSERT_EQ(dsn->recipients.size(), 3u);
  // The folded Diagnostic-Code is unfolded; the fold becomes one space.
  expect_recipient(dsn->recipients[0],
                   {.final_recipient = "arathib@vnet.ibm.com",
                    .original_recipient = "arathib@vnet.ibm.com",
                    .action = "failed",
                    .status = "5.0.0",
                    .diagnostic_code = "smtp;  550 'arathib@vnet.IBM.COM' is not a registered gateway user",
                    .remote_mta = "vnet.ibm.com",
                    .last_attempt_date = ""});
  expect_recipient(dsn->recipients[1], {.final_recipient = "johnh@hpnjld.njd.hp.com",
                                        .original_recipient = "johnh@hpnjld.njd.hp.com",
                                        .action = "delayed",
                                        .status = "4.0.0",
                                        .diagnostic_code = "",
                                        .remote_mta = "",
                                        .last_attempt_date = ""});
  expect_recipient(dsn->recipients[2], {.final_recipient = "wsnell@sdcc13.ucsd.edu",
                                        .original_recipient = "wsnell@sdcc13.ucsd.edu",
                                        .action = "failed",
                                        .status = "5.0.0",
                                        .diagnostic_code = "smtp; 550 user unknown",
                                        .remote_mta = "sdcc13.ucsd.edu",
                                        .last_attempt_date = ""});
  const SmtpReplyParts first = parse_diagnostic_code(dsn->recipients[0].diagnostic_code);
  EXPECT_EQ(first.code, 550);
  EXPECT_EQ(first.enhanced, "");
  EXPECT_EQ(first.text, "'arathib@vnet.IBM.COM' is not a registered gateway user");
}

TEST(DsnSamples, MultipartAlternativeHumanPart) {
  const auto dsn = parse_dsn(sample("dsn_with_multipart_alternative.raw"));
  ASSERT_TRUE(dsn);
  EXPECT_EQ(dsn->reporting_mta, "1234.prod.outlook.com");
  EXPECT_EQ(dsn->arrival_date, "Thu, 27 Jan 2022 08:03:02 +0000");
  // The report's own Message-ID is not the original's; the returned message has none.
  EXPECT_EQ(dsn->original_message_id, "");
  EXPECT_EQ(dsn->original_envelope_id, "");
  EXPECT_EQ(dsn->original_return_path, "");
  EXPECT_EQ(dsn->human_readable, kHuman);  // the text/plain alternative
  ASSERT_EQ(dsn->recipients.size(), 1u);
  expect_recipient(dsn->recipients[0], {.final_recipient = "non-existing@example.com",
                                        .original_recipient = "",
                                        .action = "failed",
                                        .status = "5.1.10",
                                        .diagnostic_code = "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound",
                                        .remote_mta = "",
                                        .last_attempt_date = ""});
  const SmtpReplyParts parts = parse_diagnostic_code(dsn->recipients[0].diagnostic_code);
  EXPECT_EQ(parts.code, 550);
  EXPECT_EQ(parts.enhanced, "5.1.10");
  EXPECT_EQ(parts.text, "RESOLVER.ADR.RecipientNotFound");
}

TEST(DsnSamples, NotPlainBouncesOnlyButReadableAsOne) {
  // parse_plain_bounce also finds the delivery-status part of a real DSN.
  const auto dsn = parse_plain_bounce(sample("multi_recipient_dsn.raw"));
  ASSERT_TRUE(dsn);
  ASSERT_EQ(dsn->recipients.size(), 3u);
  EXPECT_EQ(dsn->recipients[2].final_recipient, "wsnell@sdcc13.ucsd.edu");
}

// ---------------------------------------------------------------------------------------------------------------
// Hand-made DSNs

const char* kPostfixDsn = R"(Return-Path: <>
Received: by mail.example.org (Postfix) id 4B2A1C0123; Tue, 14 May 2024 10:00:02 +0000 (UTC)
Date: Tue, 14 May 2024 10:00:02 +0000 (UTC)
From: MAILER-DAEMON@mail.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: bounces+abc123@example.org
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report;
  report-type=delivery-status;
	boundary="4B2A1C0123.1715680802/mail.example.org"
Message-Id: <20240514100002.4B2A1C0124@mail.example.org>

This is a MIME-encapsulated message.

--4B2A1C0123.1715680802/mail.example.org
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nobody@gmail.com>: host gmail-smtp-in.l.google.com[142.250.0.26] said:
    550-5.1.1 The email account that you tried to reach does not exist.

--4B2A1C0123.1715680802/mail.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns;
 mail.example.org
X-Postfix-Queue-ID: 4B2A1C0123
X-Postfix-Sender: rfc822; bounces+abc123@example.org
Arrival-Date: Tue, 14 May 2024 10:00:00 +0000 (UTC)
Original-Envelope-Id: 0f8b5c2e-7d1a-4c55-9d1e-3f1c2b9a8e77

Final-Recipient: rfc822; nobody@gmail.com
Original-Recipient: rfc822;<Nobody@Gmail.com>
Action: FAILED
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does
    not exist. Please try 550-5.1.1 double-checking the recipient's email
    address for typos or 550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1
    https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp
Last-Attempt-Date: Tue, 14 May 2024 10:00:02 +0000 (UTC)

--4B2A1C0123.1715680802/mail.example.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <bounces+abc123@example.org>
Received: from app (localhost [127.0.0.1]) by mail.example.org (Postfix)
Message-ID:
 <4f1c0e2a-9b7d-4d3e-8a61-2b0c5e7f9d10@example.org>
From: Shop <shop@example.org>
To: nobody@gmail.com
Subject: Your order

--4B2A1C0123.1715680802/mail.example.org--
)";

TEST(DsnParse, PostfixWithFoldedFieldsAndReturnedHeaders) {
  for (const std::string& raw : {std::string(kPostfixDsn), crlf(kPostfixDsn)}) {
    const auto dsn = parse_dsn(raw);
    ASSERT_TRUE(dsn);
    EXPECT_EQ(dsn->reporting_mta, "mail.example.org");
    EXPECT_EQ(dsn->arrival_date, "Tue, 14 May 2024 10:00:00 +0000 (UTC)");
    EXPECT_EQ(dsn->original_envelope_id, "0f8b5c2e-7d1a-4c55-9d1e-3f1c2b9a8e77");
    EXPECT_EQ(dsn->original_message_id, "4f1c0e2a-9b7d-4d3e-8a61-2b0c5e7f9d10@example.org");
    EXPECT_EQ(dsn->original_return_path, "bounces+abc123@example.org");
    EXPECT_EQ(dsn->human_readable.substr(0, 50), "This is the mail system at host mail.example.org.\n");
    EXPECT_EQ(dsn->human_readable.find('\r'), std::string::npos);
    ASSERT_EQ(dsn->recipients.size(), 1u);
    const std::string diagnostic =
        "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 "
        "double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. Learn more at "
        "550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp";
    expect_recipient(dsn->recipients[0], {.final_recipient = "nobody@gmail.com",
                                          .original_recipient = "Nobody@Gmail.com",
                                          .action = "failed",
                                          .status = "5.1.1",
                                          .diagnostic_code = diagnostic,
                                          .remote_mta = "gmail-smtp-in.l.google.com",
                                          .last_attempt_date = "Tue, 14 May 2024 10:00:02 +0000 (UTC)"});
    const SmtpReplyParts parts = parse_diagnostic_code(diagnostic);
    EXPECT_EQ(parts.code, 550);
    EXPECT_EQ(parts.enhanced, "5.1.1");
    EXPECT_EQ(parts.text,
              "The email account that you tried to reach does not exist. Please try double-checking the "
              "recipient's email address for typos or unnecessary spaces. Learn more at "
              "https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp");
  }
}

TEST(DsnParse, ReturnedMessageAndBase64Status) {
  // message/rfc822 returned in full; the delivery-status part base64-encoded; no report-type parameter; the
  // Return-Path of the copy is missing, so X-Postfix-Sender gives the original envelope sender.
  const std::string raw =
      "From: postmaster@mx.example.net\r\n"
      "To: b@example.org\r\n"
      "Subject: Delivery Status Notification (Failure)\r\n"
      "Content-Type: multipart/report; boundary=\"b1\"\r\n"
      "\r\n"
      "--b1\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "Delivery to nobody@example.net failed =E2=80=94 mailbox full.\r\n"
      "--b1\r\n"
      "Content-Type: message/delivery-status\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n" +
      std::string(
          "UmVwb3J0aW5nLU1UQTogZG5zOyBteC5leGFtcGxlLm5ldApYLVBvc3RmaXgtU2VuZGVyOiByZmM4\r\n"
          "MjI7IGJAZXhhbXBsZS5vcmcKCkZpbmFsLVJlY2lwaWVudDogcmZjODIyOyBub2JvZHlAZXhhbXBs\r\n"
          "ZS5uZXQKQWN0aW9uOiBmYWlsZWQKU3RhdHVzOiA1LjIuMgpEaWFnbm9zdGljLUNvZGU6IHNtdHA7\r\n"
          "IDU1MiA1LjIuMiBNYWlsYm94IGZ1bGwK\r\n") +
      "--b1\r\n"
      "Content-Type: message/rfc822\r\n"
      "\r\n"
      "Message-ID: <orig-1@example.org>\r\n"
      "From: b@example.org\r\n"
      "Subject: hi\r\n"
      "\r\n"
      "body\r\n"
      "--b1--\r\n";
  const auto dsn = parse_dsn(raw);
  ASSERT_TRUE(dsn);
  EXPECT_EQ(dsn->reporting_mta, "mx.example.net");
  EXPECT_EQ(dsn->original_message_id, "orig-1@example.org");
  EXPECT_EQ(dsn->original_return_path, "b@example.org");
  EXPECT_EQ(dsn->human_readable, "Delivery to nobody@example.net failed \u2014 mailbox full.");
  ASSERT_EQ(dsn->recipients.size(), 1u);
  expect_recipient(dsn->recipients[0], {.final_recipient = "nobody@example.net",
                                        .original_recipient = "",
                                        .action = "failed",
                                        .status = "5.2.2",
                                        .diagnostic_code = "smtp; 552 5.2.2 Mailbox full",
                                        .remote_mta = "",
                                        .last_attempt_date = ""});
}

TEST(DsnParse, MissingFields) {
  // No blank line after the per-message fields, a recipient without Action, a Status that is not a code, an
  // Original-Recipient without a Final-Recipient, and no human-readable part.
  const std::string raw =
      "Content-Type: multipart/report; report-type=delivery-status; boundary=x\n"
      "\n"
      "--x\n"
      "Content-Type: message/delivery-status\n"
      "\n"
      "Reporting-MTA: dns; relay.example\n"
      "Final-Recipient: rfc822; a@example.com\n"
      "Status: failed\n"
      "\n"
      "Original-Recipient: rfc822; b@example.com\n"
      "Action: delayed\n"
      "Diagnostic-Code:\n"
      "\n"
      "Garbage line without a colon\n"
      "\n"
      "--x--\n";
  const auto dsn = parse_dsn(raw);
  ASSERT_TRUE(dsn);
  EXPECT_EQ(dsn->reporting_mta, "relay.example");
  EXPECT_EQ(dsn->human_readable, "");
  EXPECT_EQ(dsn->original_message_id, "");
  ASSERT_EQ(dsn->recipients.size(), 2u);
  expect_recipient(dsn->recipients[0], {.final_recipient = "a@example.com",
                                        .original_recipient = "",
                                        .action = "",
                                        .status = "",
                                        .diagnostic_code = "",
                                        .remote_mta = "",
                                        .last_attempt_date = ""});
  expect_recipient(dsn->recipients[1], {.final_recipient = "",
                                        .original_recipient = "b@example.com",
                                        .action = "delayed",
                                        .status = "",
                                        .diagnostic_code = "",
                                        .remote_mta = "",
                                        .last_attempt_date = ""});
}

TEST(DsnParse, NotADsn) {
  EXPECT_FALSE(parse_dsn(""));
  EXPECT_FALSE(parse_dsn("garbage \x01\x02\xff without headers"));
  EXPECT_FALSE(parse_dsn(std::string(100000, '\0')));
  const std::string plain =
      "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: Lunch?\r\n\r\nShall we meet at noon?\r\n";
  EXPECT_FALSE(parse_dsn(plain));
  EXPECT_FALSE(parse_plain_bounce(plain));
  // A read receipt is a report too, of another type.
  const std::string mdn =
      "Content-Type: multipart/report; report-type=disposition-notification; boundary=x\r\n\r\n"
      "--x\r\nContent-Type: text/plain\r\n\r\nRead.\r\n"
      "--x\r\nContent-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822; a@b\r\n"
      "Disposition: manual-action/MDN-sent-manually; displayed\r\n--x--\r\n";
  EXPECT_FALSE(parse_dsn(mdn));
  // A report without its delivery-status part.
  const std::string empty_report =
      "Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n"
      "--x\r\nContent-Type: text/plain\r\n\r\nSomething failed.\r\n--x--\r\n";
  EXPECT_FALSE(parse_dsn(empty_report));
  // multipart/mixed is not a report, whatever it holds.
  const std::string mixed =
      "Content-Type: multipart/mixed; boundary=x\r\n\r\n"
      "--x\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; a@b\r\n--x--\r\n";
  EXPECT_FALSE(parse_dsn(mixed));
}

TEST(DsnParse, TenThousandRecipientGroupsAreBounded) {
  std::string raw =
      "Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n"
      "--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; big.example\r\n\r\n";
  for (int i = 0; i < 10000; ++i) {
    raw +=
        "Final-Recipient: rfc822; user" + std::to_string(i) + "@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n";
  }
  raw += "--x--\r\n";
  const auto started = std::chrono::steady_clock::now();
  const auto dsn = parse_dsn(raw);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(dsn);
  EXPECT_EQ(dsn->recipients.size(), kMaxDsnRecipients);
  EXPECT_EQ(dsn->recipients.front().final_recipient, "user0@example.com");
  EXPECT_EQ(dsn->recipients.back().final_recipient, "user" + std::to_string(kMaxDsnRecipients - 1) + "@example.com");
  EXPECT_LT(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count(), 5);
}

TEST(DsnParse, HostileSizesAreBounded) {
  // A huge human-readable part is capped at 8 KB; a huge field value at 2 KB; deep nesting is not followed.
  std::string raw =
      "Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n"
      "--x\r\nContent-Type: text/plain\r\n\r\n" +
      std::string(100000, 'h') + "\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\n" +
      "Final-Recipient: rfc822; a@example.com\r\nDiagnostic-Code: smtp; 550 " + std::string(100000, 'd') +
      "\r\n--x--\r\n";
  auto dsn = parse_dsn(raw);
  ASSERT_TRUE(dsn);
  EXPECT_EQ(dsn->human_readable.size(), 8192u);
  ASSERT_EQ(dsn->recipients.size(), 1u);
  EXPECT_LE(dsn->recipients[0].diagnostic_code.size(), 2048u);

  std::string nested = "Content-Type: multipart/report; report-type=delivery-status; boundary=b0\r\n\r\n";
  for (int i = 1; i < 200; ++i) {
    nested += "--b" + std::to_string(i - 1) + "\r\nContent-Type: multipart/mixed; boundary=b" + std::to_string(i) +
              "\r\n\r\n";
  }
  nested += "--b199\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; deep@example.com\r\n";
  EXPECT_FALSE(parse_dsn(nested));  // the status part is too deep to be looked at
}

// ---------------------------------------------------------------------------------------------------------------
// Plain-text bounces

TEST(DsnPlainBounce, PostfixWithoutDsn) {
  const std::string raw = R"(From: MAILER-DAEMON@mail.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: bounces@example.org
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="B1"

--B1
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<nobody@example.com>: host mx.example.com[203.0.113.5] said: 550 5.1.1
    <nobody@example.com>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)

<someone@nx.example> (expanded from <alias@example.org>): Host or domain name
    not found. Name service error for name=nx.example type=A: Host not found

--B1
Content-Type: message/rfc822

Return-Path: <bounces@example.org>
Message-ID: <m1@example.org>
Subject: hello

hi
--B1--
)";
  const auto dsn = parse_plain_bounce(raw);
  ASSERT_TRUE(dsn);
  EXPECT_FALSE(parse_dsn(raw));
  EXPECT_EQ(dsn->reporting_mta, "mail.example.org");
  EXPECT_EQ(dsn->original_message_id, "m1@example.org");
  EXPECT_EQ(dsn->original_return_path, "bounces@example.org");
  EXPECT_EQ(dsn->human_readable.substr(0, 49), "This is the mail system at host mail.example.org.");
  ASSERT_EQ(dsn->recipients.size(), 2u);
  expect_recipient(dsn->recipients[0],
                   {.final_recipient = "nobody@example.com",
                    .original_recipient = "",
                    .action = "failed",
                    .status = "5.1.1",
                    .diagnostic_code = "smtp; 550 5.1.1 <nobody@example.com>: Recipient address rejected: User "
                                       "unknown in local recipient table",
                    .remote_mta = "mx.example.com",
                    .last_attempt_date = ""});
  expect_recipient(dsn->recipients[1], {.final_recipient = "someone@nx.example",
                                        .original_recipient = "",
                                        .action = "failed",
                                        .status = "",
                                        .diagnostic_code = "Host or domain name not found. Name service error for "
                                                           "name=nx.example type=A: Host not found",
                                        .remote_mta = "",
                                        .last_attempt_date = ""});
}

TEST(DsnPlainBounce, Exim) {
  const std::string raw = R"(From: Mail Delivery System <Mailer-Daemon@mx.example.org>
To: bounces@example.org
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: nobody@example.com

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  nobody@example.com
    host mx.example.com [203.0.113.5]
    SMTP error from remote mail server after RCPT TO:<nobody@example.com>:
    550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

Return-path: <bounces@example.org>
Message-ID: <exim-orig@example.org>
Subject: hello

hi nobody@example.com
)";
  const auto dsn = parse_plain_bounce(raw);
  ASSERT_TRUE(dsn);
  EXPECT_EQ(dsn->original_message_id, "exim-orig@example.org");
  EXPECT_EQ(dsn->original_return_path, "bounces@example.org");
  ASSERT_EQ(dsn->recipients.size(), 1u);
  expect_recipient(dsn->recipients[0],
                   {.final_recipient = "nobody@example.com",
                    .original_recipient = "",
                    .action = "failed",
                    .status = "5.1.1",
                    .diagnostic_code = "smtp; 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown",
                    .remote_mta = "mx.example.com",
                    .last_attempt_date = ""});
}

TEST(DsnPlainBounce, EximDelayWarning) {
  const std::string raw = R"(From: Mail Delivery System <Mailer-Daemon@mx.example.org>
Subject: Warning: message 1sABcD-000123-Ef delayed 24 hours

This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mx.example.org.

The address to which the message has not yet been delivered is:

  slow@example.com
    host mx.example.com [203.0.113.5]
    Delay reason: SMTP error from remote mail server after RCPT TO:<slow@example.com>:
    451 4.7.1 Please try again later

No action is required on your part.
)";
  const auto dsn = parse_plain_bounce(raw);
  ASSERT_TRUE(dsn);
  ASSERT_EQ(dsn->recipients.size(), 1u);
  EXPECT_EQ(dsn->recipients[0].final_recipient, "slow@example.com");
  EXPECT_EQ(dsn->recipients[0].action, "delayed");
  EXPECT_EQ(dsn->recipients[0].status, "4.7.1");
  EXPECT_EQ(dsn->recipients[0].diagnostic_code, "smtp; 451 4.7.1 Please try again later");
}

TEST(DsnPlainBounce, Qmail) {
  const std::string raw = R"(From: MAILER-DAEMON@mail.example.org
Subject: failure notice

Hi. This is the qmail-send program at mail.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<nobody@example.com>:
203.0.113.5 does not like recipient.
Remote host said: 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown
Giving up on 203.0.113.5.

--- Below this line is a copy of the message.

Message-ID: <q1@example.org>
)";
  const auto dsn = parse_plain_bounce(raw);
  ASSERT_TRUE(dsn);
  EXPECT_EQ(dsn->reporting_mta, "mail.example.org");
  EXPECT_EQ(dsn->original_message_id, "q1@example.org");
  ASSERT_EQ(dsn->recipients.size(), 1u);
  EXPECT_EQ(dsn->recipients[0].final_recipient, "nobody@example.com");
  EXPECT_EQ(dsn->recipients[0].action, "failed");
  EXPECT_EQ(dsn->recipients[0].status, "5.1.1");
  EXPECT_EQ(dsn->recipients[0].diagnostic_code,
            "smtp; 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown");
}

TEST(DsnPlainBounce, Sendmail) {
  const std::string raw = R"(From: Mail Delivery Subsystem <MAILER-DAEMON@mail.example.org>
Subject: Returned mail: see transcript for details

The original message was received at Tue, 14 May 2024 10:00:00 GMT
from localhost [127.0.0.1]

   ----- The following addresses had permanent fatal errors -----
<nobody@example.com>
    (reason: 550 5.1.1 <nobody@example.com>... User unknown)

   ----- Transcript of session follows -----
... while talking to mx.example.com.:
>>> RCPT To:<nobody@example.com>
<<< 550 5.1.1 <nobody@example.com>... User unknown
550 5.1.1 <nobody@example.com>... User unknown
)";
  const auto dsn = parse_plain_bounce(raw);
  ASSERT_TRUE(dsn);
  ASSERT_EQ(dsn->recipients.size(), 1u);
  EXPECT_EQ(dsn->recipients[0].final_recipient, "nobody@example.com");
  EXPECT_EQ(dsn->recipients[0].status, "5.1.1");
  EXPECT_EQ(dsn->recipients[0].diagnostic_code, "smtp; 550 5.1.1 <nobody@example.com>... User unknown");
}

TEST(DsnPlainBounce, ExchangeText) {
  const std::string raw = R"(From: postmaster@example.com
Subject: Undeliverable: hello

Delivery has failed to these recipients or groups:

nobody@example.com
The e-mail address you entered couldn't be found. Please check the recipient's e-mail address and try to resend the message.

Diagnostic information for administrators:

Generating server: mail.example.com

nobody@example.com
#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##
)";
  const auto dsn = parse_plain_bounce(raw);
  ASSERT_TRUE(dsn);
  ASSERT_EQ(dsn->recipients.size(), 1u);
  EXPECT_EQ(dsn->recipients[0].final_recipient, "nobody@example.com");
  EXPECT_EQ(dsn->recipients[0].status, "5.1.1");
  EXPECT_EQ(dsn->recipients[0].diagnostic_code, "smtp; 550 5.1.1 RESOLVER.ADR.RecipNotFound; not found");
}

TEST(DsnPlainBounce, OnlyAQuotedReply) {
  // No recipient line: the address from X-Failed-Recipients, the reply from the text.
  const std::string raw =
      "From: MAILER-DAEMON@relay.example\r\nSubject: Delivery failure\r\nX-Failed-Recipients: <x@example.com>\r\n"
      "\r\nYour message was rejected. The server said: 554 5.7.1 Message rejected as spam\r\n";
  const auto dsn = parse_plain_bounce(raw);
  ASSERT_TRUE(dsn);
  ASSERT_EQ(dsn->recipients.size(), 1u);
  EXPECT_EQ(dsn->recipients[0].final_recipient, "x@example.com");
  EXPECT_EQ(dsn->recipients[0].diagnostic_code, "smtp; 554 5.7.1 Message rejected as spam");
  EXPECT_EQ(dsn->recipients[0].status, "5.7.1");
}

TEST(DsnPlainBounce, NothingRecognisable) {
  EXPECT_FALSE(parse_plain_bounce(""));
  EXPECT_FALSE(parse_plain_bounce("\x01\x02\x03"));
  // Looks like a bounce, but names nobody and quotes no reply.
  EXPECT_FALSE(parse_plain_bounce("From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail\r\n\r\nSorry.\r\n"));
  // Mentions addresses in prose only, from a person.
  EXPECT_FALSE(parse_plain_bounce(
      "From: bob@example.org\r\nSubject: notes\r\n\r\nI wrote to alice@example.com about it.\r\nbob@example.org\r\n"));
}

TEST(DsnPlainBounce, ManyRecipientLinesAreBounded) {
  std::string raw = "From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\n";
  for (int i = 0; i < 5000; ++i) raw += "<u" + std::to_string(i) + "@example.com>: said: 550 5.1.1 unknown\r\n";
  const auto dsn = parse_plain_bounce(raw);
  ASSERT_TRUE(dsn);
  EXPECT_LE(dsn->recipients.size(), kMaxDsnRecipients);
  EXPECT_GT(dsn->recipients.size(), 100u);
}

TEST(DsnPlainBounce, InvalidUtf8RepliesStayWithinTheFieldBound) {
  // Each invalid byte becomes a 3-byte U+FFFD, so the bound must be applied after the repair (found by fuzzing).
  const std::string reply = "550 5.1.1 " + std::string(3000, '\xff');
  const std::string raw =
      "From: MAILER-DAEMON@x.example\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\n"
      "<a@example.com>: host mx.example.com said: " +
      reply + "\r\n";
  const auto dsn = parse_plain_bounce(raw);
  ASSERT_TRUE(dsn);
  ASSERT_EQ(dsn->recipients.size(), 1u);
  const std::string& code = dsn->recipients[0].diagnostic_code;
  EXPECT_TRUE(code.starts_with("smtp; 550 5.1.1 ")) << code.substr(0, 40);
  EXPECT_LE(code.size(), 2048u);
  EXPECT_GT(code.size(), 2040u);
  EXPECT_EQ(postroom::mime::text::to_valid_utf8(code), code);

  const std::string dsn_raw =
      "Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n"
      "--x\r\nContent-Type: message/delivery-status\r\n\r\n"
      "Final-Recipient: rfc822; a@example.com\r\nDiagnostic-Code: smtp; " +
      reply + "\r\n--x--\r\n";
  const auto status = parse_dsn(dsn_raw);
  ASSERT_TRUE(status);
  ASSERT_EQ(status->recipients.size(), 1u);
  EXPECT_LE(status->recipients[0].diagnostic_code.size(), 2048u);
  EXPECT_EQ(postroom::mime::text::to_valid_utf8(status->recipients[0].diagnostic_code),
            status->recipients[0].diagnostic_code);
}

// ---------------------------------------------------------------------------------------------------------------
// Diagnostic-Code

TEST(DsnDiagnosticCode, Splits) {
  auto check = [](std::string_view input, int code, std::string_view enhanced, std::string_view text) {
    const SmtpReplyParts parts = parse_diagnostic_code(input);
    EXPECT_EQ(parts.code, code) << input;
    EXPECT_EQ(parts.enhanced, enhanced) << input;
    EXPECT_EQ(parts.text, text) << input;
  };
  check("smtp; 550 5.1.1 <a@b>: user unknown", 550, "5.1.1", "<a@b>: user unknown");
  check("SMTP;550 5.1.1 user unknown", 550, "5.1.1", "user unknown");
  check("smtp; 550-5.7.26 first line 550-5.7.26 second line 550 5.7.26 last", 550, "5.7.26",
        "first line second line last");
  check("smtp; 550-Verification failed for <a@b> 550-Unrouteable address 550 Sender verify failed", 550, "",
        "Verification failed for <a@b> Unrouteable address Sender verify failed");
  check("smtp; 550 #5.1.0 Address rejected", 550, "5.1.0", "Address rejected");
  check("X-Postfix; Host or domain name not found. Name service error", 0, "",
        "Host or domain name not found. Name service error");
  check("smtp; 421", 421, "", "");
  check("550 5.2.2   Mailbox\t full", 550, "5.2.2", "Mailbox full");
  check("5.1.1 user unknown", 0, "5.1.1", "user unknown");
  check("smtp; 550 message of 550 bytes", 550, "", "message of 550 bytes");
  check("", 0, "", "");
  check("garbage; ;;", 0, "", ";;");
  check("smtp; 999 not a code", 0, "", "999 not a code");
}

}  // namespace
