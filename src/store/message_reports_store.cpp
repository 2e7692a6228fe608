#include "store/message_reports_store.h"

namespace postroom::store {

std::optional<std::string> MessageReportsStore::report(std::int64_t message_id, const std::string& kind) {
  const auto row =
      tx_.query_one("SELECT report FROM message_reports WHERE message_id = ? AND kind = ?", {message_id, kind});
  if (!row) return std::nullopt;
  return row->text(0);
}

void MessageReportsStore::save_report(std::int64_t message_id, const std::string& kind, const std::string& report,
                                      std::int64_t now) {
  tx_.execute("DELETE FROM message_reports WHERE message_id = ? AND kind = ?", {message_id, kind});
  tx_.execute("INSERT INTO message_reports (message_id, kind, report, created_at) VALUES (?, ?, ?, ?)",
              {message_id, kind, report, now});
}

std::vector<std::pair<std::int64_t, std::string>> MessageReportsStore::reports(
    const std::vector<std::int64_t>& message_ids, const std::string& kind) {
  std::string sql = "SELECT message_id, report FROM message_reports WHERE kind = ? AND message_id IN (";
  Params params{kind};
  for (std::size_t i = 0; i < message_ids.size(); ++i) {
    sql += i == 0 ? "?" : ", ?";
    params.emplace_back(message_ids[i]);
  }
  sql += ")";
  std::vector<std::pair<std::int64_t, std::string>> out;
  for (const Row& row : tx_.query(sql, params)) out.emplace_back(row.integer(0), row.text(1));
  return out;
}

}  // namespace postroom::store
