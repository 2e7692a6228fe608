#include <gtest/gtest.h>

#include <string>

#include "core/compression.h"
#include "mime/build.h"
#include "mime/message.h"
#include "mime/text.h"

using namespace postroom;
using namespace postroom::mime;

namespace {

OutgoingMessage sample() {
  OutgoingMessage m;
  m.from = {"Jürgen Müller", "juergen@example.com"};
  m.to = {{"Alice", "alice@example.com"}, {"", "bob@example.com"}};
  m.cc = {{"Carol \"C\" Smith", "carol@example.com"}};
  m.bcc = {{"Hidden", "hidden@example.com"}};
  m.reply_to = {{"", "replies@example.com"}};
  m.subject = "Grüße — a subject long enough to need folding into several encoded words, surely, yes";
  m.text = "Hello,\nnon-ASCII: é\n";
  m.html = "<p>Hello <img src=\"cid:logo\"></p>";
  m.attachments.push_back({std::string("\x89PNG\r\n\x1a\n", 8), "logo.png", "image/png", "inline", "logo"});
  m.attachments.push_back({std::string(1000, 'A'), "Résumé 2024.pdf", "application/pdf", "", ""});
  m.headers = {{"X-Custom", "value"}, {"Bcc", "leak@example.com"}, {"Content-Type", "text/evil"}};
  m.category = "Welcome";
  m.custom_variables = R"({"user_id":"45982","batch":7})";
  return m;
}

BuildOptions fixed_options() {
  BuildOptions options;
  options.message_id = "fixed-id@postroom.test";
  options.date = 1350625719;
  options.boundary_seed = "seed";
  return options;
}

std::string header_value(const ParsedMessage& m, std::string_view name) {
  for (const Header& header : m.headers) {
    if (text::equals_ignore_case(header.name, name)) return header.value;
  }
  return "<absent>";
}

}  // namespace

TEST(MimeBuild, RoundTripThroughTheParser) {
  const OutgoingMessage out = sample();
  const std::string raw = build_message(out, fixed_options());
  const ParsedMessage in = parse_message(raw);
  ASSERT_TRUE(in.from);
  EXPECT_EQ(*in.from, out.from);
  ASSERT_EQ(in.to.size(), 2u);
  EXPECT_EQ(in.to[0], out.to[0]);
  EXPECT_EQ(in.to[1], out.to[1]);
  ASSERT_EQ(in.cc.size(), 1u);
  EXPECT_EQ(in.cc[0], out.cc[0]);
  EXPECT_TRUE(in.bcc.empty());
  ASSERT_EQ(in.reply_to.size(), 1u);
  EXPECT_EQ(in.subject, out.subject);
  EXPECT_EQ(in.date.value(), 1350625719);
  EXPECT_EQ(in.message_id, "fixed-id@postroom.test");
  ASSERT_TRUE(in.text_body);
  EXPECT_EQ(*in.text_body, "Hello,\r\nnon-ASCII: é\r\n");
  ASSERT_TRUE(in.html_body);
  EXPECT_EQ(*in.html_body, *out.html);
  ASSERT_EQ(in.attachments.size(), 2u);
  EXPECT_EQ(in.attachments[0].content_id, "logo");
  EXPECT_EQ(in.attachments[0].disposition, "inline");
  EXPECT_EQ(attachment_content(raw, 0).value(), out.attachments[0].content);
  EXPECT_EQ(in.attachments[1].filename, "Résumé 2024.pdf");
  EXPECT_EQ(in.attachments[1].disposition, "attachment");
  EXPECT_EQ(attachment_content(raw, 1).value(), out.attachments[1].content);
  EXPECT_EQ(header_value(in, "X-MT-Category"), "Welcome");
  EXPECT_EQ(header_value(in, "X-MT-Custom-Variables"), out.custom_variables);
  EXPECT_EQ(header_value(in, "X-Custom"), "value");
  EXPECT_EQ(header_value(in, "MIME-Version"), "1.0");
}

TEST(MimeBuild, WireFormatRules) {
  const std::string raw = build_message(sample(), fixed_options());
  EXPECT_EQ(raw.find("hidden@example.com"), std::string::npos);
  EXPECT_EQ(raw.find("leak@example.com"), std::string::npos);
  EXPECT_EQ(raw.find("text/evil"), std::string::npos);
  EXPECT_NE(raw.find("multipart/mixed"), std::string::npos);
  EXPECT_NE(raw.find("multipart/alternative"), std::string::npos);
  EXPECT_NE(raw.find("multipart/related"), std::string::npos);
  EXPECT_NE(raw.find("Date: Fri, 19 Oct 2012 05:48:39 +0000\r\n"), std::string::npos);
  EXPECT_NE(raw.find("Message-ID: <fixed-id@postroom.test>\r\n"), std::string::npos);
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n') {
      ASSERT_GT(i, 0u);
      ASSERT_EQ(raw[i - 1], '\r') << "bare LF at " << i;
      EXPECT_LE(i - 1 - line_start, 998u);
      line_start = i + 1;
    } else {
      ASSERT_NE(static_cast<unsigned char>(raw[i]) & 0x80, 0x80) << "8-bit byte at " << i;
    }
  }
  // Reproducible with fixed options.
  EXPECT_EQ(raw, build_message(sample(), fixed_options()));
}

TEST(MimeBuild, HeaderInjectionIsImpossible) {
  OutgoingMessage m;
  m.from = {"Evil\r\nBcc: x@evil.example", "a@example.com"};
  m.to = {{"", "b@example.com"}};
  m.subject = "Hi\r\nX-Injected: yes";
  m.text = "body";
  m.headers = {{"X-Ok", "1\r\nX-Injected: yes"}, {"Bad Name", "v"}, {"X-Colon:", "v"}, {"", "v"}};
  m.category = "c\nX-Injected: 1";
  const std::string raw = build_message(m, fixed_options());
  EXPECT_EQ(raw.find("\r\nX-Injected"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("\r\nBcc:"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("Bad Name"), std::string::npos);
  EXPECT_EQ(raw.find("X-Colon"), std::string::npos);
  EXPECT_NE(raw.find("X-Ok: 1 X-Injected: yes\r\n"), std::string::npos) << raw;
}

TEST(MimeBuild, SingleBodiesAndLongLines) {
  OutgoingMessage m;
  m.from = {"", "a@example.com"};
  m.to = {{"", "b@example.com"}};
  m.subject = "plain";
  m.text = std::string(3000, 'x') + "\n" + std::string(5000, 'y');
  std::string raw = build_message(m, fixed_options());
  EXPECT_NE(raw.find("Content-Transfer-Encoding: quoted-printable"), std::string::npos);
  EXPECT_EQ(raw.find("multipart"), std::string::npos);
  ParsedMessage parsed = parse_message(raw);
  ASSERT_TRUE(parsed.text_body);
  EXPECT_TRUE(*parsed.text_body == std::string(3000, 'x') + "\r\n" + std::string(5000, 'y'));

  m.text.reset();
  m.html = "<p>" + std::string(2000, 'z') + "</p>";
  m.headers = {{"X-Long", std::string(2500, 'q')}};
  raw = build_message(m, fixed_options());
  parsed = parse_message(raw);
  EXPECT_FALSE(parsed.text_body);
  ASSERT_TRUE(parsed.html_body);
  EXPECT_TRUE(*parsed.html_body == *m.html);
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n') {
      EXPECT_LE(i - 1 - line_start, 998u);
      line_start = i + 1;
    }
  }

  m.html = "Привет мир, это длинный текст на русском языке";
  parsed = parse_message(build_message(m, fixed_options()));
  EXPECT_EQ(*parsed.html_body, *m.html);
}

TEST(MimeText, EncodingHelpers) {
  std::string decoded;
  EXPECT_TRUE(text::base64_decode("aGVsbG8gd29ybGQ=", decoded));
  EXPECT_EQ(decoded, "hello world");
  EXPECT_TRUE(text::base64_decode("aGVs\r\nbG8=", decoded));
  EXPECT_EQ(decoded, "hello");
  EXPECT_TRUE(text::base64_decode("aGVsbG8", decoded));  // unpadded
  EXPECT_FALSE(text::base64_decode("aGVsbG8=x", decoded));
  EXPECT_FALSE(text::base64_decode("not base64!", decoded));
  EXPECT_FALSE(text::base64_decode("a", decoded));
  EXPECT_EQ(text::base64_encode(""), "");
  EXPECT_EQ(text::base64_encode("ab"), "YWI=");
  EXPECT_EQ(text::encode_header_text("plain ascii"), "plain ascii");
  EXPECT_EQ(text::encode_display_name("Bob, Jr."), "\"Bob, Jr.\"");
  EXPECT_EQ(text::encode_display_name("Bob Smith"), "Bob Smith");
  EXPECT_EQ(text::quoted_printable_encode("a=b \nc"), "a=3Db=20\r\nc");
}

TEST(Compression, RoundTripAndBounds) {
  const std::string data = std::string(100000, 'a') + "tail";
  const std::string packed = zstd_compress(data);
  EXPECT_LT(packed.size(), data.size() / 10);
  EXPECT_EQ(zstd_decompress(packed, data.size()).value(), data);
  EXPECT_FALSE(zstd_decompress(packed, data.size() - 1).has_value());
  EXPECT_FALSE(zstd_decompress("not zstd", 1000).has_value());
  EXPECT_FALSE(zstd_decompress(packed.substr(0, packed.size() / 2), data.size()).has_value());
  EXPECT_EQ(zstd_decompress(zstd_compress(""), 0).value(), "");
  // A highly compressible bomb stays bounded by max_size.
  const std::string bomb = zstd_compress(std::string(50'000'000, '\0'), 19);
  EXPECT_FALSE(zstd_decompress(bomb, 1'000'000).has_value());
}
