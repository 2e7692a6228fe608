#pragma once
// Reports about a captured message that cost round trips to other servers: SpamAssassin's verdict from spamd and
// the DNS blocklist report. Each is made once and then kept with the message. (The HTML Check needs no other
// server and is computed from the stored HTML on each request: see htmlcheck/.) No HTTP here.
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "dns/resolver.h"
#include "sandbox/messages.h"
#include "spamcheck/blocklists.h"
#include "spamcheck/spamd_client.h"
#include "store/database.h"

namespace postroom::sandbox {

struct AnalysisSettings {
  spamcheck::SpamdOptions spamd;            // address empty: spam reports are unavailable (said so, never faked)
  std::vector<spamcheck::Blocklist> lists;  // DNS blocklists of the blacklist report
};

class MessageAnalysis {
 public:
  MessageAnalysis(store::Database& db, const Clock& clock, MessagesService& messages, AnalysisSettings settings,
                  std::shared_ptr<const dns::Resolver> resolver);

  // The spam report response body as text, {"report":{ResponseCode, …, Details}} with the numbers as spamd wrote
  // them ("Threshold":5.0); made by spamd once, then served from the store. Throws spamcheck::Unavailable when
  // spamd is not configured, unreachable or answers nonsense.
  std::string spam_report(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id);

  // The blacklist report of the message's client IP and the domains of its From address and links; made once
  // (again with `refresh`), then served from the store.
  boost::json::object blacklists_report(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id,
                                        bool refresh = false);
  // Stored blacklist reports of these messages (the message object's `blacklists_report_info`).
  std::map<std::int64_t, boost::json::object> stored_blacklists(const std::vector<std::int64_t>& message_ids);

 private:
  std::optional<std::string> html_of(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id);
  void keep(std::int64_t message_id, const std::string& kind, const std::string& report);

  store::Database& db_;
  const Clock& clock_;
  MessagesService& messages_;
  AnalysisSettings settings_;
  spamcheck::SpamdClient spamd_;
  std::shared_ptr<const dns::Resolver> resolver_;
};

}  // namespace postroom::sandbox
