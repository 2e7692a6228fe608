#pragma once
// Accounts, access and API tokens: the rules of the account structure. Knows nothing of HTTP; callers get
// domain errors (core/errors.h) that adapters translate.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "accounts/model.h"
#include "core/clock.h"
#include "core/config.h"
#include "store/database.h"

namespace postroom::accounts {

// The old token of a reset keeps working this long (the documented 12-hour window).
constexpr std::int64_t kResetGraceSeconds = 12 * 3600;
// Expired tokens are deleted this long after they expire.
constexpr std::int64_t kExpiredTokenRetentionSeconds = 24 * 3600;

struct BootstrapResult {
  bool created = false;  // false: the store was already bootstrapped; only a fresh token was made
  std::int64_t organization_id = 0;
  std::int64_t account_id = 0;
  std::optional<std::int64_t> project_id;
  std::optional<std::int64_t> inbox_id;
  std::optional<std::string> smtp_username;
  std::optional<std::string> smtp_password;
  std::string api_token;
  std::string admin_email;
  std::optional<std::string> admin_password;  // only when the admin user was created now
};

struct AccountSummary {
  Account account;
  int access_level = 0;
};

struct AccessFilter {
  std::vector<std::int64_t> project_ids, inbox_ids, domain_ids;
  bool empty() const { return project_ids.empty() && inbox_ids.empty() && domain_ids.empty(); }
};

struct AccessEntry {
  AccountAccess access;
  std::string email;
  std::string name;
  bool can_read = false, can_update = false, can_destroy = false, can_leave = false;
};

// One element of a permissions bulk update, as received (validated by the service).
struct PermissionInput {
  std::string resource_type;
  std::string resource_id;
  std::optional<std::string> access_level;  // "admin" | "viewer" | "100" | "10"
  bool destroy = false;
};

struct GrantInput {
  std::string resource_type;
  std::string resource_id;
  std::string access_level;
};

struct ResourceNode {
  std::int64_t id = 0;
  std::string name;
  std::string type;
  int access_level = 0;
  std::vector<ResourceNode> resources;
};

struct TokenRequest {
  std::string name;
  std::vector<GrantInput> resources;
  bool has_expires_at = false;
  std::optional<std::int64_t> expires_at;
};

struct CreatedToken {
  ApiToken token;
  std::string secret;  // shown once
};

struct UsageCounter {
  std::int64_t current = 0;
  std::optional<std::int64_t> limit;  // empty: unlimited
};

struct BillingUsage {
  std::int64_t cycle_start = 0;
  std::int64_t cycle_end = 0;
  std::string testing_plan;
  UsageCounter testing_sent, testing_forwarded;
  std::string sending_plan;
  UsageCounter sending_sent;
};

namespace usage_metric {
inline const std::string testing_sent = "testing.sent_messages";
inline const std::string testing_forwarded = "testing.forwarded_messages";
inline const std::string sending_sent = "sending.sent_messages";
}  // namespace usage_metric

class AccountsService {
 public:
  // Keeps references to `db` and `clock`: both must outlive the service.
  AccountsService(store::Database& db, const Clock& clock, PlanLimits plans = {})
      : db_(db), clock_(clock), plans_(std::move(plans)) {}
  AccountsService(store::Database&, Clock&&, PlanLimits = {}) = delete;  // a temporary clock would dangle

  // Creates the default organization, account, admin user, "My Project" / "My Sandbox" and an admin API
  // token on an empty store. On a bootstrapped store only issues a fresh admin token.
  BootstrapResult bootstrap(const std::string& admin_email);
  bool is_bootstrapped();

  // Resolves a raw API token (Bearer or Api-Token) to its principal; empty when unknown or expired.
  std::optional<Principal> authenticate(const std::string& raw_token);

  // The principal's effective level on a resource (0: none or no such resource). On an account, a
  // principal holding grants only on things inside it gets level::indeterminate.
  int level_on(const Principal& principal, const ResourceRef& resource);

  // The principal's level on the organization that owns the account (0 when the account does not exist):
  // decisions reserved to whoever runs the installation, like approving a sending domain.
  int organization_level(const Principal& principal, std::int64_t account_id);
  // The level on a project or inbox that must belong to `account_id`; empty when no such resource is in it.
  std::optional<int> level_in_account(const Principal& principal, const ResourceRef& resource, std::int64_t account_id);

  struct Authorization {
    Principal principal;
    int level = 0;  // on the resource chosen by `resource_for`; 0 when it chose none
  };
  // authenticate + level_on in one read snapshot (one round trip on the request path). `resource_for` picks
  // the resource to check once the principal is known (token-scoped paths mean the token's own account).
  std::optional<Authorization> authorize(
      const std::string& raw_token, const std::function<std::optional<ResourceRef>(const Principal&)>& resource_for);
  // The same with another way to authenticate (a web UI session), run inside the same read snapshot.
  std::optional<Authorization> authorize_with(
      const std::function<std::optional<Principal>(store::Tx&)>& authenticate,
      const std::function<std::optional<ResourceRef>(const Principal&)>& resource_for);

  std::vector<AccountSummary> list_accounts(const Principal& principal);

  std::vector<AccessEntry> list_accesses(const Principal& principal, std::int64_t account_id,
                                         const AccessFilter& filter);
  std::int64_t remove_access(std::int64_t account_id, std::int64_t access_id);
  void update_permissions(std::int64_t account_id, std::int64_t access_id, const std::vector<PermissionInput>& changes);
  std::vector<ResourceNode> resources(const Principal& principal, std::int64_t account_id);

  // Tokens visible to the principal: all of the account's for an account admin, else only its own.
  std::vector<ApiToken> list_tokens(const Principal& principal, std::int64_t account_id, int account_level);
  ApiToken get_token(const Principal& principal, std::int64_t account_id, int account_level, std::int64_t token_id);
  CreatedToken create_token(const Principal& principal, std::int64_t account_id, const TokenRequest& request);
  CreatedToken reset_token(std::int64_t account_id, std::int64_t token_id, const TokenRequest& overrides);
  void delete_token(std::int64_t account_id, std::int64_t token_id);
  int purge_expired_tokens();
  // A token named "<name> <id>" holding `grants`, created inside the caller's write transaction (a sending
  // domain comes with its own token).
  CreatedToken create_resource_token(store::Tx& tx, std::int64_t account_id, const std::string& name,
                                     const std::vector<Grant>& grants) {
    return insert_token(tx, account_id, name, "System", grants, std::nullopt, true);
  }

  // Users (a Postroom extension: the web UI's and `postroom admin create-user`'s). Creates the user when the
  // e-mail is new (with `password`, or a generated one returned in `generated_password`), then gives it
  // `access_level` ("admin" or "viewer") on the account, replacing an account access it had.
  struct UserRequest {
    std::string email;
    std::string name;
    std::optional<std::string> password;
    std::string access_level = "admin";
  };
  struct UserGrantResult {
    User user;
    int access_level = 0;
    bool created = false;
    std::optional<std::string> generated_password;
  };
  UserGrantResult add_user(std::int64_t account_id, const UserRequest& request);
  // Renames an account (Postroom extension).
  Account rename_account(std::int64_t account_id, const std::string& name);
  // The first account of the installation (the bootstrap account when it still exists); 0 when none.
  std::int64_t default_account_id();

  BillingUsage billing_usage(std::int64_t account_id);
  void record_usage(std::int64_t account_id, const std::string& metric, std::int64_t amount);

  std::vector<Account> list_sub_accounts(std::int64_t organization_id);
  Account create_sub_account(std::int64_t organization_id, const std::string& name);

  // Billing cycles are monthly, anchored at the account's creation time.
  static std::pair<std::int64_t, std::int64_t> billing_cycle(std::int64_t anchor, std::int64_t now);

 private:
  CreatedToken insert_token(store::Tx& tx, std::int64_t account_id, const std::string& name,
                            const std::string& created_by, const std::vector<Grant>& grants,
                            std::optional<std::int64_t> expires_at, bool append_id_to_name);
  std::optional<Principal> authenticate_in(store::Tx& tx, const std::string& raw_token);
  static int level_in(store::Tx& tx, const Principal& principal, const ResourceRef& resource);
  std::vector<Grant> resolve_grants(store::Tx& tx, std::int64_t account_id, const std::vector<GrantInput>& inputs);

  store::Database& db_;
  const Clock& clock_;
  PlanLimits plans_;
};

}  // namespace postroom::accounts
