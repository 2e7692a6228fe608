// DKIM and DNS throughput for the sending-domains targets (driven by bench/dkim_dns.sh):
//   dkim_dns_bench sign SECONDS                 RSA-2048 (and Ed25519) signatures/s of a 100 KB message, one core
//   dkim_dns_bench resolve SERVER DOMAINS INFLIGHT   DOMAINS × 5 queries (TXT, DKIM TXT, DMARC TXT, MX, CNAME)
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "dkim/dkim.h"
#include "dns/resolver.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

std::string message_100k() {
  std::string m =
      "From: Sender <sender@example.test>\r\nTo: Rcpt <rcpt@example.net>\r\nSubject: Benchmark\r\n"
      "Date: Mon, 23 Nov 2026 01:00:00 +0000\r\nMessage-ID: <bench@example.test>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n\r\n";
  while (m.size() < 100 * 1024) m += "Lorem ipsum dolor sit amet,  consectetur adipiscing elit \t sed do eiusmod.\r\n";
  return m;
}

void bench_sign(double duration) {
  const std::string msg = message_100k();
  postroom::dkim::SignOptions o;
  o.domain = std::string("example.test");
  o.selector = std::string("sel1");
  const std::vector<postroom::dkim::SigningKey> keys = {postroom::dkim::SigningKey::generate_rsa(2048),
                                                        postroom::dkim::SigningKey::generate_ed25519()};
  for (const auto& key : keys) {
    std::size_t n = 0;
    std::size_t bytes = 0;
    const auto start = std::chrono::steady_clock::now();
    while (seconds_since(start) < duration) {
      bytes += postroom::dkim::sign(msg, key, o).size();
      ++n;
    }
    const double secs = seconds_since(start);
    std::cout << "sign " << postroom::dkim::to_string(key.algorithm()) << " message_bytes=" << msg.size()
              << " signatures=" << n << " seconds=" << secs << " per_second=" << static_cast<long>(n / secs)
              << (bytes == 0 ? " (empty)" : "") << "\n";
  }
}

int bench_resolve(const std::string& server, int domains, int in_flight) {
  using postroom::dns::RecordType;
  std::vector<postroom::dns::Query> queries;
  for (int i = 0; i < domains; ++i) {
    std::string d = std::to_string(i);
    d.insert(0, 1, 'd');
    d += ".bench.test";
    queries.push_back({d, RecordType::txt});
    queries.push_back({std::string("s1._domainkey.").append(d), RecordType::txt});
    queries.push_back({std::string("_dmarc.").append(d), RecordType::txt});
    queries.push_back({d, RecordType::mx});
    queries.push_back({std::string("s2._domainkey.").append(d), RecordType::cname});
  }
  postroom::dns::ResolverOptions o;
  o.servers = {server};
  postroom::dns::Resolver resolver(o);
  const auto start = std::chrono::steady_clock::now();
  const auto answers = resolver.resolve_all(queries, in_flight);
  const double secs = seconds_since(start);
  std::size_t ok = 0;
  for (const auto& a : answers) ok += a.ok() ? 1 : 0;
  std::cout << "resolve domains=" << domains << " queries=" << queries.size() << " ok=" << ok
            << " in_flight=" << in_flight << " seconds=" << secs << " peak_rss_mb=" << peak_rss_kb() / 1024.0
            << std::endl;
  return ok == answers.size() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "sign" && argc == 3) {
    bench_sign(std::atof(argv[2]));
    return 0;
  }
  if (mode == "resolve" && argc == 5) return bench_resolve(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  std::cerr << "usage: dkim_dns_bench sign SECONDS | resolve HOST:PORT DOMAINS INFLIGHT\n";
  return 2;
}
