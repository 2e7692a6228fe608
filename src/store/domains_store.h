#pragma once
// Storage for sending domains, their DKIM keys and the account's company information. Works inside a
// caller's Tx; every lookup is keyed by the account, so another account's domain is simply not found.
#include <optional>
#include <string>
#include <vector>

#include "domains/model.h"
#include "store/database.h"

namespace postroom::store {

class DomainsStore {
 public:
  explicit DomainsStore(Tx& tx) : tx_(tx) {}

  // Inserts the domain (id ignored) and returns its id. dns_records are not stored: the service derives
  // them; their last check results are (see save_checks).
  std::int64_t create(const domains::SendingDomain& domain);
  // Live (not deleted) domains of the account, by id.
  std::vector<domains::SendingDomain> list(std::int64_t account_id);
  std::optional<domains::SendingDomain> find(std::int64_t account_id, std::int64_t id);
  // find, holding the row until the transaction ends: a read-modify-write must not lose a concurrent change.
  std::optional<domains::SendingDomain> find_for_update(std::int64_t account_id, std::int64_t id);
  // Also finds deleted ones (history, "(deleted)").
  std::optional<domains::SendingDomain> find_any(std::int64_t account_id, std::int64_t id);
  std::optional<domains::SendingDomain> find_by_name(std::int64_t account_id, const std::string& domain_name);
  bool has_demo(std::int64_t account_id);  // deleted demo domains count: there is one per account, ever
  // Live domains whose last check is older than their interval (never checked first), oldest first.
  std::vector<domains::SendingDomain> due_for_check(std::int64_t unverified_before, std::int64_t verified_before,
                                                    int limit);
  // Saves the settings (tracking, unsubscribe, alerts, Auto BCC).
  void save_settings(const domains::SendingDomain& domain);
  // Saves a check: each record's status by key, dns_verified(_at), dns_lost, compliance status.
  void save_checks(const domains::SendingDomain& domain);
  void set_api_token(std::int64_t domain_id, std::int64_t token_id);
  void set_compliance(std::int64_t account_id, std::int64_t id, const std::string& status, bool approved);
  // Marks the domain deleted; false when there was no live one.
  bool mark_deleted(std::int64_t account_id, std::int64_t id, std::int64_t now);

  std::int64_t add_key(const domains::DkimKey& key);
  std::vector<domains::DkimKey> keys(std::int64_t domain_id);
  // Moves a key from state `from` to `to`; false when it is no longer in `from`. On PostgreSQL the UPDATE waits
  // for a concurrent writer of the same row and re-checks the state after it commits, so of two racing
  // rotations only one can move the keys.
  bool change_key_state(std::int64_t key_id, const std::string& from, const std::string& to);

  std::optional<domains::CompanyInfo> company_info(std::int64_t account_id);
  void save_company_info(std::int64_t account_id, const domains::CompanyInfo& info, std::int64_t now);

 private:
  Tx& tx_;
};

}  // namespace postroom::store
