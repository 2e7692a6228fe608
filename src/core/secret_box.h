#pragma once
// Sealing of small secrets at rest (DKIM private keys of sending domains) with the installation's master key.
// AES-256-GCM with a fresh random 96-bit nonce per seal; the caller's context string is authenticated as
// associated data, so a sealed value copied to another row (another context) does not open.
#include <string>
#include <string_view>

namespace postroom::crypto {

// Authenticated encryption (AES-256-GCM) of small secrets with the installation's master key.
// Sealed format: "v1:<key id>:<base64(nonce(12) | ciphertext | tag(16))>" (standard alphabet, padded). The
// associated data is "postroom-secret-box:v1:" followed by the context.
// The key is wiped (OPENSSL_cleanse) when a box is destroyed or overwritten. Thread-safe for concurrent
// seal/open on one instance.
class SecretBox {
 public:
  // 32 raw key bytes; throws std::invalid_argument otherwise.
  explicit SecretBox(std::string key);
  SecretBox(const SecretBox& other);
  SecretBox(SecretBox&& other) noexcept;
  SecretBox& operator=(const SecretBox& other);
  SecretBox& operator=(SecretBox&& other) noexcept;
  ~SecretBox();

  // Reads the key file (64 hex chars, optional trailing newline); creates it with a new random key and mode 0600
  // (directory created if missing) when it does not exist. Refuses (std::runtime_error with the path in the
  // message) a file that is malformed, not a regular file, or readable by group/others.
  static SecretBox load_or_create(const std::string& key_file);
  // 64 hex characters (either case); throws std::invalid_argument.
  static SecretBox from_hex(std::string_view hex);

  // `context` is bound as associated data (e.g. "dkim:<domain id>:<selector>").
  std::string seal(std::string_view plaintext, std::string_view context) const;
  // Throws std::runtime_error("sealed with another key") when the key id differs, and std::runtime_error on
  // tampering, a wrong context or malformed input. Never returns partial plaintext.
  std::string open(std::string_view sealed, std::string_view context) const;
  // First 8 hex chars of SHA-256("postroom-secret-box" || key): identifies the key without revealing it.
  const std::string& key_id() const;

 private:
  void wipe() noexcept;

  std::string key_;
  std::string key_id_;
};

}  // namespace postroom::crypto
