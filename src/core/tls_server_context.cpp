// load_server_tls (declared in tls_certificate.h): its own translation unit, so Asio's SSL headers stay out of
// the certificate generator.
#include <boost/asio/ssl/context.hpp>
#include <stdexcept>

#include "core/tls_certificate.h"

namespace postroom {

void load_server_tls(boost::asio::ssl::context& context, const std::string& data_dir,
                     const std::string& configured_cert, const std::string& configured_key, const std::string& server) {
  namespace ssl = boost::asio::ssl;
  if (configured_cert.empty() && configured_key.empty() && data_dir.empty())
    throw std::invalid_argument(server +
                                " TLS listeners need a certificate and key, or a data dir for a generated one");
  const CertificatePaths paths = ensure_certificate(data_dir, configured_cert, configured_key);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  context.use_certificate_chain_file(paths.certificate);
  context.use_private_key_file(paths.private_key, ssl::context::pem);
}

}  // namespace postroom
