#pragma once
// Reports kept with a captured sandbox message ("spam", "blacklists"): deleted with the message. Works inside a
// caller's Tx.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/database.h"

namespace postroom::store {

class MessageReportsStore {
 public:
  explicit MessageReportsStore(Tx& tx) : tx_(tx) {}

  std::optional<std::string> report(std::int64_t message_id, const std::string& kind);
  void save_report(std::int64_t message_id, const std::string& kind, const std::string& report, std::int64_t now);
  // The reports of `kind` kept for any of `message_ids`: (message id, report).
  std::vector<std::pair<std::int64_t, std::string>> reports(const std::vector<std::int64_t>& message_ids,
                                                            const std::string& kind);

 private:
  Tx& tx_;
};

}  // namespace postroom::store
