#pragma once
// TLS certificate material for the listeners: the configured PEM files, or a self-signed certificate
// generated once into the data dir (so TLS works out of the box for local development).
#include <string>

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

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

// Sets up a server TLS context (TLS 1.2 and later) with the certificate ensure_certificate() names. `server`
// ("SMTP", "POP3") goes into the error when neither files nor a data dir are given.
void load_server_tls(boost::asio::ssl::context& context, const std::string& data_dir,
                     const std::string& configured_cert, const std::string& configured_key, const std::string& server);

}  // namespace postroom
