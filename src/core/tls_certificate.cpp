#include "core/tls_certificate.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace postroom {
namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;

void check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string("TLS certificate generation failed: ") + what);
}

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) throw std::runtime_error("TLS certificate generation failed: extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

void write_pem(const std::string& path, bool is_key, EVP_PKEY* key, X509* cert) {
  // Private key readable by the owner only.
  const mode_t old_mask = umask(is_key ? 077 : 022);
  FILE* file = std::fopen(path.c_str(), "wb");
  umask(old_mask);
  if (!file) throw std::runtime_error("cannot write " + path);
  const int ok =
      is_key ? PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) : PEM_write_X509(file, cert);
  std::fclose(file);
  check(ok, "write PEM");
}

}  // namespace

CertificatePaths ensure_certificate(const std::string& data_dir, const std::string& configured_cert,
                                    const std::string& configured_key) {
  if (!configured_cert.empty() || !configured_key.empty()) {
    if (configured_cert.empty() || configured_key.empty())
      throw std::invalid_argument("--tls-cert and --tls-key must be given together");
    return {configured_cert, configured_key, false};
  }
  const std::filesystem::path dir = std::filesystem::path(data_dir) / "tls";
  CertificatePaths paths{(dir / "cert.pem").string(), (dir / "key.pem").string(), true};
  if (std::filesystem::exists(paths.certificate) && std::filesystem::exists(paths.private_key)) return paths;
  std::filesystem::create_directories(dir);

  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("TLS certificate generation failed: key");
  CertPtr cert(X509_new());
  check(X509_set_version(cert.get(), 2), "version");
  unsigned char serial[16];
  FILE* urandom = std::fopen("/dev/urandom", "rb");
  if (!urandom || std::fread(serial, 1, sizeof serial, urandom) != sizeof serial)
    throw std::runtime_error("no randomness");
  std::fclose(urandom);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  check(X509_set_pubkey(cert.get(), key.get()), "pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Postroom"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  check(X509_set_issuer_name(cert.get(), name), "issuer");
  add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0)
    throw std::runtime_error("TLS certificate generation failed: sign");
  write_pem(paths.private_key, true, key.get(), nullptr);
  write_pem(paths.certificate, false, nullptr, cert.get());
  return paths;
}

}  // namespace postroom
