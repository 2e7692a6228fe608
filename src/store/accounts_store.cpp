#include "store/accounts_store.h"

#include <map>
#include <stdexcept>

namespace postroom::store {

using accounts::Grant;
using accounts::ResourceRef;
using accounts::ResourceType;

namespace {

Grant grant_from(const Row& row, std::size_t offset) {
  const auto type = accounts::parse_resource_type(row.text(offset));
  if (!type) throw std::runtime_error("unknown resource type in store: " + row.text(offset));
  return Grant{ResourceRef{*type, row.integer(offset + 1)}, static_cast<int>(row.integer(offset + 2))};
}

}  // namespace

// ---- organizations

std::int64_t OrganizationStore::create(const std::string& name, std::int64_t now) {
  return tx_.insert_returning_id("INSERT INTO organizations (name, created_at) VALUES (?, ?) RETURNING id",
                                 {name, now});
}

std::optional<accounts::Organization> OrganizationStore::find(std::int64_t id) {
  const auto row = tx_.query_one("SELECT id, name FROM organizations WHERE id = ?", {id});
  if (!row) return std::nullopt;
  return accounts::Organization{row->integer(0), row->text(1)};
}

// ---- accounts

std::int64_t AccountStore::create(std::int64_t organization_id, const std::string& name, std::int64_t now) {
  return tx_.insert_returning_id(
      "INSERT INTO accounts (organization_id, name, created_at) VALUES (?, ?, ?) RETURNING id",
      {organization_id, name, now});
}

static accounts::Account account_from(const Row& row) {
  return accounts::Account{row.integer(0), row.integer(1), row.text(2), row.integer(3)};
}

std::optional<accounts::Account> AccountStore::find(std::int64_t id) {
  const auto row = tx_.query_one("SELECT id, organization_id, name, created_at FROM accounts WHERE id = ?", {id});
  if (!row) return std::nullopt;
  return account_from(*row);
}

std::vector<accounts::Account> AccountStore::list_by_organization(std::int64_t organization_id) {
  std::vector<accounts::Account> out;
  for (const Row& row : tx_.query("SELECT id, organization_id, name, created_at FROM accounts WHERE organization_id = "
                                  "? ORDER BY id",
                                  {organization_id}))
    out.push_back(account_from(row));
  return out;
}

std::vector<accounts::Account> AccountStore::find_many(const std::vector<std::int64_t>& ids) {
  std::vector<accounts::Account> out;
  for (std::int64_t id : ids) {
    if (auto account = find(id)) out.push_back(*account);
  }
  return out;
}

void AccountStore::rename(std::int64_t id, const std::string& name) {
  tx_.execute("UPDATE accounts SET name = ? WHERE id = ?", {name, id});
}

std::optional<accounts::Account> AccountStore::first() {
  const auto row = tx_.query_one("SELECT id, organization_id, name, created_at FROM accounts ORDER BY id LIMIT 1");
  if (!row) return std::nullopt;
  return account_from(*row);
}

// ---- users

std::int64_t UserStore::create(const std::string& email, const std::string& name,
                               const std::optional<std::string>& password_hash, std::int64_t now) {
  return tx_.insert_returning_id(
      "INSERT INTO users (email, name, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id",
      {email, name, nullable(password_hash), now});
}

static accounts::User user_from(const Row& row) {
  return accounts::User{row.integer(0), row.text(1), row.text(2), row.optional_text(3)};
}

std::optional<accounts::User> UserStore::find(std::int64_t id) {
  const auto row = tx_.query_one("SELECT id, email, name, password_hash FROM users WHERE id = ?", {id});
  if (!row) return std::nullopt;
  return user_from(*row);
}

std::optional<accounts::User> UserStore::find_by_email(const std::string& email) {
  const auto row =
      tx_.query_one("SELECT id, email, name, password_hash FROM users WHERE lower(email) = lower(?)", {email});
  if (!row) return std::nullopt;
  return user_from(*row);
}

// ---- accesses and grants

std::int64_t AccessStore::create(std::int64_t organization_id, std::optional<std::int64_t> account_id,
                                 std::string_view specifier_type, std::int64_t specifier_id, std::int64_t now) {
  return tx_.insert_returning_id(
      "INSERT INTO account_accesses (organization_id, account_id, specifier_type, specifier_id, "
      "created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
      {organization_id, nullable(account_id), std::string(specifier_type), specifier_id, now});
}

void AccessStore::set_grant(std::int64_t access_id, const Grant& grant) {
  tx_.execute(
      "INSERT INTO permissions (account_access_id, resource_type, resource_id, access_level) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (account_access_id, resource_type, resource_id) DO UPDATE SET access_level = excluded.access_level",
      {access_id, std::string(accounts::to_string(grant.resource.type)), grant.resource.id, std::int64_t{grant.level}});
}

void AccessStore::remove_grant(std::int64_t access_id, const ResourceRef& resource) {
  tx_.execute("DELETE FROM permissions WHERE account_access_id = ? AND resource_type = ? AND resource_id = ?",
              {access_id, std::string(accounts::to_string(resource.type)), resource.id});
}

std::vector<Grant> AccessStore::grants(std::int64_t access_id) {
  std::vector<Grant> out;
  for (const Row& row : tx_.query("SELECT resource_type, resource_id, access_level FROM permissions WHERE "
                                  "account_access_id = ? ORDER BY id",
                                  {access_id}))
    out.push_back(grant_from(row, 0));
  return out;
}

accounts::AccountAccess AccessStore::from_row(const Row& row) {
  accounts::AccountAccess access;
  access.id = row.integer(0);
  access.organization_id = row.integer(1);
  access.account_id = row.optional_integer(2);
  access.specifier_type = row.text(3);
  access.specifier_id = row.integer(4);
  access.grants = grants(access.id);
  return access;
}

static constexpr const char* kAccessColumns =
    "SELECT id, organization_id, account_id, specifier_type, specifier_id FROM account_accesses ";

std::optional<accounts::AccountAccess> AccessStore::find(std::int64_t id) {
  const auto row = tx_.query_one(std::string(kAccessColumns) + "WHERE id = ?", {id});
  if (!row) return std::nullopt;
  return from_row(*row);
}

std::optional<accounts::AccountAccess> AccessStore::find_for_specifier(std::string_view specifier_type,
                                                                       std::int64_t specifier_id) {
  const auto row = tx_.query_one(std::string(kAccessColumns) + "WHERE specifier_type = ? AND specifier_id = ?",
                                 {std::string(specifier_type), specifier_id});
  if (!row) return std::nullopt;
  return from_row(*row);
}

std::vector<accounts::AccountAccess> AccessStore::list_for_account(std::int64_t account_id,
                                                                   std::int64_t organization_id) {
  std::vector<accounts::AccountAccess> out;
  for (const Row& row :
       tx_.query(std::string(kAccessColumns) +
                     "WHERE account_id = ? OR (account_id IS NULL AND organization_id = ?) ORDER BY id",
                 {account_id, organization_id}))
    out.push_back(from_row(row));
  return out;
}

std::vector<accounts::AccountAccess> AccessStore::list_for_specifier(std::string_view specifier_type,
                                                                     std::int64_t specifier_id) {
  std::vector<accounts::AccountAccess> out;
  for (const Row& row :
       tx_.query(std::string(kAccessColumns) + "WHERE specifier_type = ? AND specifier_id = ? ORDER BY id",
                 {std::string(specifier_type), specifier_id}))
    out.push_back(from_row(row));
  return out;
}

void AccessStore::remove(std::int64_t id) {
  tx_.execute("DELETE FROM permissions WHERE account_access_id = ?", {id});
  tx_.execute("DELETE FROM account_accesses WHERE id = ?", {id});
}

// ---- API tokens

// Columns 0-8 of every token query, read by token_from().
static constexpr const char* kTokenSelect =
    "SELECT t.id, t.account_id, t.name, t.last_4_digits, t.created_by, t.expires_at, t.reset_at, t.created_at, a.id";
static constexpr const char* kTokenFrom =
    " FROM api_tokens t LEFT JOIN account_accesses a ON a.specifier_type = 'ApiToken' AND a.specifier_id = t.id ";

static accounts::ApiToken token_from(const Row& row) {
  accounts::ApiToken token;
  token.id = row.integer(0);
  token.account_id = row.integer(1);
  token.name = row.text(2);
  token.last_4_digits = row.text(3);
  token.created_by = row.text(4);
  token.expires_at = row.optional_integer(5);
  token.reset_at = row.optional_integer(6);
  token.created_at = row.integer(7);
  token.access_id = row.is_null(8) ? 0 : row.integer(8);
  return token;
}

std::int64_t ApiTokenStore::create(std::int64_t account_id, const std::string& name, const std::string& token_hash,
                                   const std::string& last_4_digits, const std::string& created_by,
                                   std::optional<std::int64_t> expires_at, std::int64_t now) {
  return tx_.insert_returning_id(
      "INSERT INTO api_tokens (account_id, name, token_hash, last_4_digits, created_by, expires_at, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {account_id, name, token_hash, last_4_digits, created_by, nullable(expires_at), now});
}

std::optional<accounts::ApiToken> ApiTokenStore::find(std::int64_t account_id, std::int64_t id) {
  static const std::string sql = std::string(kTokenSelect) + kTokenFrom + "WHERE t.account_id = ? AND t.id = ?";
  const auto row = tx_.query_one(sql, {account_id, id});
  if (!row) return std::nullopt;
  accounts::ApiToken token = token_from(*row);
  if (token.access_id) token.grants = AccessStore(tx_).grants(token.access_id);
  return token;
}

std::optional<accounts::ApiToken> ApiTokenStore::find_by_hash(const std::string& token_hash, std::string& stored_hash) {
  // Token, access and grants in one statement: this runs on every authenticated request.
  static const std::string sql = std::string(kTokenSelect) +
                                 ", t.token_hash, p.resource_type, p.resource_id, p.access_level" + kTokenFrom +
                                 "LEFT JOIN permissions p ON p.account_access_id = a.id WHERE t.token_hash = ? "
                                 "ORDER BY p.id";
  const Rows rows = tx_.query(sql, {token_hash});
  if (rows.empty()) return std::nullopt;
  accounts::ApiToken token = token_from(rows.front());
  stored_hash = rows.front().text(9);
  for (const Row& row : rows) {
    if (!row.is_null(10)) token.grants.push_back(grant_from(row, 10));
  }
  return token;
}

std::vector<accounts::ApiToken> ApiTokenStore::list(std::int64_t account_id) {
  static const std::string sql = std::string(kTokenSelect) + kTokenFrom + "WHERE t.account_id = ? ORDER BY t.id";
  std::vector<accounts::ApiToken> out;
  std::map<std::int64_t, std::size_t> index_by_access;
  for (const Row& row : tx_.query(sql, {account_id})) {
    out.push_back(token_from(row));
    if (out.back().access_id) index_by_access[out.back().access_id] = out.size() - 1;
  }
  // All grants of the account's tokens in one query rather than one per token.
  for (const Row& row : tx_.query("SELECT p.account_access_id, p.resource_type, p.resource_id, p.access_level FROM "
                                  "permissions p JOIN account_accesses a ON a.id = p.account_access_id WHERE "
                                  "a.specifier_type = 'ApiToken' AND a.account_id = ? ORDER BY p.id",
                                  {account_id})) {
    const auto it = index_by_access.find(row.integer(0));
    if (it != index_by_access.end()) out[it->second].grants.push_back(grant_from(row, 1));
  }
  return out;
}

void ApiTokenStore::rename(std::int64_t id, const std::string& name) {
  tx_.execute("UPDATE api_tokens SET name = ? WHERE id = ?", {name, id});
}

void ApiTokenStore::mark_reset(std::int64_t id, std::int64_t reset_at, std::int64_t expires_at) {
  tx_.execute("UPDATE api_tokens SET reset_at = ?, expires_at = ? WHERE id = ?", {reset_at, expires_at, id});
}

void ApiTokenStore::remove(std::int64_t id) {
  if (auto access = AccessStore(tx_).find_for_specifier(accounts::kSpecifierApiToken, id))
    AccessStore(tx_).remove(access->id);
  tx_.execute("DELETE FROM api_tokens WHERE id = ?", {id});
}

int ApiTokenStore::purge_expired_before(std::int64_t cutoff) {
  int removed = 0;
  for (const Row& row :
       tx_.query("SELECT id FROM api_tokens WHERE expires_at IS NOT NULL AND expires_at < ?", {cutoff})) {
    remove(row.integer(0));
    ++removed;
  }
  return removed;
}

// ---- projects and inboxes

std::int64_t SandboxStore::create_project(std::int64_t account_id, const std::string& name, std::int64_t now) {
  return tx_.insert_returning_id("INSERT INTO projects (account_id, name, created_at) VALUES (?, ?, ?) RETURNING id",
                                 {account_id, name, now});
}

std::int64_t SandboxStore::create_inbox(std::int64_t account_id, std::int64_t project_id, const std::string& name,
                                        const std::string& smtp_username, const std::string& smtp_password,
                                        std::int64_t now) {
  return tx_.insert_returning_id(
      "INSERT INTO inboxes (project_id, account_id, name, smtp_username, smtp_password, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
      {project_id, account_id, name, smtp_username, smtp_password, now});
}

std::vector<accounts::Project> SandboxStore::list_projects(std::int64_t account_id) {
  std::vector<accounts::Project> out;
  for (const Row& row :
       tx_.query("SELECT id, account_id, name FROM projects WHERE account_id = ? ORDER BY id", {account_id}))
    out.push_back({row.integer(0), row.integer(1), row.text(2)});
  return out;
}

static accounts::Inbox inbox_from(const Row& row) {
  return accounts::Inbox{row.integer(0), row.integer(1), row.integer(2), row.text(3), row.text(4), row.text(5)};
}

std::vector<accounts::Inbox> SandboxStore::list_inboxes(std::int64_t account_id) {
  std::vector<accounts::Inbox> out;
  for (const Row& row : tx_.query("SELECT id, project_id, account_id, name, smtp_username, smtp_password FROM inboxes "
                                  "WHERE account_id = ? ORDER BY id",
                                  {account_id}))
    out.push_back(inbox_from(row));
  return out;
}

std::optional<accounts::Project> SandboxStore::find_project(std::int64_t account_id, std::int64_t id) {
  const auto row =
      tx_.query_one("SELECT id, account_id, name FROM projects WHERE account_id = ? AND id = ?", {account_id, id});
  if (!row) return std::nullopt;
  return accounts::Project{row->integer(0), row->integer(1), row->text(2)};
}

std::optional<accounts::Inbox> SandboxStore::find_inbox(std::int64_t account_id, std::int64_t id) {
  const auto row = tx_.query_one(
      "SELECT id, project_id, account_id, name, smtp_username, smtp_password FROM inboxes "
      "WHERE account_id = ? AND id = ?",
      {account_id, id});
  if (!row) return std::nullopt;
  return inbox_from(*row);
}

// ---- resource ancestry

std::vector<ResourceRef> ResourceStore::chain(const ResourceRef& resource) {
  auto account_chain = [&](std::int64_t account_id) -> std::vector<ResourceRef> {
    const auto row = tx_.query_one("SELECT organization_id FROM accounts WHERE id = ?", {account_id});
    if (!row) return {};
    return {ResourceRef{ResourceType::account, account_id}, ResourceRef{ResourceType::organization, row->integer(0)}};
  };
  auto prepend = [](ResourceRef first, std::vector<ResourceRef> rest) {
    if (rest.empty()) return rest;
    rest.insert(rest.begin(), first);
    return rest;
  };
  switch (resource.type) {
    case ResourceType::organization: {
      if (!tx_.query_one("SELECT id FROM organizations WHERE id = ?", {resource.id})) return {};
      return {resource};
    }
    case ResourceType::account:
      return account_chain(resource.id);
    case ResourceType::billing:
    case ResourceType::email_template:
    case ResourceType::email_campaign:
      // Account-wide scopes are identified by their account's id.
      return prepend(resource, account_chain(resource.id));
    case ResourceType::project: {
      const auto row = tx_.query_one("SELECT account_id FROM projects WHERE id = ?", {resource.id});
      if (!row) return {};
      return prepend(resource, account_chain(row->integer(0)));
    }
    case ResourceType::inbox: {
      const auto row = tx_.query_one("SELECT project_id, account_id FROM inboxes WHERE id = ?", {resource.id});
      if (!row) return {};
      return prepend(resource,
                     prepend(ResourceRef{ResourceType::project, row->integer(0)}, account_chain(row->integer(1))));
    }
    case ResourceType::sending_domain: {
      const auto row = tx_.query_one("SELECT account_id FROM sending_domains WHERE id = ?", {resource.id});
      if (!row) return {};
      return prepend(resource, account_chain(row->integer(0)));
    }
  }
  return {};
}

// ---- usage counters

void UsageStore::increment(std::int64_t account_id, const std::string& metric, std::int64_t period_start,
                           std::int64_t delta) {
  tx_.execute(
      "INSERT INTO usage_counters (account_id, metric, period_start, value) VALUES (?, ?, ?, ?) ON CONFLICT "
      "(account_id, metric, period_start) DO UPDATE SET value = usage_counters.value + excluded.value",
      {account_id, metric, period_start, delta});
}

std::int64_t UsageStore::get(std::int64_t account_id, const std::string& metric, std::int64_t period_start) {
  const auto row =
      tx_.query_one("SELECT value FROM usage_counters WHERE account_id = ? AND metric = ? AND period_start = ?",
                    {account_id, metric, period_start});
  return row ? row->integer(0) : 0;
}

// ---- installation facts

std::optional<std::string> InstallationStore::get(const std::string& key) {
  const auto row = tx_.query_one("SELECT value FROM installation WHERE key = ?", {key});
  if (!row) return std::nullopt;
  return row->text(0);
}

void InstallationStore::set(const std::string& key, const std::string& value) {
  tx_.execute(
      "INSERT INTO installation (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      {key, value});
}

}  // namespace postroom::store
