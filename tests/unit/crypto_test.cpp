#include "core/crypto.h"

#include <gtest/gtest.h>

#include <set>

using namespace postroom::crypto;

TEST(Crypto, ApiTokensCarry256BitsAsHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 500; ++i) {
    const std::string token = new_api_token();
    ASSERT_EQ(token.size(), 64u);
    ASSERT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 500u);
}

TEST(Crypto, Sha256MatchesKnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("abcdef", "abcdef"));
  EXPECT_FALSE(constant_time_equals("abcdef", "abcdeg"));
  EXPECT_FALSE(constant_time_equals("abc", "abcd"));
  EXPECT_TRUE(constant_time_equals("", ""));
}

TEST(Crypto, PasswordHashVerifiesOnlyTheRightPassword) {
  const std::string encoded = hash_password("correct horse", 1000);
  EXPECT_EQ(encoded.rfind("pbkdf2-sha256$1000$", 0), 0u);
  EXPECT_EQ(encoded.find("correct horse"), std::string::npos);
  EXPECT_TRUE(verify_password("correct horse", encoded));
  EXPECT_FALSE(verify_password("correct horsE", encoded));
  EXPECT_FALSE(verify_password("", encoded));
  EXPECT_NE(hash_password("correct horse", 1000), encoded) << "salts must differ";
}

TEST(Crypto, MalformedPasswordHashesNeverVerify) {
  for (const char* bad : {"", "pbkdf2-sha256", "pbkdf2-sha256$x$00$00", "md5$1$00$00", "pbkdf2-sha256$1000$zz$00",
                          "pbkdf2-sha256$0$0011$"
                          "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"})
    EXPECT_FALSE(verify_password("x", bad)) << bad;
}

TEST(Crypto, GeneratedPasswordsAndHexHaveTheRequestedShape) {
  const std::string password = random_password(20);
  EXPECT_EQ(password.size(), 20u);
  EXPECT_EQ(password.find_first_not_of("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"), std::string::npos);
  EXPECT_EQ(random_hex(14).size(), 14u);
  EXPECT_EQ(random_hex(7).size(), 7u);
}
