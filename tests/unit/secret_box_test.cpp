#include "core/secret_box.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "core/crypto.h"
#include "mime/text.h"
#include "test_support.h"

using postroom::crypto::SecretBox;

namespace {

constexpr std::string_view kContext = "dkim:42:s1";

SecretBox test_box() { return SecretBox(std::string(32, '\x01')); }

// Decodes the base64 payload of a sealed value, applies `edit` to the raw bytes and re-encodes it.
template <typename Edit>
std::string edit_payload(const std::string& sealed, Edit edit) {
  const auto colon = sealed.rfind(':');
  std::string raw;
  EXPECT_TRUE(postroom::mime::text::base64_decode(sealed.substr(colon + 1), raw));
  edit(raw);
  return sealed.substr(0, colon + 1) + postroom::mime::text::base64_encode(raw);
}

// The message of the std::runtime_error that fn throws ("" when it throws nothing or something else).
template <typename Fn>
std::string runtime_error_message(Fn fn) {
  try {
    fn();
  } catch (const std::runtime_error& e) {
    return e.what();
  } catch (...) {
    return "<other exception>";
  }
  return "<no exception>";
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

mode_t file_mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST(SecretBox, RoundTripsTextEmptyAndBinary) {
  const SecretBox box = test_box();
  static const char raw[] = "\0\x01\xff\0-----BEGIN PRIVATE KEY-----\n\0";
  const std::string binary(raw, sizeof raw - 1);  // NUL bytes included
  for (const std::string& plaintext : {std::string("hello"), std::string(), binary, std::string(5000, 'x')}) {
    const std::string sealed = box.seal(plaintext, kContext);
    EXPECT_EQ(sealed.rfind("v1:" + box.key_id() + ":", 0), 0u) << sealed;
    EXPECT_EQ(sealed.find(plaintext.empty() ? std::string("\x01") : plaintext), std::string::npos);
    EXPECT_EQ(box.open(sealed, kContext), plaintext);
  }
}

TEST(SecretBox, SealedFormatIsNonceCiphertextTag) {
  const SecretBox box = test_box();
  const std::string sealed = box.seal("abc", kContext);
  std::string raw;
  ASSERT_TRUE(postroom::mime::text::base64_decode(sealed.substr(sealed.rfind(':') + 1), raw));
  EXPECT_EQ(raw.size(), 12u + 3u + 16u);
}

TEST(SecretBox, EverySealUsesAFreshNonce) {
  const SecretBox box = test_box();
  const std::string a = box.seal("same secret", kContext);
  const std::string b = box.seal("same secret", kContext);
  EXPECT_NE(a, b);
  EXPECT_EQ(box.open(a, kContext), box.open(b, kContext));
}

TEST(SecretBox, WrongContextFails) {
  const SecretBox box = test_box();
  const std::string sealed = box.seal("secret", "dkim:1:s1");
  EXPECT_THROW(box.open(sealed, "dkim:2:s1"), std::runtime_error);
  EXPECT_THROW(box.open(sealed, "dkim:1:s2"), std::runtime_error);
  EXPECT_THROW(box.open(sealed, ""), std::runtime_error);
  EXPECT_EQ(box.open(sealed, "dkim:1:s1"), "secret");
}

TEST(SecretBox, FlippedBytesFail) {
  const SecretBox box = test_box();
  const std::string sealed = box.seal("a DKIM private key", kContext);
  const std::size_t raw_size = 12 + 18 + 16;
  for (std::size_t index :
       {std::size_t{0}, std::size_t{11}, std::size_t{12}, std::size_t{29}, std::size_t{30}, raw_size - 1}) {
    for (unsigned char bit : {0x01, 0x80}) {
      const std::string tampered = edit_payload(sealed, [&](std::string& raw) {
        ASSERT_EQ(raw.size(), raw_size);
        raw[index] = static_cast<char>(raw[index] ^ bit);
      });
      EXPECT_THROW(box.open(tampered, kContext), std::runtime_error) << "byte " << index;
    }
  }
  // Truncated or extended payloads fail too.
  EXPECT_THROW(box.open(edit_payload(sealed, [](std::string& raw) { raw.pop_back(); }), kContext), std::runtime_error);
  EXPECT_THROW(box.open(edit_payload(sealed, [](std::string& raw) { raw.push_back('x'); }), kContext),
               std::runtime_error);
  EXPECT_THROW(box.open(edit_payload(sealed, [](std::string& raw) { raw.erase(12, 1); }), kContext),
               std::runtime_error);
}

TEST(SecretBox, OtherKeyFailsWithAnotherKeyMessage) {
  const SecretBox box = test_box();
  const SecretBox other(std::string(32, '\x02'));
  EXPECT_NE(box.key_id(), other.key_id());
  const std::string sealed = box.seal("secret", kContext);
  EXPECT_EQ(runtime_error_message([&] { other.open(sealed, kContext); }), "sealed with another key");
  // A forged key id does not get past the tag either.
  std::string forged = sealed;
  forged.replace(3, 8, other.key_id());
  EXPECT_THROW(other.open(forged, kContext), std::runtime_error);
}

TEST(SecretBox, KeyIdIsHashPrefixOfLabelAndKey) {
  const std::string key(32, '\x01');
  const SecretBox box(key);
  EXPECT_EQ(box.key_id(), postroom::crypto::sha256_hex("postroom-secret-box" + key).substr(0, 8));
  EXPECT_EQ(box.key_id().size(), 8u);
  EXPECT_EQ(SecretBox::from_hex(std::string(64, '0')).key_id(), SecretBox(std::string(32, '\0')).key_id());
}

TEST(SecretBox, MalformedSealedStringsFailCleanly) {
  const SecretBox box = test_box();
  const std::string good = box.seal("secret", kContext);
  const std::string head = "v1:" + box.key_id() + ":";
  const std::string short_payload = postroom::mime::text::base64_encode(std::string(27, 'a'));
  for (const std::string& bad : {
           std::string(), std::string("secret"),
           good.substr(3),                                                      // no prefix
           "v2:" + good.substr(3),                                              // unknown version
           std::string("v1:"),                                                  // nothing after the prefix
           "v1:" + box.key_id(),                                                // no payload separator
           "v1:" + box.key_id().substr(0, 7) + ":" + good.substr(head.size()),  // short key id
           "v1:" + std::string("ZZZZZZZZ") + ":" + good.substr(head.size()),    // key id not hex
           head,                                                                // empty payload
           head + "!!!!",                                                       // not base64
           head + good.substr(head.size()) + " ",
           head + good.substr(head.size(), good.size() - head.size() - 1),  // length not a multiple of 4
           head + "A===",
           head + short_payload,  // shorter than nonce + tag
       }) {
    EXPECT_THROW(box.open(bad, kContext), std::runtime_error) << bad;
  }
}

TEST(SecretBox, RejectsBadKeys) {
  EXPECT_THROW(static_cast<void>(SecretBox{std::string(31, 'k')}), std::invalid_argument);
  EXPECT_THROW(static_cast<void>(SecretBox{std::string(33, 'k')}), std::invalid_argument);
  EXPECT_THROW(static_cast<void>(SecretBox{std::string()}), std::invalid_argument);
  EXPECT_THROW(SecretBox::from_hex(std::string(63, 'a')), std::invalid_argument);
  EXPECT_THROW(SecretBox::from_hex(std::string(66, 'a')), std::invalid_argument);
  EXPECT_THROW(SecretBox::from_hex(std::string(63, 'a') + "g"), std::invalid_argument);
  const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(SecretBox::from_hex(hex).key_id(), SecretBox::from_hex(upper).key_id());
}

TEST(SecretBox, CopiesAndMovesKeepWorking) {
  SecretBox box = test_box();
  const std::string sealed = box.seal("secret", kContext);
  SecretBox copy = box;
  SecretBox moved = std::move(box);
  EXPECT_EQ(copy.open(sealed, kContext), "secret");
  EXPECT_EQ(moved.open(sealed, kContext), "secret");
  SecretBox other(std::string(32, '\x02'));
  other = copy;
  EXPECT_EQ(other.open(sealed, kContext), "secret");
}

TEST(SecretBox, LoadOrCreateCreatesA0600KeyFileAndLoadsItAgain) {
  const std::string dir = postroom::test_support::temp_dir() + "/keys/nested";
  const std::string path = dir + "/domain-keys.key";
  const SecretBox first = SecretBox::load_or_create(path);
  ASSERT_TRUE(std::filesystem::is_regular_file(path));
  EXPECT_EQ(file_mode(path), 0600u);
  EXPECT_EQ(std::filesystem::file_size(path), 65u);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u) << "no temporary file left behind";

  const SecretBox second = SecretBox::load_or_create(path);
  EXPECT_EQ(first.key_id(), second.key_id());
  EXPECT_EQ(second.open(first.seal("private key", kContext), kContext), "private key");

  // Another installation gets another key.
  const SecretBox third = SecretBox::load_or_create(postroom::test_support::temp_dir() + "/other.key");
  EXPECT_NE(third.key_id(), first.key_id());
}

TEST(SecretBox, LoadOrCreateReadsAnExistingKeyWithOrWithoutNewline) {
  const std::string dir = postroom::test_support::temp_dir();
  const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  write_file(dir + "/a.key", hex, 0600);
  write_file(dir + "/b.key", hex + "\n", 0400);
  EXPECT_EQ(SecretBox::load_or_create(dir + "/a.key").key_id(), SecretBox::from_hex(hex).key_id());
  EXPECT_EQ(SecretBox::load_or_create(dir + "/b.key").key_id(), SecretBox::from_hex(hex).key_id());
}

TEST(SecretBox, LoadOrCreateRefusesGroupOrWorldReadableFile) {
  const std::string dir = postroom::test_support::temp_dir();
  const std::string path = dir + "/domain-keys.key";
  SecretBox::load_or_create(path);
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  const std::string message = runtime_error_message([&] { SecretBox::load_or_create(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  EXPECT_THROW(SecretBox::load_or_create(path), std::runtime_error);
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_NO_THROW(SecretBox::load_or_create(path));
}

TEST(SecretBox, LoadOrCreateRefusesMalformedFile) {
  const std::string dir = postroom::test_support::temp_dir();
  const std::string hex(64, 'a');
  for (const std::string& content : {std::string("not a key\n"), std::string(), std::string("\n"), hex.substr(2),
                                     hex + "aa", hex + "\n\n", hex.substr(1) + "g", " " + hex, hex + "\r\n"}) {
    const std::string path = dir + "/bad.key";
    write_file(path, content, 0600);
    const std::string message = runtime_error_message([&] { SecretBox::load_or_create(path); });
    EXPECT_NE(message.find(path), std::string::npos) << "content " << content << ": " << message;
    EXPECT_EQ(message.find(hex.substr(0, 16)), std::string::npos) << "the message must not echo the key";
  }
  // A directory where the file should be is refused, not replaced.
  std::filesystem::create_directories(dir + "/dir.key");
  EXPECT_NE(runtime_error_message([&] { SecretBox::load_or_create(dir + "/dir.key"); }).find(dir + "/dir.key"),
            std::string::npos);
}
