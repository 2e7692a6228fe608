#pragma once
// Storage for the account aggregates, one narrow class per aggregate. Each works inside a caller's Tx so a
// service can change several aggregates atomically. Every lookup of a tenant-owned row is keyed by its
// account, so a row of another account is simply not found.
#include <optional>
#include <string>
#include <vector>

#include "accounts/model.h"
#include "store/database.h"

namespace postroom::store {

class OrganizationStore {
 public:
  explicit OrganizationStore(Tx& tx) : tx_(tx) {}
  std::int64_t create(const std::string& name, std::int64_t now);
  std::optional<accounts::Organization> find(std::int64_t id);

 private:
  Tx& tx_;
};

class AccountStore {
 public:
  explicit AccountStore(Tx& tx) : tx_(tx) {}
  std::int64_t create(std::int64_t organization_id, const std::string& name, std::int64_t now);
  std::optional<accounts::Account> find(std::int64_t id);
  std::vector<accounts::Account> list_by_organization(std::int64_t organization_id);
  std::vector<accounts::Account> find_many(const std::vector<std::int64_t>& ids);
  void rename(std::int64_t id, const std::string& name);
  // The installation's first account (lowest id).
  std::optional<accounts::Account> first();

 private:
  Tx& tx_;
};

class UserStore {
 public:
  explicit UserStore(Tx& tx) : tx_(tx) {}
  std::int64_t create(const std::string& email, const std::string& name,
                      const std::optional<std::string>& password_hash, std::int64_t now);
  std::optional<accounts::User> find(std::int64_t id);
  std::optional<accounts::User> find_by_email(const std::string& email);

 private:
  Tx& tx_;
};

class AccessStore {
 public:
  explicit AccessStore(Tx& tx) : tx_(tx) {}
  std::int64_t create(std::int64_t organization_id, std::optional<std::int64_t> account_id,
                      std::string_view specifier_type, std::int64_t specifier_id, std::int64_t now);
  // Creates or updates the grant on that resource.
  void set_grant(std::int64_t access_id, const accounts::Grant& grant);
  void remove_grant(std::int64_t access_id, const accounts::ResourceRef& resource);
  std::vector<accounts::Grant> grants(std::int64_t access_id);
  std::optional<accounts::AccountAccess> find(std::int64_t id);
  std::optional<accounts::AccountAccess> find_for_specifier(std::string_view specifier_type, std::int64_t specifier_id);
  // The accesses that apply to an account: its own, plus its organization's organization-wide ones.
  std::vector<accounts::AccountAccess> list_for_account(std::int64_t account_id, std::int64_t organization_id);
  std::vector<accounts::AccountAccess> list_for_specifier(std::string_view specifier_type, std::int64_t specifier_id);
  void remove(std::int64_t id);

 private:
  accounts::AccountAccess from_row(const Row& row);
  Tx& tx_;
};

class ApiTokenStore {
 public:
  explicit ApiTokenStore(Tx& tx) : tx_(tx) {}
  std::int64_t create(std::int64_t account_id, const std::string& name, const std::string& token_hash,
                      const std::string& last_4_digits, const std::string& created_by,
                      std::optional<std::int64_t> expires_at, std::int64_t now);
  std::optional<accounts::ApiToken> find(std::int64_t account_id, std::int64_t id);
  std::optional<accounts::ApiToken> find_by_hash(const std::string& token_hash, std::string& stored_hash);
  std::vector<accounts::ApiToken> list(std::int64_t account_id);
  void rename(std::int64_t id, const std::string& name);
  void mark_reset(std::int64_t id, std::int64_t reset_at, std::int64_t expires_at);
  void remove(std::int64_t id);
  // Deletes tokens that expired before `cutoff`, with their accesses. Returns how many.
  int purge_expired_before(std::int64_t cutoff);

 private:
  Tx& tx_;
};

// Projects and inboxes as far as the account structure needs them (bootstrap, permission trees).
class SandboxStore {
 public:
  explicit SandboxStore(Tx& tx) : tx_(tx) {}
  std::int64_t create_project(std::int64_t account_id, const std::string& name, std::int64_t now);
  std::int64_t create_inbox(std::int64_t account_id, std::int64_t project_id, const std::string& name,
                            const std::string& smtp_username, const std::string& smtp_password, std::int64_t now);
  std::vector<accounts::Project> list_projects(std::int64_t account_id);
  std::vector<accounts::Inbox> list_inboxes(std::int64_t account_id);
  std::optional<accounts::Project> find_project(std::int64_t account_id, std::int64_t id);
  std::optional<accounts::Inbox> find_inbox(std::int64_t account_id, std::int64_t id);

 private:
  Tx& tx_;
};

// Resolves a resource to itself plus its ancestors (resource, …, account, organization). Empty when the
// resource does not exist.
class ResourceStore {
 public:
  explicit ResourceStore(Tx& tx) : tx_(tx) {}
  std::vector<accounts::ResourceRef> chain(const accounts::ResourceRef& resource);

 private:
  Tx& tx_;
};

class UsageStore {
 public:
  explicit UsageStore(Tx& tx) : tx_(tx) {}
  void increment(std::int64_t account_id, const std::string& metric, std::int64_t period_start, std::int64_t delta);
  std::int64_t get(std::int64_t account_id, const std::string& metric, std::int64_t period_start);

 private:
  Tx& tx_;
};

// Installation-wide key/value facts (for example the bootstrap record).
class InstallationStore {
 public:
  explicit InstallationStore(Tx& tx) : tx_(tx) {}
  std::optional<std::string> get(const std::string& key);
  void set(const std::string& key, const std::string& value);

 private:
  Tx& tx_;
};

}  // namespace postroom::store
