#pragma once
// Storage for email templates. Works inside a caller's Tx; every lookup is keyed by the account, so another
// account's template is simply not found.
#include <optional>
#include <string>
#include <vector>

#include "email_templates/model.h"
#include "store/database.h"

namespace postroom::store {

class TemplatesStore {
 public:
  explicit TemplatesStore(Tx& tx) : tx_(tx) {}
  // Returns the new id.
  std::int64_t create(const email_templates::EmailTemplate& fields, std::int64_t now);
  std::vector<email_templates::EmailTemplate> list(std::int64_t account_id);
  std::optional<email_templates::EmailTemplate> find(std::int64_t account_id, std::int64_t id);
  std::optional<email_templates::EmailTemplate> find_by_uuid(std::int64_t account_id, const std::string& uuid);
  std::int64_t count(std::int64_t account_id);
  // Saves the editable fields and bumps the version.
  void update(const email_templates::EmailTemplate& changed, std::int64_t now);
  // False when there was no such template.
  bool remove(std::int64_t account_id, std::int64_t id);

 private:
  Tx& tx_;
};

}  // namespace postroom::store
