#pragma once
// TLS certificate material for the listeners: the configured PEM files, or a self-signed certificate
// generated once into the data dir (so TLS works out of the box for local development).
#include <string>

namespace postroom {

struct CertificatePaths {
  std::string certificate;
  std::string private_key;
  bool generated = false;
};

// Returns the configured paths when both are given; otherwise makes sure <data_dir>/tls/{cert,key}.pem
// exist (creating a self-signed ECDSA P-256 certificate for localhost/127.0.0.1 if not) and returns them.
CertificatePaths ensure_certificate(const std::string& data_dir, const std::string& configured_cert,
                                    const std::string& configured_key);

}  // namespace postroom
