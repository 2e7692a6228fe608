// The SMTP command parser and session state machine, driven without sockets.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "smtp/command.h"
#include "smtp/session.h"

using namespace postroom::smtp;

namespace {

std::string b64(std::string_view text) { return base64_encode(text); }

struct FakeBackend : SmtpBackend {
  SessionPolicy policy;
  std::vector<std::string> delivered;
  std::vector<AuthAttempt> attempts;
  std::optional<std::size_t> transaction_limit;

  SessionPolicy session_policy(const ConnectionInfo&) override { return policy; }

  AuthResult authenticate(const AuthAttempt& attempt) override {
    attempts.push_back(attempt);
    const bool ok = attempt.mechanism == AuthMechanism::cram_md5
                        ? attempt.username == "user" && verify_cram_md5(attempt, "pass")
                        : attempt.username == "user" && attempt.password == "pass";
    if (ok) return AuthResult::accept(std::make_shared<int>(42));
    return AuthResult::reject({535, "5.7.0", "Invalid login or password"});
  }

  Reply mail_from(Transaction& transaction) override {
    if (transaction.mail_from.local_part == "blocked") return {550, "5.7.0", "Sender blocked"};
    transaction.max_message_size = transaction_limit;
    return Reply::ok();
  }

  Reply rcpt_to(Transaction&, const Address& recipient) override {
    if (recipient.local_part == "reject") return {550, "5.1.1", "No such user: " + recipient.text() + "\r\n250 ok"};
    if (recipient.local_part == "throw") throw std::runtime_error("boom");
    return Reply::ok();
  }

  Reply deliver(const Transaction&, std::string message) override {
    delivered.push_back(std::move(message));
    return Reply::ok();
  }
};

struct Driver {
  FakeBackend backend;
  SessionLimits limits;
  std::unique_ptr<Session> session;
  std::string output;

  explicit Driver(bool auth_required = false, ListenerMode mode = ListenerMode::starttls) {
    backend.policy.auth_required = auth_required;
    limits.hostname = "mx.test";
    start(mode);
  }

  void start(ListenerMode mode = ListenerMode::starttls) {
    ConnectionInfo info;
    info.client_ip = "127.0.0.1";
    info.mode = mode;
    session = std::make_unique<Session>(limits, backend.session_policy(info), info, true);
    session->start();
    output = session->take_output();
  }

  // Feeds bytes, runs backend calls inline and returns the replies written since the last call.
  std::string send(std::string_view bytes) {
    session->receive(bytes);
    pump();
    return session->take_output();
  }

  void pump() {
    while (session->next() == Session::Next::backend) {
      session->run_backend(backend);
      session->backend_done();
    }
  }

  std::string ehlo_auth() {
    send("EHLO client.test\r\n");
    return send("AUTH PLAIN " + b64(std::string("\0user\0pass", 10)) + "\r\n");
  }
};

bool starts_with(const std::string& text, std::string_view prefix) { return text.rfind(prefix, 0) == 0; }

}  // namespace

// ---------------------------------------------------------------- command parser

TEST(SmtpCommand, VerbsAreCaseInsensitive) {
  EXPECT_EQ(parse_command("ehlo x").verb, Verb::ehlo);
  EXPECT_EQ(parse_command("MaIl FROM:<a@b>").verb, Verb::mail);
  EXPECT_EQ(parse_command("StartTLS").verb, Verb::starttls);
  EXPECT_EQ(parse_command("DATAX").verb, Verb::unknown);
  EXPECT_EQ(parse_command("GET / HTTP/1.1").verb, Verb::http);
  EXPECT_EQ(parse_command("HELO   host.example  ").argument, "host.example");
}

TEST(SmtpCommand, MailPathsAndParameters) {
  auto p = parse_path_argument("FROM:<alice@example.com> SIZE=1000 BODY=8BITMIME SMTPUTF8", "FROM");
  ASSERT_EQ(p.error, PathError::none);
  EXPECT_EQ(p.address.text(), "alice@example.com");
  ASSERT_EQ(p.params.size(), 3u);
  EXPECT_EQ(p.params[0].keyword, "SIZE");
  EXPECT_EQ(*p.params[0].value, "1000");
  EXPECT_EQ(p.params[2].keyword, "SMTPUTF8");
  EXPECT_FALSE(p.params[2].value);

  EXPECT_TRUE(parse_path_argument("FROM:<>", "FROM").null_path);
  EXPECT_EQ(parse_path_argument("from: <a@b.c>", "FROM").address.text(), "a@b.c");  // sloppy space
  EXPECT_EQ(parse_path_argument("FROM:a@b.c", "FROM").address.text(), "a@b.c");     // no brackets
  EXPECT_EQ(parse_path_argument("TO:<@relay.a,@relay.b:u@d.e>", "TO").address.text(), "u@d.e");
  EXPECT_TRUE(parse_path_argument("TO:<Postmaster>", "TO").postmaster);
  EXPECT_EQ(parse_path_argument("TO:<\"john doe\"@example.com>", "TO").address.local_part, "\"john doe\"");
  EXPECT_EQ(parse_path_argument("TO:<\"a>b\"@example.com>", "TO").address.local_part, "\"a>b\"");

  EXPECT_EQ(parse_path_argument("FROM <a@b>", "FROM").error, PathError::syntax);
  EXPECT_EQ(parse_path_argument("TO:<a@b", "TO").error, PathError::syntax);
  EXPECT_EQ(parse_path_argument("TO:<a@b>x", "TO").error, PathError::syntax);
  EXPECT_EQ(parse_path_argument("TO:<a..b@c>", "TO").error, PathError::address);
  EXPECT_EQ(parse_path_argument("TO:<a@-b.c>", "TO").error, PathError::address);
  EXPECT_EQ(parse_path_argument("TO:<a@b..c>", "TO").error, PathError::address);
  EXPECT_EQ(parse_path_argument("TO:<ab.c>", "TO").error, PathError::address);
  EXPECT_EQ(parse_path_argument("TO:<a b@c>", "TO").error, PathError::address);
  EXPECT_EQ(parse_path_argument("TO:<a@b> =x", "TO").error, PathError::parameter);
}

TEST(SmtpCommand, Mailboxes) {
  EXPECT_TRUE(parse_mailbox("user+tag@sub.example.org"));
  EXPECT_TRUE(parse_mailbox("x@[127.0.0.1]"));
  EXPECT_TRUE(parse_mailbox("x@[IPv6:::1]"));
  EXPECT_TRUE(parse_mailbox("\"quoted\\\"inner\"@example.com"));
  EXPECT_FALSE(parse_mailbox(std::string(65, 'a') + "@example.com"));
  EXPECT_FALSE(parse_mailbox("a@"));
  EXPECT_FALSE(parse_mailbox("@b"));
  EXPECT_FALSE(parse_mailbox(".a@b"));
  bool non_ascii = false;
  EXPECT_TRUE(parse_mailbox("δοκιμή@παράδειγμα.δοκιμή", &non_ascii));
  EXPECT_TRUE(non_ascii);
  EXPECT_FALSE(parse_mailbox("a\xff@b"));  // not UTF-8
}

TEST(SmtpCommand, Base64AndXtext) {
  EXPECT_EQ(base64_encode("user"), "dXNlcg==");
  EXPECT_EQ(*base64_decode("dXNlcg=="), "user");
  EXPECT_EQ(*base64_decode(""), "");
  EXPECT_FALSE(base64_decode("dXNlcg="));
  EXPECT_FALSE(base64_decode("dX=lcg=="));
  EXPECT_FALSE(base64_decode("dXNl*g=="));
  EXPECT_TRUE(valid_xtext("a+2Bb"));
  EXPECT_FALSE(valid_xtext("a+2"));
  EXPECT_FALSE(valid_xtext("a b"));
}

// ---------------------------------------------------------------- session

TEST(SmtpSession, GreetingAndEhlo) {
  Driver d;
  EXPECT_EQ(d.output, "220 mx.test ESMTP Postroom\r\n");
  const std::string ehlo = d.send("EHLO client.test\r\n");
  EXPECT_TRUE(starts_with(ehlo, "250-mx.test\r\n"));
  for (const char* ext : {"PIPELINING", "SIZE 26214400", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "STARTTLS",
                          "AUTH PLAIN LOGIN CRAM-MD5"})
    EXPECT_NE(ehlo.find(ext), std::string::npos) << ext;
  EXPECT_TRUE(ehlo.ends_with("250 AUTH PLAIN LOGIN CRAM-MD5\r\n"));
  EXPECT_EQ(d.send("HELO client.test\r\n"), "250 mx.test\r\n");
}

TEST(SmtpSession, FullTransactionWithDotUnstuffing) {
  Driver d;
  d.send("EHLO c\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@example.com>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(d.send("RCPT TO:<b@example.com>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(d.send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(d.send("Subject: hi\r\n\r\n..leading dot\r\n.\r\n"), "250 2.0.0 Ok: queued\r\n");
  ASSERT_EQ(d.backend.delivered.size(), 1u);
  EXPECT_EQ(d.backend.delivered[0], "Subject: hi\r\n\r\n.leading dot\r\n");
  EXPECT_EQ(d.send("QUIT\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_EQ(d.session->next(), Session::Next::close);
}

TEST(SmtpSession, PipelinedCommandsAnsweredInOrder) {
  Driver d;
  d.send("EHLO c\r\n");
  const std::string out = d.send(
      "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<reject@example.com>\r\n"
      "RCPT TO:<c@example.com>\r\nDATA\r\n");
  EXPECT_EQ(out,
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550-5.1.1 No such user: reject@example.com\r\n550 5.1.1 250 ok\r\n"
            "250 2.1.5 Ok\r\n"
            "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(d.session->transaction().recipients.size(), 2u);
  // Message and next commands in one packet, split in odd places.
  EXPECT_EQ(d.send("line 1\r"), "");
  EXPECT_EQ(d.send("\nline 2\r\n.\r"), "");
  EXPECT_EQ(d.send("\nRSET\r\nNOOP\r\n"), "250 2.0.0 Ok: queued\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(d.backend.delivered.at(0), "line 1\r\nline 2\r\n");
}

TEST(SmtpSession, BareLineFeedInDataIsRefused) {
  Driver d;
  d.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(d.send("ok line\r\nsmuggled\n.\r\nMAIL FROM:<x@y.z>\r\n"), "521 5.5.2 Error: bare <LF> received\r\n");
  EXPECT_EQ(d.session->next(), Session::Next::close);
  EXPECT_TRUE(d.backend.delivered.empty());
}

TEST(SmtpSession, BareCarriageReturnInDataIsRefused) {
  Driver d;
  d.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(d.send("text\r.\r\nmore\r\n.\r\n"), "521 5.5.2 Error: bare <CR> received\r\n");
  EXPECT_TRUE(d.backend.delivered.empty());
}

TEST(SmtpSession, SizeLimitWhileReadingData) {
  Driver d;
  d.limits.max_message_size = 100;
  d.start();
  const std::string ehlo = d.send("EHLO c\r\n");
  EXPECT_NE(ehlo.find("SIZE 100\r\n"), std::string::npos);
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c> SIZE=101\r\n"), "552 5.3.4 Error: message too big\r\n");
  d.send("MAIL FROM:<a@b.c> SIZE=50\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  std::string body;
  for (int i = 0; i < 10; ++i) body += "0123456789abcdef\r\n";
  EXPECT_EQ(d.send(body), "");
  EXPECT_EQ(d.send(".\r\n"), "552 5.3.4 Error: message too big\r\n");
  EXPECT_TRUE(d.backend.delivered.empty());
  // The session goes on.
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST(SmtpSession, BackendLowersSizeLimit) {
  Driver d;
  d.backend.transaction_limit = 10;
  d.send("EHLO c\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c> SIZE=11\r\n"), "552 5.3.4 Error: message too big\r\n");
  d.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(d.send("1234567\r\n.\r\n"), "250 2.0.0 Ok: queued\r\n");  // 9 octets
  d.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(d.send("this is longer\r\n.\r\n"), "552 5.3.4 Error: message too big\r\n");
}

TEST(SmtpSession, MaxRecipients) {
  Driver d;
  d.limits.max_recipients = 2;
  d.start();
  d.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(d.send("RCPT TO:<1@e.f>\r\nRCPT TO:<2@e.f>\r\nRCPT TO:<3@e.f>\r\n"),
            "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n452 4.5.3 Error: too many recipients\r\n");
  EXPECT_EQ(d.session->transaction().recipients.size(), 2u);
}

TEST(SmtpSession, ErrorLimitDisconnects) {
  Driver d;
  d.limits.max_errors = 3;
  d.start();
  EXPECT_EQ(d.send("FOO\r\nBAR\r\n"),
            "500 5.5.2 Error: command not recognized\r\n500 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(d.send("BAZ\r\nNOOP\r\n"),
            "500 5.5.2 Error: command not recognized\r\n421 4.7.0 mx.test Error: too many errors\r\n");
  EXPECT_EQ(d.session->next(), Session::Next::close);
}

TEST(SmtpSession, LineTooLong) {
  Driver d;
  EXPECT_EQ(d.send("NOOP " + std::string(600, 'x') + "\r\n"), "500 5.5.2 Error: line too long\r\n");
  // Longer than any buffer: discarded as it arrives, answered once the line ends.
  EXPECT_EQ(d.send(std::string(20000, 'y')), "");
  EXPECT_EQ(d.send(std::string(20000, 'y')), "");
  EXPECT_EQ(d.send("\r\nNOOP\r\n"), "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
  // A text line over 1000 octets rejects the message after the final dot.
  d.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(d.send(std::string(999, 'z') + "\r\n.\r\n"), "500 5.5.2 Error: message line too long\r\n");
  d.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(d.send(std::string(998, 'z') + "\r\n.\r\n"), "250 2.0.0 Ok: queued\r\n");
}

TEST(SmtpSession, RsetClearsTransactionButKeepsAuth) {
  Driver d(true);
  d.ehlo_auth();
  d.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n");
  EXPECT_EQ(d.send("RSET\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(d.send("RCPT TO:<d@e.f>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c>\r\n"), "250 2.1.0 Ok\r\n");  // still authenticated
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c>\r\n"), "503 5.5.1 Error: nested MAIL command\r\n");
}

TEST(SmtpSession, CommandOrder) {
  Driver d;
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  d.send("HELO c\r\n");
  EXPECT_EQ(d.send("DATA\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c> SIZE=10\r\n"), "555 5.5.4 Error: parameters need EHLO\r\n");
  d.send("MAIL FROM:<a@b.c>\r\n");
  EXPECT_EQ(d.send("DATA\r\n"), "554 5.5.1 Error: no valid recipients\r\n");
  EXPECT_EQ(d.send("VRFY x\r\n"), "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n");
  EXPECT_EQ(d.send("RCPT TO:<>\r\n"), "501 5.1.3 Bad recipient address syntax\r\n");
  EXPECT_EQ(d.send("RCPT TO:<postmaster>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST(SmtpSession, EightBitMimeAndSmtputf8) {
  Driver d;
  d.send("EHLO c\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<δ@example.com>\r\n"), "553 5.6.7 Error: this address needs SMTPUTF8\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<δ@example.com> BODY=8BITMIME SMTPUTF8\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(d.session->transaction().params.body, BodyType::eight_bit_mime);
  EXPECT_TRUE(d.session->transaction().params.smtputf8);
  EXPECT_EQ(d.send("RCPT TO:<ü@пример.рф>\r\n"), "250 2.1.5 Ok\r\n");
  d.send("RSET\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c> BODY=BINARYMIME\r\n"), "501 5.5.4 Error: unsupported BODY type\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c> RET=FULL\r\n"), "555 5.5.4 Error: unsupported MAIL parameter\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c> AUTH=<>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST(SmtpSession, AuthRequired) {
  Driver d(true);
  d.send("EHLO c\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c>\r\n"), "530 5.7.1 Authentication required\r\n");
}

TEST(SmtpSession, AuthPlainInitialResponseAndContinuation) {
  Driver d(true);
  EXPECT_EQ(d.ehlo_auth(), "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(d.send("AUTH PLAIN\r\n"), "503 5.5.1 Error: already authenticated\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c>\r\n"), "250 2.1.0 Ok\r\n");
  ASSERT_TRUE(d.session->transaction().identity);
  EXPECT_EQ(d.session->transaction().identity->username, "user");
  EXPECT_EQ(*std::static_pointer_cast<int>(d.session->transaction().identity->data), 42);

  Driver e(true);
  e.send("EHLO c\r\n");
  EXPECT_EQ(e.send("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(e.send(b64(std::string("admin\0user\0wrong", 16)) + "\r\n"), "535 5.7.0 Invalid login or password\r\n");
  EXPECT_EQ(e.backend.attempts.at(0).authorization_id, "admin");
  EXPECT_EQ(e.send("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(e.send("*\r\n"), "501 5.0.0 Error: authentication cancelled\r\n");
  EXPECT_EQ(e.send("AUTH PLAIN !!!!\r\n"), "501 5.5.2 Error: cannot decode response\r\n");
  EXPECT_EQ(e.send("AUTH XOAUTH2 abc\r\n"), "504 5.5.4 Error: unrecognized authentication type\r\n");
}

TEST(SmtpSession, AuthLogin) {
  Driver d(true);
  d.send("EHLO c\r\n");
  EXPECT_EQ(d.send("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(d.send(b64("user") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(d.send(b64("pass") + "\r\n"), "235 2.7.0 Authentication successful\r\n");

  Driver e(true);
  e.send("EHLO c\r\n");
  EXPECT_EQ(e.send("AUTH LOGIN " + b64("user") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");  // initial response
  EXPECT_EQ(e.send("*\r\n"), "501 5.0.0 Error: authentication cancelled\r\n");
  EXPECT_EQ(e.send("AUTH LOGIN " + b64("user") + "\r\n" + b64("pass") + "\r\n"),
            "334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n");
}

TEST(SmtpSession, AuthCramMd5) {
  Driver d(true);
  d.send("EHLO c\r\n");
  const std::string challenge_line = d.send("AUTH CRAM-MD5\r\n");
  ASSERT_TRUE(starts_with(challenge_line, "334 "));
  const auto challenge = base64_decode(challenge_line.substr(4, challenge_line.size() - 6));
  ASSERT_TRUE(challenge);
  EXPECT_TRUE(starts_with(*challenge, "<") && challenge->ends_with("@mx.test>"));
  // RFC 2195 example values check the HMAC itself.
  AuthAttempt rfc;
  rfc.mechanism = AuthMechanism::cram_md5;
  rfc.cram_challenge = "<1896.697170952@postoffice.reston.mci.net>";
  rfc.cram_digest = "b913a602c7eda7a495b4e6e7334d3890";
  EXPECT_TRUE(verify_cram_md5(rfc, "tanstaaftanstaaf"));
  EXPECT_FALSE(verify_cram_md5(rfc, "wrong"));

  EXPECT_EQ(d.send(b64("user 00000000000000000000000000000000") + "\r\n"), "535 5.7.0 Invalid login or password\r\n");
  ASSERT_EQ(d.backend.attempts.size(), 1u);
  EXPECT_EQ(d.backend.attempts[0].cram_challenge, *challenge);
  EXPECT_EQ(d.send("AUTH CRAM-MD5 abc\r\n"), "501 5.5.4 Error: CRAM-MD5 takes no initial response\r\n");
  ASSERT_TRUE(starts_with(d.send("AUTH CRAM-MD5\r\n"), "334 "));
  EXPECT_EQ(d.send("*\r\n"), "501 5.0.0 Error: authentication cancelled\r\n");
}

TEST(SmtpSession, AuthCramMd5Success) {
  Driver d(true);
  d.send("EHLO c\r\n");
  const std::string line = d.send("AUTH CRAM-MD5\r\n");
  const auto challenge = base64_decode(line.substr(4, line.size() - 6));
  ASSERT_TRUE(challenge);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_md5(), "pass", 4, reinterpret_cast<const unsigned char*>(challenge->data()), challenge->size(), digest,
       &length);
  std::string hex;
  for (unsigned i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  EXPECT_EQ(d.send(b64("user " + hex) + "\r\n"), "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(d.session->transaction().identity, std::nullopt);  // no transaction yet
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(d.session->transaction().identity->mechanism, AuthMechanism::cram_md5);
}

TEST(SmtpSession, CramMd5NotOfferedWhenBackendSaysSo) {
  Driver d;
  d.backend.policy.offer_cram_md5 = false;
  d.start();
  EXPECT_TRUE(d.send("EHLO c\r\n").ends_with("250 AUTH PLAIN LOGIN\r\n"));
  EXPECT_EQ(d.send("AUTH CRAM-MD5\r\n"), "504 5.5.4 Error: unrecognized authentication type\r\n");
}

TEST(SmtpSession, AuthOnlyOverTls) {
  Driver d;
  d.backend.policy.auth_requires_tls = true;
  d.start();
  EXPECT_EQ(d.send("EHLO c\r\n").find("AUTH"), std::string::npos);
  EXPECT_EQ(d.send("AUTH PLAIN " + b64(std::string("\0user\0pass", 10)) + "\r\n"),
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
  d.send("STARTTLS\r\n");
  d.session->tls_started();
  EXPECT_NE(d.send("EHLO c\r\n").find("AUTH PLAIN"), std::string::npos);
}

TEST(SmtpSession, StartTlsDiscardsPipelinedInputAndResets) {
  Driver d(true);
  d.ehlo_auth();
  EXPECT_EQ(d.send("STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(d.session->next(), Session::Next::start_tls);
  d.session->tls_started();
  EXPECT_EQ(d.session->next(), Session::Next::read);
  EXPECT_TRUE(d.session->tls_active());
  EXPECT_EQ(d.send(""), "");  // the injected MAIL is gone
  // Everything learned before TLS is forgotten: HELO and the login.
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  const std::string ehlo = d.send("EHLO c\r\n");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c>\r\n"), "530 5.7.1 Authentication required\r\n");
  EXPECT_EQ(d.send("STARTTLS\r\n"), "503 5.5.1 Error: TLS already active\r\n");
}

TEST(SmtpSession, StartTlsNotOfferedOnPlainListener) {
  Driver d(false, ListenerMode::plain);
  EXPECT_EQ(d.send("EHLO c\r\n").find("STARTTLS"), std::string::npos);
  EXPECT_EQ(d.send("STARTTLS\r\n"), "502 5.5.1 Error: command not implemented\r\n");
}

TEST(SmtpSession, BackendRepliesAreSanitizedAndExceptionsBecome451) {
  Driver d;
  d.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\n");
  // The fake backend puts "\r\n250 ok" into its reply text: CR is dropped and LF starts a continuation line
  // with the same code, so the client can never read it as a separate reply.
  EXPECT_EQ(d.send("RCPT TO:<reject@x.y>\r\n"), "550-5.1.1 No such user: reject@x.y\r\n550 5.1.1 250 ok\r\n");
  EXPECT_EQ(d.send("RCPT TO:<throw@x.y>\r\n"), "451 4.3.0 Error: internal error\r\n");
  EXPECT_EQ(d.send("RSET\r\nMAIL FROM:<blocked@b.c>\r\n"), "250 2.0.0 Ok\r\n550 5.7.0 Sender blocked\r\n");
  EXPECT_EQ(d.send("RCPT TO:<x@y.z>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
}

TEST(SmtpSession, TimeoutAndShutdown) {
  Driver d;
  d.session->timeout();
  EXPECT_EQ(d.session->take_output(), "421 4.4.2 mx.test Error: timeout exceeded\r\n");
  EXPECT_EQ(d.session->next(), Session::Next::close);

  Driver idle;
  idle.session->shutdown();
  EXPECT_EQ(idle.session->take_output(), "421 4.3.2 mx.test Service shutting down\r\n");

  // A session in a transaction finishes it, then gets 421.
  Driver busy;
  busy.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nbody\r\n");
  busy.session->shutdown();
  EXPECT_EQ(busy.session->take_output(), "");
  EXPECT_EQ(busy.send(".\r\n"), "250 2.0.0 Ok: queued\r\n421 4.3.2 mx.test Service shutting down\r\n");
  EXPECT_EQ(busy.session->next(), Session::Next::close);
}

TEST(SmtpSession, JunkCommandLimit) {
  Driver d;
  d.limits.max_junk_commands = 2;
  d.start();
  EXPECT_EQ(d.send("NOOP\r\nNOOP\r\nNOOP\r\n"),
            "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n421 4.7.0 mx.test Error: too many commands\r\n");
}

TEST(SmtpSession, HttpRequestIsDropped) {
  Driver d;
  EXPECT_EQ(d.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "521 5.5.1 Error: this is an SMTP server\r\n");
  EXPECT_EQ(d.session->next(), Session::Next::close);
}

TEST(SmtpSession, RefusedByPolicy) {
  Driver d;
  d.backend.policy.refuse = Reply{554, "5.7.1", "Go away"};
  d.start();
  EXPECT_EQ(d.output, "554 5.7.1 Go away\r\n");
  EXPECT_EQ(d.session->next(), Session::Next::close);
}

TEST(SmtpSession, MaxMessagesPerSession) {
  Driver d;
  d.limits.max_messages = 1;
  d.start();
  d.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(d.send("x\r\n.\r\n"), "250 2.0.0 Ok: queued\r\n");
  EXPECT_EQ(d.send("MAIL FROM:<a@b.c>\r\n"), "421 4.7.0 mx.test Error: too many messages in this connection\r\n");
}

TEST(SmtpSession, CommandLineWithBareCrIsRejected) {
  Driver d;
  EXPECT_EQ(d.send("NOOP\rRSET\r\n"), "500 5.5.2 Error: bad character in command\r\n");
  EXPECT_EQ(d.send("NOOP\n"), "250 2.0.0 Ok\r\n");  // a bare LF ends a command line (lenient, harmless)
}

TEST(SmtpSession, UnlimitedTextLinesArriveInPieces) {
  Driver d;
  d.limits.max_text_line = 0;
  d.start();
  d.send("EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  const std::string long_line = "." + std::string(200 * 1024, 'x');
  // Sent in 16 KiB reads as a socket would deliver it, with the CR of the line end at the end of one read.
  const std::string data = "." + long_line + "\r\nshort\r\n.\r\n";
  const std::size_t split = data.find('\r') + 1;
  std::string replies;
  for (std::size_t i = 0; i < split; i += 16384)
    replies += d.send(data.substr(i, std::min<std::size_t>(16384, split - i)));
  replies += d.send(data.substr(split));
  EXPECT_EQ(replies, "250 2.0.0 Ok: queued\r\n");
  ASSERT_EQ(d.backend.delivered.size(), 1u);
  EXPECT_EQ(d.backend.delivered[0], long_line + "\r\nshort\r\n");

  d.send("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
  EXPECT_EQ(d.send(std::string(100 * 1024, 'y') + "\ry" + std::string(100 * 1024, 'y')),
            "521 5.5.2 Error: bare <CR> received\r\n");
}
