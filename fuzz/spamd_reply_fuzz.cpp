// Feeds arbitrary bytes to the spam and blacklists report parsers: the spamd reply parser (a reply comes from the
// network), the report table reader, the link host extractor and the blocklists config parser. Checks that the
// only failures are the documented exceptions, that the JSON written for a parsed reply is valid JSON with the
// same values, and that every link host is a normalized domain within the limit.
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "spamcheck/blocklists.h"
#include "spamcheck/links.h"
#include "spamcheck/spamd_client.h"

using namespace postroom::spamcheck;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  try {
    const SpamReport report = parse_spamd_reply(raw);
    const boost::json::value written = boost::json::parse(to_json_text(report));
    const auto& object = written.at("report");
    if (object.at("Spam").as_bool() != report.spam) __builtin_trap();
    if (object.at("Details").as_array().size() != report.details.size()) __builtin_trap();
    // Boost.JSON 1.81 parses doubles imprecisely in the last bits: compare within a relative margin.
    const double score = object.at("Score").to_number<double>();
    if (std::fabs(score - report.score) > 1e-9 * std::max(1.0, std::fabs(report.score))) __builtin_trap();
    if (to_json(report).at("Details").as_array().size() != report.details.size()) __builtin_trap();
  } catch (const Unavailable&) {
  }
  for (const SpamRule& rule : parse_report_table(raw)) {
    if (rule.name.empty() || rule.points.empty()) __builtin_trap();
  }
  const auto domains = link_domains(raw, 8);
  if (domains.size() > 8) __builtin_trap();
  for (const auto& domain : domains) {
    if (normalize_domain(domain) != domain) __builtin_trap();
  }
  try {
    parse_blocklists(raw);
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
