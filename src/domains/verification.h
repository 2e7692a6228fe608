#pragma once
// Sending-domain verification: judges each DnsRecord (model.h) against what real DNS answers. `judge` is pure
// (answers in, verdict out); `check_records` / `check_many` ask the resolver (c-ares, bounded concurrency) and
// judge. Nothing here knows of HTTP or storage.
#include <vector>

#include "dns/resolver.h"
#include "domains/model.h"

namespace postroom::domains {

// The longest `found` text a check stores (longer answers are shortened in the middle).
inline constexpr std::size_t max_found_length = 300;

// Pure: judges one record from the DNS answers gathered for it (the answers to queries_for(record), in any
// order; they are matched by query type). Sets status, reason (empty on pass) and found.
//   nxdomain / nodata                      → missing
//   timeout / servfail / refused / error   → network_error (the reason names the query and the DNS status)
//   an answer that contradicts `value`     → fail, with a reason naming what is wrong
//   otherwise                              → pass
void judge(DnsRecord& record, const std::vector<dns::Answer>& answers);

// The queries a record needs: CNAME records a CNAME query (return_path also an MX query), TXT records a TXT
// query, MX records an MX query.
std::vector<dns::Query> queries_for(const DnsRecord& record);

// Checks every record of one domain against DNS (all its queries at once).
void check_records(const dns::Resolver& resolver, std::vector<DnsRecord>& records);

// Checks many domains' records concurrently, with at most max_in_flight (≥ 1) queries outstanding in total.
// Null entries are skipped.
void check_many(const dns::Resolver& resolver, std::vector<std::vector<DnsRecord>*>& domains, int max_in_flight = 64);

// True when every `required` record passes (vacuously true for a list without required records).
bool all_required_pass(const std::vector<DnsRecord>& records);

}  // namespace postroom::domains
