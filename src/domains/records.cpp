#include "domains/records.h"

#include <boost/json.hpp>
#include <sstream>

#include "dkim/dkim.h"

namespace postroom::domains {
namespace {

namespace json = boost::json;

std::vector<std::string> split_csv(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    const auto begin = item.find_first_not_of(" \t");
    const auto end = item.find_last_not_of(" \t");
    if (begin != std::string::npos) out.push_back(item.substr(begin, end - begin + 1));
  }
  return out;
}

DnsRecord make(std::string_view key, const std::string& domain_name, const std::string& label, std::string type,
               std::string value, bool required = true) {
  DnsRecord r;
  r.key = std::string(key);
  r.name = label;
  r.domain = label.empty() ? domain_name : label + "." + domain_name;
  r.type = std::move(type);
  r.value = std::move(value);
  r.required = required;
  return r;
}

// Character-strings of a TXT value in zone-file syntax: "…" "…" (each ≤ 255 octets, quotes escaped).
std::string quoted_txt(const std::string& value) {
  std::string out;
  for (const auto& part : dkim::split_txt_strings(value)) {
    if (!out.empty()) out += ' ';
    out += '"';
    for (char c : part) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out;
}

std::string fqdn(const std::string& name) { return name.ends_with('.') ? name : name + "."; }

}  // namespace

std::string spf_value(const DomainSettings& settings) {
  std::string terms;
  if (!settings.spf_include.empty()) terms += " include:" + settings.spf_include;
  for (const auto& ip : split_csv(settings.sending_ips))
    terms += (ip.find(':') != std::string::npos ? " ip6:" : " ip4:") + ip;
  if (terms.empty()) terms = " a:" + settings.hostname;
  return "v=spf1" + terms + " ~all";
}

std::vector<DnsRecord> expected_records(const SendingDomain& domain, const std::vector<DkimKey>& keys,
                                        const DomainSettings& settings) {
  const std::string& d = domain.domain_name;
  const std::string tracking = settings.tracking_host.empty() ? settings.hostname : settings.tracking_host;
  const std::string bounce = settings.bounce_host.empty() ? settings.hostname : settings.bounce_host;
  std::vector<DnsRecord> out;
  out.push_back(make(record_key::verification, d, domain.verification_token, "CNAME", settings.hostname));
  out.push_back(make(record_key::spf, d, "", "TXT", spf_value(settings)));
  // dkim1/dkim2 are the two RSA selectors; the active key's record is required, the standby one is published
  // ahead of a rotation (rotate_dkim refuses until it passes).
  const std::string prefix = settings.dkim_selector_prefix;
  for (const auto& [key_name, selector] :
       {std::pair{record_key::dkim1, prefix + "1"}, std::pair{record_key::dkim2, prefix + "2"},
        std::pair{record_key::dkim_ed25519, prefix + "ed"}}) {
    for (const DkimKey& key : keys) {
      if (key.selector != selector || key.state == "retired") continue;
      out.push_back(make(key_name, d, selector + "._domainkey", "TXT", key.public_txt, key.state == "active"));
    }
  }
  out.push_back(make(record_key::dmarc, d, "_dmarc", "TXT", std::string(kDmarcValue)));
  out.push_back(make(record_key::return_path, d, std::string(kReturnPathLabel), "CNAME", bounce));
  out.push_back(make(record_key::link_verification, d, std::string(kLinkTrackingLabel), "CNAME", tracking,
                     domain.custom_domain_tracking_enabled));
  return out;
}

void merge_checks(std::vector<DnsRecord>& expected, const std::vector<DnsRecord>& stored) {
  for (DnsRecord& record : expected) {
    for (const DnsRecord& check : stored) {
      if (check.key != record.key || check.value != record.value) continue;
      record.status = check.status;
      record.reason = check.reason;
      record.found = check.found;
    }
  }
}

std::string to_bind_zone(const std::string& domain_name, const std::vector<DnsRecord>& records, int ttl) {
  std::ostringstream out;
  out << "; Postroom sending records for " << domain_name << "\n";
  for (const DnsRecord& r : records) {
    out << fqdn(r.domain) << '\t' << ttl << "\tIN\t" << r.type << '\t';
    if (r.type == "TXT")
      out << quoted_txt(r.value);
    else if (r.type == "MX")
      out << "10 " << fqdn(r.value);
    else
      out << fqdn(r.value);
    out << "\n";
  }
  return out.str();
}

std::string to_route53_change_batch(const std::string& domain_name, const std::vector<DnsRecord>& records, int ttl) {
  json::array changes;
  for (const DnsRecord& r : records) {
    std::string value = r.type == "TXT" ? quoted_txt(r.value) : r.type == "MX" ? "10 " + fqdn(r.value) : fqdn(r.value);
    changes.push_back(json::object{
        {"Action", "UPSERT"},
        {"ResourceRecordSet", json::object{{"Name", fqdn(r.domain)},
                                           {"Type", r.type},
                                           {"TTL", ttl},
                                           {"ResourceRecords", json::array{json::object{{"Value", value}}}}}}});
  }
  return json::serialize(
      json::object{{"Comment", "Postroom sending records for " + domain_name}, {"Changes", std::move(changes)}});
}

std::string to_cloudflare_records(const std::vector<DnsRecord>& records, int ttl) {
  json::array out;
  for (const DnsRecord& r : records) {
    json::object o{{"type", r.type}, {"name", r.domain}, {"content", r.value}, {"ttl", ttl}};
    if (r.type == "CNAME") o["proxied"] = false;  // a proxied CNAME hides the target from verification
    if (r.type == "MX") o["priority"] = 10;
    out.push_back(std::move(o));
  }
  return json::serialize(out);
}

}  // namespace postroom::domains
