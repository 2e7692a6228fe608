#pragma once
// DKIM signing (RFC 6376, relaxed/relaxed; rsa-sha256 and ed25519-sha256 per RFC 8463). The signer returns the
// DKIM-Signature header field to prepend to the message; dual signing (RSA + Ed25519, or two selectors) is two
// calls, each on the original message. OpenSSL stays out of this header.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::dkim {

enum class Algorithm { rsa_sha256, ed25519_sha256 };

std::string_view to_string(Algorithm algorithm);  // "rsa-sha256" / "ed25519-sha256"

// A private key. Immutable; copies share the key and may sign from several threads at once.
class SigningKey {
 public:
  static SigningKey generate_rsa(int bits = 2048);
  static SigningKey generate_ed25519();
  // PKCS#8 or traditional PEM ("BEGIN PRIVATE KEY" / "BEGIN RSA PRIVATE KEY"). Throws std::invalid_argument.
  static SigningKey from_pem(std::string_view pem);
  // DER (PKCS#8 or PKCS#1). Throws std::invalid_argument.
  static SigningKey from_der(std::string_view der);
  // Ed25519 from its 32-byte raw private key (seed). Throws std::invalid_argument.
  static SigningKey ed25519_from_raw(std::string_view seed);

  Algorithm algorithm() const;
  int bits() const;

  std::string private_pem() const;  // PKCS#8
  std::string private_der() const;  // PKCS#8
  std::string public_pem() const;   // SubjectPublicKeyInfo
  std::string public_der() const;   // SubjectPublicKeyInfo
  // The p= value: base64 of the SubjectPublicKeyInfo (RSA) or of the raw 32-byte key (Ed25519, RFC 8463).
  std::string public_key_base64() const;
  // "v=DKIM1; k=rsa; p=…" / "v=DKIM1; k=ed25519; p=…"
  std::string dns_txt_value() const;

  // The signature over `data`: RSASSA-PKCS1-v1_5 with SHA-256 for RSA; Ed25519 over SHA-256(data) for Ed25519
  // (RFC 8463 §3). Raw bytes.
  std::string sign_data(std::string_view data) const;

  struct Handle;

 private:
  explicit SigningKey(std::shared_ptr<const Handle> handle) : handle_(std::move(handle)) {}
  std::shared_ptr<const Handle> handle_;
};

// Splits a TXT value into character-strings of at most `max` octets (DNS limits each string to 255).
std::vector<std::string> split_txt_strings(std::string_view value, std::size_t max = 255);

// Header fields signed when present, in this order (lowercase).
const std::vector<std::string>& default_signed_headers();
// Fields signed once more than they occur (RFC 6376 §8.15), so that adding one breaks the signature.
const std::vector<std::string>& default_oversigned_headers();

struct SignOptions {
  std::string domain;    // d=
  std::string selector;  // s=
  std::string identity;  // i=, optional ("@example.com" or "user@sub.example.com")
  // t=; unset: now.
  std::optional<std::int64_t> timestamp;
  // x= = t + expire_after when set.
  std::optional<std::chrono::seconds> expire_after;
  // Empty: default_signed_headers(). Names are matched case-insensitively.
  std::vector<std::string> headers;
  // Empty: default_oversigned_headers(). Only fields present in the message are oversigned unless
  // oversign_missing, which also lists absent ones once (so that adding them later breaks the signature).
  std::vector<std::string> oversign;
  bool oversign_missing = false;
};

// Returns "DKIM-Signature: …" folded at 78 columns, ending with a line break. Line breaks are CRLF, or LF when
// the message uses bare LF line ends (such messages are canonicalized as if they were CRLF). Throws
// std::invalid_argument when the message has no From field or domain/selector are empty.
std::string sign(std::string_view message, const SigningKey& key, const SignOptions& options);

// Canonicalization, exposed for tests (RFC 6376 §3.4.2 and §3.4.4).
// One header field as it appears (folded, without its final line break) → "name:value" (no CRLF).
std::string canonicalize_header_relaxed(std::string_view field);
// The body (after the blank line) → canonical body, CRLF line ends.
std::string canonicalize_body_relaxed(std::string_view body);
// base64(SHA-256(canonical body)), the bh= value.
std::string body_hash_relaxed(std::string_view body);

std::string base64_encode(std::string_view bytes);

}  // namespace postroom::dkim
