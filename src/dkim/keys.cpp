#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "dkim/dkim.h"

namespace postroom::dkim {

struct SigningKey::Handle {
  EVP_PKEY* pkey = nullptr;
  ~Handle() { EVP_PKEY_free(pkey); }
};

namespace {

std::string openssl_error(const char* what) {
  std::string out(what);
  if (const unsigned long e = ERR_get_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  ERR_clear_error();
  return out;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

}  // namespace

std::string_view to_string(Algorithm algorithm) {
  return algorithm == Algorithm::ed25519_sha256 ? "ed25519-sha256" : "rsa-sha256";
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

SigningKey SigningKey::generate_rsa(int bits) {
  if (bits < 1024 || bits > 8192) throw std::invalid_argument("RSA key size must be 1024-8192 bits");
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  if (!pkey) throw std::runtime_error(openssl_error("RSA key generation failed"));
  auto h = std::make_shared<Handle>();
  h->pkey = pkey;
  return SigningKey(std::move(h));
}

SigningKey SigningKey::generate_ed25519() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!pkey) throw std::runtime_error(openssl_error("Ed25519 key generation failed"));
  auto h = std::make_shared<Handle>();
  h->pkey = pkey;
  return SigningKey(std::move(h));
}

namespace {
SigningKey::Handle* checked(EVP_PKEY* pkey, const char* what) {
  if (!pkey) throw std::invalid_argument(openssl_error(what));
  const int id = EVP_PKEY_get_base_id(pkey);
  if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    throw std::invalid_argument("DKIM keys must be RSA or Ed25519");
  }
  if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) < 1024) {
    EVP_PKEY_free(pkey);
    throw std::invalid_argument("RSA keys shorter than 1024 bits are not accepted (RFC 8301)");
  }
  auto* h = new SigningKey::Handle;
  h->pkey = pkey;
  return h;
}
}  // namespace

SigningKey SigningKey::from_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  return SigningKey(std::shared_ptr<const Handle>(checked(pkey, "cannot read the PEM private key")));
}

SigningKey SigningKey::from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* pkey = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size()));
  return SigningKey(std::shared_ptr<const Handle>(checked(pkey, "cannot read the DER private key")));
}

SigningKey SigningKey::ed25519_from_raw(std::string_view seed) {
  if (seed.size() != 32) throw std::invalid_argument("an Ed25519 private key is 32 bytes");
  EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                                reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  return SigningKey(std::shared_ptr<const Handle>(checked(pkey, "bad Ed25519 key")));
}

Algorithm SigningKey::algorithm() const {
  return EVP_PKEY_get_base_id(handle_->pkey) == EVP_PKEY_ED25519 ? Algorithm::ed25519_sha256 : Algorithm::rsa_sha256;
}

int SigningKey::bits() const { return EVP_PKEY_get_bits(handle_->pkey); }

std::string SigningKey::private_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), handle_->pkey, nullptr, nullptr, 0, nullptr, nullptr)) {
    throw std::runtime_error(openssl_error("PEM export failed"));
  }
  return bio_contents(bio.get());
}

std::string SigningKey::private_der() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!i2d_PKCS8PrivateKey_bio(bio.get(), handle_->pkey, nullptr, nullptr, 0, nullptr, nullptr)) {
    throw std::runtime_error(openssl_error("DER export failed"));
  }
  return bio_contents(bio.get());
}

std::string SigningKey::public_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PUBKEY(bio.get(), handle_->pkey)) throw std::runtime_error(openssl_error("PEM export failed"));
  return bio_contents(bio.get());
}

std::string SigningKey::public_der() const {
  unsigned char* buf = nullptr;
  const int len = i2d_PUBKEY(handle_->pkey, &buf);
  if (len <= 0) throw std::runtime_error(openssl_error("DER export failed"));
  std::string out(reinterpret_cast<char*>(buf), static_cast<std::size_t>(len));
  OPENSSL_free(buf);
  return out;
}

std::string SigningKey::public_key_base64() const {
  if (algorithm() == Algorithm::ed25519_sha256) {
    unsigned char raw[32];
    size_t len = sizeof raw;
    if (!EVP_PKEY_get_raw_public_key(handle_->pkey, raw, &len)) {
      throw std::runtime_error(openssl_error("Ed25519 public key export failed"));
    }
    return base64_encode(std::string_view(reinterpret_cast<char*>(raw), len));
  }
  return base64_encode(public_der());
}

std::string SigningKey::dns_txt_value() const {
  return std::string("v=DKIM1; k=") + (algorithm() == Algorithm::ed25519_sha256 ? "ed25519" : "rsa") +
         "; p=" + public_key_base64();
}

std::string SigningKey::sign_data(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx) throw std::bad_alloc();
  std::string out;
  if (algorithm() == Algorithm::ed25519_sha256) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (!EVP_Digest(data.data(), data.size(), digest, &digest_len, EVP_sha256(), nullptr) ||
        EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, handle_->pkey) != 1) {
      throw std::runtime_error(openssl_error("Ed25519 signing failed"));
    }
    size_t len = 64;
    out.resize(len);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, digest, digest_len) != 1) {
      throw std::runtime_error(openssl_error("Ed25519 signing failed"));
    }
    out.resize(len);
    return out;
  }
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, handle_->pkey) != 1 ||
      EVP_DigestSignUpdate(ctx.get(), data.data(), data.size()) != 1) {
    throw std::runtime_error(openssl_error("RSA signing failed"));
  }
  size_t len = 0;
  if (EVP_DigestSignFinal(ctx.get(), nullptr, &len) != 1) throw std::runtime_error(openssl_error("RSA signing failed"));
  out.resize(len);
  if (EVP_DigestSignFinal(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) != 1) {
    throw std::runtime_error(openssl_error("RSA signing failed"));
  }
  out.resize(len);
  return out;
}

std::vector<std::string> split_txt_strings(std::string_view value, std::size_t max) {
  std::vector<std::string> out;
  if (max == 0) max = 255;
  while (!value.empty()) {
    out.emplace_back(value.substr(0, max));
    value.remove_prefix(std::min(max, value.size()));
  }
  if (out.empty()) out.emplace_back();
  return out;
}

}  // namespace postroom::dkim
