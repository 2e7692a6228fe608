#pragma once
// The records a sending domain publishes, derived from its token, its DKIM keys and the installation's
// configuration (so a configuration change shows at once), and the same records as a BIND zone snippet and as
// the JSON bodies of the Route 53 and Cloudflare DNS APIs.
#include <string>
#include <vector>

#include "core/config.h"
#include "domains/model.h"

namespace postroom::domains {

// The suggested SPF record: include:/ip4:/ip6: terms from the configuration, else "a:<hostname>".
std::string spf_value(const DomainSettings& settings);
inline constexpr std::string_view kDmarcValue = "v=DMARC1; p=none;";
inline constexpr std::string_view kReturnPathLabel = "bounces";
inline constexpr std::string_view kLinkTrackingLabel = "mt-link";

// In display order: verification, spf, dkim1, dkim2, [dkim_ed25519], dmarc, return_path, link_verification.
// Statuses are `unchecked`; merge_checks adds the stored results.
std::vector<DnsRecord> expected_records(const SendingDomain& domain, const std::vector<DkimKey>& keys,
                                        const DomainSettings& settings);
// Copies status/reason/found from `stored` for every record whose key and value are unchanged.
void merge_checks(std::vector<DnsRecord>& expected, const std::vector<DnsRecord>& stored);

std::string to_bind_zone(const std::string& domain_name, const std::vector<DnsRecord>& records, int ttl = 3600);
// {"Comment":…,"Changes":[{"Action":"UPSERT","ResourceRecordSet":{…}}]} for route53 change-resource-record-sets.
std::string to_route53_change_batch(const std::string& domain_name, const std::vector<DnsRecord>& records,
                                    int ttl = 3600);
// [{"type","name","content","ttl","proxied"?…}] — one POST /zones/{zone}/dns_records body per element.
std::string to_cloudflare_records(const std::vector<DnsRecord>& records, int ttl = 3600);

}  // namespace postroom::domains
