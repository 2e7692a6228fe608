#pragma once
// Storage for sandbox forwarding rules. Works inside a caller's Tx; every account-facing lookup is keyed by the
// account.
#include <optional>
#include <string>
#include <vector>

#include "sandbox/forwarding_model.h"
#include "store/database.h"

namespace postroom::store {

class ForwardingStore {
 public:
  explicit ForwardingStore(Tx& tx) : tx_(tx) {}

  std::int64_t add(const sandbox::ForwardRule& rule);
  std::vector<sandbox::ForwardRule> list(std::int64_t account_id, std::int64_t inbox_id);
  std::optional<sandbox::ForwardRule> find(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id);
  std::optional<sandbox::ForwardRule> find_value(std::int64_t inbox_id, const std::string& kind,
                                                 const std::string& purpose, const std::string& value);
  std::optional<sandbox::ForwardRule> find_by_token_hash(const std::string& token_hash);
  std::int64_t count(std::int64_t account_id);
  // The account's email rules for `email`, in any of its sandboxes.
  std::vector<sandbox::ForwardRule> list_account_emails(std::int64_t account_id, const std::string& email);
  // Active automatic rules of every sandbox that has one (loaded once at start).
  std::vector<sandbox::ForwardRule> active_automatic();
  void save(const sandbox::ForwardRule& rule);
  bool remove(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id);

  // One forwarded message more for the sandbox's counter.
  void count_forwarded(std::int64_t inbox_id);

 private:
  Tx& tx_;
};

}  // namespace postroom::store
