#include "store/forwarding_store.h"

namespace postroom::store {
namespace {

constexpr const char* kColumns =
    "SELECT id, account_id, inbox_id, kind, purpose, value, status, token_hash, verification_value, "
    "confirmation_sent_at, confirmed_at, created_at FROM forward_rules ";

sandbox::ForwardRule rule_from(const Row& row) {
  sandbox::ForwardRule r;
  r.id = row.integer(0);
  r.account_id = row.integer(1);
  r.inbox_id = row.integer(2);
  r.kind = row.text(3);
  r.purpose = row.text(4);
  r.value = row.text(5);
  r.status = row.text(6);
  r.token_hash = row.optional_text(7);
  r.verification_value = row.optional_text(8);
  r.confirmation_sent_at = row.optional_integer(9);
  r.confirmed_at = row.optional_integer(10);
  r.created_at = row.integer(11);
  return r;
}

std::vector<sandbox::ForwardRule> rules_from(const Rows& rows) {
  std::vector<sandbox::ForwardRule> out;
  out.reserve(rows.size());
  for (const Row& row : rows) out.push_back(rule_from(row));
  return out;
}

}  // namespace

std::int64_t ForwardingStore::add(const sandbox::ForwardRule& r) {
  return tx_.insert_returning_id(
      "INSERT INTO forward_rules (account_id, inbox_id, kind, purpose, value, status, token_hash, verification_value, "
      "confirmation_sent_at, confirmed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {r.account_id, r.inbox_id, r.kind, r.purpose, r.value, r.status, nullable(r.token_hash),
       nullable(r.verification_value), nullable(r.confirmation_sent_at), nullable(r.confirmed_at), r.created_at});
}

std::vector<sandbox::ForwardRule> ForwardingStore::list(std::int64_t account_id, std::int64_t inbox_id) {
  return rules_from(
      tx_.query(std::string(kColumns) + "WHERE account_id = ? AND inbox_id = ? ORDER BY id", {account_id, inbox_id}));
}

std::optional<sandbox::ForwardRule> ForwardingStore::find(std::int64_t account_id, std::int64_t inbox_id,
                                                          std::int64_t id) {
  const auto row = tx_.query_one(std::string(kColumns) + "WHERE account_id = ? AND inbox_id = ? AND id = ?",
                                 {account_id, inbox_id, id});
  if (!row) return std::nullopt;
  return rule_from(*row);
}

std::optional<sandbox::ForwardRule> ForwardingStore::find_value(std::int64_t inbox_id, const std::string& kind,
                                                                const std::string& purpose, const std::string& value) {
  const auto row =
      tx_.query_one(std::string(kColumns) + "WHERE inbox_id = ? AND kind = ? AND purpose = ? AND value = ?",
                    {inbox_id, kind, purpose, value});
  if (!row) return std::nullopt;
  return rule_from(*row);
}

std::optional<sandbox::ForwardRule> ForwardingStore::find_by_token_hash(const std::string& token_hash) {
  const auto row = tx_.query_one(std::string(kColumns) + "WHERE token_hash = ?", {token_hash});
  if (!row) return std::nullopt;
  return rule_from(*row);
}

std::vector<sandbox::ForwardRule> ForwardingStore::list_account_emails(std::int64_t account_id,
                                                                       const std::string& email) {
  return rules_from(tx_.query(std::string(kColumns) + "WHERE account_id = ? AND kind = ? AND value = ? ORDER BY id",
                              {account_id, std::string(sandbox::forward_kind::email), email}));
}

std::int64_t ForwardingStore::count(std::int64_t account_id) {
  return tx_.query_one("SELECT COUNT(*) FROM forward_rules WHERE account_id = ?", {account_id})->integer(0);
}

std::vector<sandbox::ForwardRule> ForwardingStore::active_automatic() {
  return rules_from(
      tx_.query(std::string(kColumns) + "WHERE purpose = ? AND status = ? ORDER BY id",
                {std::string(sandbox::forward_purpose::automatic), std::string(sandbox::forward_status::active)}));
}

void ForwardingStore::save(const sandbox::ForwardRule& r) {
  tx_.execute(
      "UPDATE forward_rules SET status = ?, token_hash = ?, verification_value = ?, confirmation_sent_at = ?, "
      "confirmed_at = ? WHERE id = ?",
      {r.status, nullable(r.token_hash), nullable(r.verification_value), nullable(r.confirmation_sent_at),
       nullable(r.confirmed_at), r.id});
}

bool ForwardingStore::remove(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id) {
  return tx_.execute("DELETE FROM forward_rules WHERE account_id = ? AND inbox_id = ? AND id = ?",
                     {account_id, inbox_id, id}) > 0;
}

void ForwardingStore::count_forwarded(std::int64_t inbox_id) {
  tx_.execute("UPDATE inboxes SET forwarded_messages_count = forwarded_messages_count + 1 WHERE id = ?", {inbox_id});
}

}  // namespace postroom::store
