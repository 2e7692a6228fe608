// postroom_dkim: canonicalization (RFC 6376 §3.4), keys, and the RFC 8463 Appendix A test vector.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "dkim/dkim.h"

using namespace postroom::dkim;

namespace {

std::string b64decode(std::string_view s) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : s) {
    const auto v = chars.find(c);
    if (v == std::string::npos) continue;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

const char* const kRfc8463Message =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

}  // namespace

TEST(Canonicalization, Rfc6376Example) {  // RFC 6376 §3.4.5
  EXPECT_EQ(canonicalize_header_relaxed("A: X"), "a:X");
  EXPECT_EQ(canonicalize_header_relaxed("B : Y\t\r\n\tZ  "), "b:Y Z");
  EXPECT_EQ(canonicalize_body_relaxed(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
}

TEST(Canonicalization, HeaderEdges) {
  EXPECT_EQ(canonicalize_header_relaxed("SUBJECT:   hello \t  world\t"), "subject:hello world");
  EXPECT_EQ(canonicalize_header_relaxed("Subject:"), "subject:");
  EXPECT_EQ(canonicalize_header_relaxed("Subject: a\n b\n\tc"), "subject:a b c");  // LF-only folding
  EXPECT_EQ(canonicalize_header_relaxed("X-Utf8: Grüße  aus  Köln"), "x-utf8:Grüße aus Köln");
}

TEST(Canonicalization, BodyEdges) {
  EXPECT_EQ(canonicalize_body_relaxed(""), "");
  EXPECT_EQ(canonicalize_body_relaxed("\r\n"), "");
  EXPECT_EQ(canonicalize_body_relaxed("\r\n\r\n \r\n"), "");
  EXPECT_EQ(canonicalize_body_relaxed("no newline"), "no newline\r\n");
  EXPECT_EQ(canonicalize_body_relaxed("a\n\nb  \n\n"), "a\r\n\r\nb\r\n");
  EXPECT_EQ(canonicalize_body_relaxed("a\r\n \t\r\nb"), "a\r\n\r\nb\r\n");
  EXPECT_EQ(canonicalize_body_relaxed("x\ry \r\n"), "x\ry\r\n");  // a bare CR is data
  // The empty-body hash of relaxed canonicalization (RFC 6376 §3.4.4 with errata 1384: the empty string).
  EXPECT_EQ(body_hash_relaxed(""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST(Rfc8463, Ed25519Vector) {
  const auto key = SigningKey::ed25519_from_raw(b64decode("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="));
  EXPECT_EQ(key.algorithm(), Algorithm::ed25519_sha256);
  EXPECT_EQ(key.public_key_base64(), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  EXPECT_EQ(key.dns_txt_value(), "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");

  const std::string message = kRfc8463Message;
  const auto blank = message.find("\r\n\r\n");
  EXPECT_EQ(body_hash_relaxed(message.substr(blank + 4)), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");

  // The signed data of the example signature (h=from:to:subject:date:message-id:from:subject:date).
  std::string data;
  for (const char* f : {"From: Joe SixPack <joe@football.example.com>", "To: Suzie Q <suzie@shopping.example.net>",
                        "Subject: Is dinner ready?", "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)",
                        "Message-ID: <20030712040037.46341.5F8J@football.example.com>"}) {
    data += canonicalize_header_relaxed(f) + "\r\n";
  }
  data += canonicalize_header_relaxed(
      "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
      " d=football.example.com; i=@football.example.com;\r\n"
      " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
      " subject : date : message-id : from : subject : date;\r\n"
      " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
      " b=");
  EXPECT_EQ(base64_encode(key.sign_data(data)),
            "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");

  // Our own signature of the same message, same key and time: the same bh=, a folded header.
  SignOptions o;
  o.domain = "football.example.com";
  o.selector = "brisbane";
  o.timestamp = 1528637909;
  const std::string sig = sign(message, key, o);
  EXPECT_EQ(sig.rfind("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;", 0), 0u) << sig;
  EXPECT_NE(sig.find("bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;"), std::string::npos) << sig;
  EXPECT_NE(sig.find("t=1528637909;"), std::string::npos);
}

TEST(Sign, HeaderListAndOversigning) {
  const auto key = SigningKey::generate_ed25519();
  SignOptions o;
  o.domain = "example.test";
  o.selector = "s1";
  o.timestamp = 1700000000;
  o.expire_after = std::chrono::seconds(3600);
  const std::string msg =
      "Received: x\r\nFrom: a@example.test\r\nTo: b@example.net\r\nTo: c@example.net\r\nX-Other: y\r\n"
      "Subject: hi\r\n\r\nbody\r\n";
  std::string sig = sign(msg, key, o);
  // Without any whitespace, to read the tags whatever the folding.
  std::string flat;
  for (char c : sig) {
    if (c != '\r' && c != '\n' && c != '\t' && c != ' ') flat.push_back(c);
  }
  EXPECT_NE(flat.find("h=from:from:subject:subject:to:to:to;"), std::string::npos) << flat;
  EXPECT_NE(flat.find("x=1700003600;"), std::string::npos);
  EXPECT_EQ(flat.find("received"), std::string::npos);
  EXPECT_EQ(sig.substr(sig.size() - 2), "\r\n");
  for (std::size_t start = 0, end; (end = sig.find("\r\n", start)) != std::string::npos; start = end + 2) {
    EXPECT_LE(end - start, 78u);
  }

  o.oversign_missing = true;
  flat.clear();
  for (char c : sign(msg, key, o)) {
    if (c != '\r' && c != '\n' && c != '\t' && c != ' ') flat.push_back(c);
  }
  EXPECT_NE(flat.find("reply-to:"), std::string::npos);
  EXPECT_NE(flat.find("list-unsubscribe:"), std::string::npos);

  // LF-only messages get an LF-only header.
  std::string lf = sign("From: a@example.test\nSubject: x\n\nbody\n", key, o);
  EXPECT_EQ(lf.find('\r'), std::string::npos);
  EXPECT_EQ(lf.back(), '\n');
}

TEST(Sign, Rejects) {
  const auto key = SigningKey::generate_ed25519();
  SignOptions o;
  o.domain = "example.test";
  o.selector = "s1";
  EXPECT_THROW(sign("To: b@example.net\r\n\r\nx\r\n", key, o), std::invalid_argument);
  EXPECT_THROW(sign("\r\nFrom: a@example.test\r\n", key, o), std::invalid_argument);
  o.selector = "";
  EXPECT_THROW(sign("From: a@example.test\r\n\r\nx\r\n", key, o), std::invalid_argument);
  o.selector = "bad;sel";
  EXPECT_THROW(sign("From: a@example.test\r\n\r\nx\r\n", key, o), std::invalid_argument);
}

TEST(Keys, ExportImportRoundTrip) {
  const auto rsa = SigningKey::generate_rsa(2048);
  EXPECT_EQ(rsa.algorithm(), Algorithm::rsa_sha256);
  EXPECT_EQ(rsa.bits(), 2048);
  EXPECT_EQ(rsa.private_pem().rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  EXPECT_EQ(rsa.public_pem().rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  const auto again = SigningKey::from_pem(rsa.private_pem());
  EXPECT_EQ(again.public_der(), rsa.public_der());
  EXPECT_EQ(SigningKey::from_der(rsa.private_der()).public_der(), rsa.public_der());
  const std::string txt = rsa.dns_txt_value();
  EXPECT_EQ(txt.rfind("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 0), 0u) << txt;
  const auto parts = split_txt_strings(txt);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].size(), 255u);
  EXPECT_EQ(parts[0] + parts[1], txt);

  const auto ed = SigningKey::generate_ed25519();
  EXPECT_EQ(SigningKey::from_pem(ed.private_pem()).public_key_base64(), ed.public_key_base64());
  EXPECT_EQ(b64decode(ed.public_key_base64()).size(), 32u);
  EXPECT_THROW(SigningKey::from_pem("not a key"), std::invalid_argument);
  EXPECT_THROW(SigningKey::ed25519_from_raw("short"), std::invalid_argument);
  EXPECT_THROW(SigningKey::generate_rsa(512), std::invalid_argument);
}
