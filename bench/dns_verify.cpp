// Sending-domain verification throughput (driven by bench/dns_verify.sh):
//   dns_verify_bench free-port                          a free loopback port (TCP and UDP) for dnsmasq
//   dns_verify_bench zone DOMAINS DIR                   writes DIR/zone.conf (dnsmasq) and DIR/keys.txt
//   dns_verify_bench verify SERVER DOMAINS DIR INFLIGHT check_many over DOMAINS domains' records (7 records,
//                                                       8 queries each) against SERVER; one key=value line
// The DKIM keys (two RSA-2048) are generated once by `zone` and shared by every domain.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "dkim/dkim.h"
#include "dns/resolver.h"
#include "domains/verification.h"

namespace {

using postroom::domains::DnsRecord;
using postroom::domains::RecordStatus;
namespace record_key = postroom::domains::record_key;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Peak resident set size so far (VmHWM), in kB.
long vm_hwm_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// Built by appending: GCC 12 reports a false -Wrestrict for "literal" + std::string&& here.
std::string domain_name(int i) {
  std::string out(1, 'd');
  out += std::to_string(i);
  out += ".bench.test";
  return out;
}

// Every fourth domain publishes its return path as an MX instead of a CNAME (both are accepted).
bool mx_return_path(int i) { return i % 4 == 3; }

// The records a domain must publish, in the shapes the domains service creates.
std::vector<DnsRecord> expected_records(const std::string& d, const std::string& key1, const std::string& key2) {
  auto rec = [&](std::string_view key, const std::string& name, const char* type, std::string value) {
    DnsRecord r;
    r.key = std::string(key);
    r.domain = name.empty() ? d : name + "." + d;
    r.name = name;
    r.type = type;
    r.value = std::move(value);
    return r;
  };
  auto records = std::vector<DnsRecord>{
      rec(record_key::verification, "pr7f3a", "CNAME", "verify.postroom.test"),
      rec(record_key::spf, "", "TXT", "v=spf1 include:_spf.postroom.test ~all"),
      rec(record_key::dkim1, "pr1._domainkey", "TXT", key1),
      rec(record_key::dkim2, "pr2._domainkey", "TXT", key2),
      rec(record_key::dmarc, "_dmarc", "TXT", "v=DMARC1; p=none; rua=mailto:dmarc@postroom.test"),
      rec(record_key::return_path, "pr-bounces", "CNAME", "bounces.postroom.test"),
      rec(record_key::link_verification, "pr-link", "CNAME", "t.postroom.test"),
  };
  records.back().required = false;
  return records;
}

// dnsmasq makes each comma-separated part of a txt-record one character-string (at most 255 octets).
std::string txt_line(const std::string& name, const std::string& value) {
  std::string out = "txt-record=" + name;
  for (const auto& s : postroom::dkim::split_txt_strings(value)) out += "," + s;
  return out;
}

int free_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    const bool bound = ::bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                       ::getsockname(tcp, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(tcp);
    if (!bound) continue;
    const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);  // the UDP port must be free too
    const bool ok = ::bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(udp);
    if (ok) return ntohs(addr.sin_port);
  }
  throw std::runtime_error("no free loopback port");
}

int write_zone(int domains, const std::string& dir) {
  const std::string key1 = postroom::dkim::SigningKey::generate_rsa(2048).dns_txt_value();
  const std::string key2 = postroom::dkim::SigningKey::generate_rsa(2048).dns_txt_value();
  std::ofstream keys(dir + "/keys.txt");
  keys << key1 << "\n" << key2 << "\n";
  std::ofstream zone(dir + "/zone.conf");
  zone << "local=/bench.test/\n";
  for (int i = 0; i < domains; ++i) {
    for (const auto& r : expected_records(domain_name(i), key1, key2)) {
      if (r.key == record_key::return_path && mx_return_path(i)) {
        zone << "mx-host=" << r.domain << "," << r.value << ",10\n";
      } else if (r.type == "CNAME") {
        zone << "cname=" << r.domain << "," << r.value << "\n";
      } else {
        zone << txt_line(r.domain, r.value) << "\n";
      }
    }
  }
  if (!keys || !zone) {
    std::cerr << "cannot write " << dir << "\n";
    return 1;
  }
  return 0;
}

int verify(const std::string& server, int domains, const std::string& dir, int in_flight) {
  std::ifstream keys(dir + "/keys.txt");
  std::string key1, key2;
  if (!std::getline(keys, key1) || !std::getline(keys, key2)) {
    std::cerr << "cannot read " << dir << "/keys.txt\n";
    return 1;
  }
  std::vector<std::vector<DnsRecord>> all;
  all.reserve(static_cast<std::size_t>(domains));
  std::size_t records = 0, queries = 0;
  std::vector<postroom::dns::Query> raw_queries;
  for (int i = 0; i < domains; ++i) {
    all.push_back(expected_records(domain_name(i), key1, key2));
    records += all.back().size();
    for (const auto& r : all.back()) {
      auto q = postroom::domains::queries_for(r);
      queries += q.size();
      raw_queries.insert(raw_queries.end(), q.begin(), q.end());
    }
  }
  std::vector<std::vector<DnsRecord>*> pointers;
  for (auto& d : all) pointers.push_back(&d);

  postroom::dns::ResolverOptions options;
  options.servers = {server};
  const postroom::dns::Resolver resolver(options);

  const long hwm_before = vm_hwm_kb();
  const auto start = std::chrono::steady_clock::now();
  postroom::domains::check_many(resolver, pointers, in_flight);
  const double seconds = seconds_since(start);
  const long hwm_after = vm_hwm_kb();

  std::size_t pass = 0, domains_verified = 0;
  std::vector<const DnsRecord*> not_passing;
  for (const auto& d : all) {
    for (const auto& r : d) {
      if (r.status == RecordStatus::pass) {
        ++pass;
      } else if (not_passing.size() < 5) {
        not_passing.push_back(&r);
      }
    }
    domains_verified += postroom::domains::all_required_pass(d) ? 1 : 0;
  }

  // The same queries through the resolver alone (no judging): what the verification layer adds.
  const auto raw_start = std::chrono::steady_clock::now();
  const auto raw = resolver.resolve_all(raw_queries, in_flight);
  const double raw_seconds = seconds_since(raw_start);
  std::size_t raw_ok = 0;
  for (const auto& a : raw) raw_ok += a.ok() || a.status == postroom::dns::Status::nodata ? 1 : 0;

  std::ostringstream line;
  line << std::fixed << std::setprecision(3) << "domains=" << domains << " records=" << records
       << " queries=" << queries << " in_flight=" << in_flight << " pass=" << pass
       << " domains_verified=" << domains_verified << " seconds=" << seconds
       << " queries_per_second=" << std::setprecision(0) << queries / seconds << std::setprecision(3)
       << " rss_delta_mb=" << (hwm_after - hwm_before) / 1024.0 << " peak_rss_mb=" << hwm_after / 1024.0
       << " raw_resolve_seconds=" << raw_seconds << " raw_answered=" << raw_ok;
  std::cout << line.str() << "\n";
  for (const auto* r : not_passing) {
    std::cerr << "not passing: " << r->key << " " << r->domain << " reason=" << r->reason << " found=" << r->found
              << "\n";
  }
  return pass == records ? 0 : 1;
}

int usage() {
  std::cerr << "usage: dns_verify_bench free-port | zone DOMAINS DIR | verify SERVER DOMAINS DIR INFLIGHT\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 1 && args[0] == "free-port") {
      std::cout << free_port() << "\n";
      return 0;
    }
    if (args.size() == 3 && args[0] == "zone") return write_zone(std::stoi(args[1]), args[2]);
    if (args.size() == 5 && args[0] == "verify") {
      return verify(args[1], std::stoi(args[2]), args[3], std::stoi(args[4]));
    }
    return usage();
  } catch (const std::exception& e) {
    std::cerr << "dns_verify_bench: " << e.what() << "\n";
    return 1;
  }
}
