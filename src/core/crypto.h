#pragma once
// Randomness, hashing and comparisons used for credentials. Everything secret goes through here so the
// rules (CSPRNG only, hash at rest, constant-time compares) live in one place.
#include <cstddef>
#include <string>
#include <string_view>

namespace postroom::crypto {

// Cryptographically secure random bytes (OpenSSL RAND_bytes); throws on failure.
std::string random_bytes(std::size_t count);
std::string to_hex(std::string_view bytes);
// A new API token: 32 random bytes (256 bits) as 64 lowercase hex characters.
std::string new_api_token();
// Random lowercase hex string of the given length, for credentials shown to users (SMTP user/pass).
std::string random_hex(std::size_t length);
// Random password made of letters and digits, for generated user passwords.
std::string random_password(std::size_t length);

// A random (version 4) UUID in its lowercase text form: template uuids, sent message ids, suppression ids.
std::string new_uuid();
std::string sha256_hex(std::string_view data);
bool constant_time_equals(std::string_view a, std::string_view b);

// Password hashing: PBKDF2-HMAC-SHA256 with a random salt, encoded as
// "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>".
std::string hash_password(std::string_view password, int iterations = 210000);
bool verify_password(std::string_view password, std::string_view encoded);

}  // namespace postroom::crypto
