#include "accounts/service.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <map>
#include <set>

#include "accounts/access_policy.h"
#include "core/crypto.h"
#include "core/errors.h"
#include "store/accounts_store.h"

namespace postroom::accounts {

using store::AccessStore;
using store::AccountStore;
using store::ApiTokenStore;
using store::InstallationStore;
using store::OrganizationStore;
using store::ResourceStore;
using store::SandboxStore;
using store::Tx;
using store::UsageStore;
using store::UserStore;

namespace {

constexpr const char* kBootstrapOrganization = "bootstrap.organization_id";
constexpr const char* kBootstrapAccount = "bootstrap.account_id";
constexpr const char* kBootstrapProject = "bootstrap.project_id";
constexpr const char* kBootstrapInbox = "bootstrap.inbox_id";
constexpr const char* kBootstrapAdminUser = "bootstrap.admin_user_id";

std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

std::optional<int> parse_level(std::string_view text) {
  if (text == "admin" || text == "100") return level::admin;
  if (text == "viewer" || text == "10") return level::viewer;
  return std::nullopt;
}

bool is_owner(const AccountAccess& access) {
  return std::any_of(access.grants.begin(), access.grants.end(),
                     [](const Grant& g) { return g.level >= level::owner; });
}

// An access that this account may manage: one of its own account-level accesses.
AccountAccess manageable_access(Tx& tx, std::int64_t account_id, std::int64_t access_id) {
  auto access = AccessStore(tx).find(access_id);
  if (!access) throw NotFound();
  if (access->account_id) {
    if (*access->account_id != account_id) throw NotFound();
  } else {
    const auto account = AccountStore(tx).find(account_id);
    if (!account || account->organization_id != access->organization_id) throw NotFound();
    throw Forbidden();  // organization-wide accesses are managed at the organization
  }
  if (is_owner(*access)) throw Forbidden();  // nobody can alter the owner's permissions
  return *access;
}

std::string principal_label(const Principal& principal) { return principal.name; }

}  // namespace

BootstrapResult AccountsService::bootstrap(const std::string& admin_email) {
  // Hash outside the write job: PBKDF2 is deliberately slow and must not hold up the shared writer.
  const std::string admin_password = crypto::random_password(20);
  const std::string password_hash = crypto::hash_password(admin_password);
  const std::string smtp_username = crypto::random_hex(14);
  const std::string smtp_password = crypto::random_hex(14);

  return db_.write([&](Tx& tx) {
    const std::int64_t now = clock_.now();
    InstallationStore installation(tx);
    BootstrapResult result;
    result.admin_email = admin_email;
    if (auto existing = installation.get(kBootstrapAccount)) {
      result.account_id = std::stoll(*existing);
      result.organization_id = std::stoll(installation.get(kBootstrapOrganization).value_or("0"));
      if (auto id = installation.get(kBootstrapProject);
          id && SandboxStore(tx).find_project(result.account_id, std::stoll(*id)))
        result.project_id = std::stoll(*id);
      if (auto id = installation.get(kBootstrapInbox)) {
        if (auto inbox = SandboxStore(tx).find_inbox(result.account_id, std::stoll(*id))) {
          result.inbox_id = inbox->id;
          result.smtp_username = inbox->smtp_username;
          result.smtp_password = inbox->smtp_password;
        }
      }
      if (auto id = installation.get(kBootstrapAdminUser)) {
        if (auto user = UserStore(tx).find(std::stoll(*id))) result.admin_email = user->email;
      }
    } else {
      result.created = true;
      result.organization_id = OrganizationStore(tx).create("Default Organization", now);
      result.account_id = AccountStore(tx).create(result.organization_id, "Default Account", now);
      const std::int64_t user_id = UserStore(tx).create(admin_email, "Admin", password_hash, now);
      const std::int64_t user_access =
          AccessStore(tx).create(result.organization_id, std::nullopt, kSpecifierUser, user_id, now);
      AccessStore(tx).set_grant(user_access, {{ResourceType::organization, result.organization_id}, level::owner});
      result.project_id = SandboxStore(tx).create_project(result.account_id, "My Project", now);
      result.inbox_id = SandboxStore(tx).create_inbox(result.account_id, *result.project_id, "My Sandbox",
                                                      smtp_username, smtp_password, now);
      result.smtp_username = smtp_username;
      result.smtp_password = smtp_password;
      result.admin_password = admin_password;
      installation.set(kBootstrapOrganization, std::to_string(result.organization_id));
      installation.set(kBootstrapAccount, std::to_string(result.account_id));
      installation.set(kBootstrapProject, std::to_string(*result.project_id));
      installation.set(kBootstrapInbox, std::to_string(*result.inbox_id));
      installation.set(kBootstrapAdminUser, std::to_string(user_id));
    }
    // The admin token administers the default account and, through the organization, its sub-accounts.
    const std::vector<Grant> grants = {{{ResourceType::account, result.account_id}, level::admin},
                                       {{ResourceType::organization, result.organization_id}, level::admin}};
    result.api_token =
        insert_token(tx, result.account_id, "Admin token", "System", grants, std::nullopt, !result.created).secret;
    return result;
  });
}

bool AccountsService::is_bootstrapped() {
  return db_.read([](Tx& tx) { return InstallationStore(tx).get(kBootstrapAccount).has_value(); });
}

std::optional<Principal> AccountsService::authenticate_in(Tx& tx, const std::string& raw_token) {
  if (raw_token.empty() || raw_token.size() > 256) return std::nullopt;
  const std::string hash = crypto::sha256_hex(raw_token);
  std::string stored_hash;
  auto token = ApiTokenStore(tx).find_by_hash(hash, stored_hash);
  if (!token || !crypto::constant_time_equals(stored_hash, hash)) return std::nullopt;
  if (token->expires_at && *token->expires_at <= clock_.now()) return std::nullopt;
  return Principal{Principal::Kind::api_token, token->id, token->account_id, token->name, token->grants};
}

std::optional<Principal> AccountsService::authenticate(const std::string& raw_token) {
  return db_.read([&](Tx& tx) { return authenticate_in(tx, raw_token); });
}

int AccountsService::level_in(Tx& tx, const Principal& principal, const ResourceRef& resource) {
  ResourceStore resources(tx);
  const auto chain = resources.chain(resource);
  if (chain.empty()) return 0;
  const int level = effective_level(principal.grants, chain);
  if (level > 0 || resource.type != ResourceType::account) return level;
  for (const Grant& grant : principal.grants) {
    const auto grant_chain = resources.chain(grant.resource);
    if (std::find(grant_chain.begin(), grant_chain.end(), resource) != grant_chain.end()) return level::indeterminate;
  }
  return 0;
}

int AccountsService::level_on(const Principal& principal, const ResourceRef& resource) {
  return db_.read([&](Tx& tx) { return level_in(tx, principal, resource); });
}

int AccountsService::organization_level(const Principal& principal, std::int64_t account_id) {
  return db_.read([&](Tx& tx) {
    const auto account = AccountStore(tx).find(account_id);
    if (!account) return 0;
    return level_in(tx, principal, ResourceRef{ResourceType::organization, account->organization_id});
  });
}

std::optional<int> AccountsService::level_in_account(const Principal& principal, const ResourceRef& resource,
                                                     std::int64_t account_id) {
  return db_.read([&](Tx& tx) -> std::optional<int> {
    const auto chain = ResourceStore(tx).chain(resource);
    if (std::find(chain.begin(), chain.end(), ResourceRef{ResourceType::account, account_id}) == chain.end())
      return std::nullopt;
    return effective_level(principal.grants, chain);
  });
}

std::optional<AccountsService::Authorization> AccountsService::authorize(
    const std::string& raw_token, const std::function<std::optional<ResourceRef>(const Principal&)>& resource_for) {
  return authorize_with([&](Tx& tx) { return authenticate_in(tx, raw_token); }, resource_for);
}

std::optional<AccountsService::Authorization> AccountsService::authorize_with(
    const std::function<std::optional<Principal>(Tx&)>& authenticate,
    const std::function<std::optional<ResourceRef>(const Principal&)>& resource_for) {
  return db_.read([&](Tx& tx) -> std::optional<Authorization> {
    auto principal = authenticate(tx);
    if (!principal) return std::nullopt;
    const auto resource = resource_for(*principal);
    const int level = resource ? level_in(tx, *principal, *resource) : 0;
    return Authorization{std::move(*principal), level};
  });
}

std::vector<AccountSummary> AccountsService::list_accounts(const Principal& principal) {
  return db_.read([&](Tx& tx) {
    std::map<std::int64_t, int> levels;
    ResourceStore resources(tx);
    for (const Grant& grant : principal.grants) {
      if (grant.resource.type == ResourceType::organization) {
        for (const Account& account : AccountStore(tx).list_by_organization(grant.resource.id))
          levels[account.id] = std::max(levels[account.id], grant.level);
        continue;
      }
      const auto chain = resources.chain(grant.resource);
      for (const ResourceRef& ref : chain) {
        if (ref.type != ResourceType::account) continue;
        const int level = grant.resource.type == ResourceType::account ? grant.level : level::indeterminate;
        levels[ref.id] = std::max(levels[ref.id], level);
      }
    }
    std::vector<AccountSummary> out;
    for (const auto& [id, level] : levels) {
      if (auto account = AccountStore(tx).find(id)) out.push_back({*account, level});
    }
    return out;
  });
}

std::vector<AccessEntry> AccountsService::list_accesses(const Principal& principal, std::int64_t account_id,
                                                        const AccessFilter& filter) {
  return db_.read([&](Tx& tx) {
    const auto account = AccountStore(tx).find(account_id);
    if (!account) throw NotFound();
    std::set<ResourceRef> wanted;
    for (auto id : filter.project_ids) wanted.insert({ResourceType::project, id});
    for (auto id : filter.inbox_ids) wanted.insert({ResourceType::inbox, id});
    for (auto id : filter.domain_ids) wanted.insert({ResourceType::sending_domain, id});
    std::vector<AccessEntry> out;
    for (AccountAccess& access : AccessStore(tx).list_for_account(account_id, account->organization_id)) {
      if (access.specifier_type == kSpecifierApiToken) continue;  // tokens are listed by the tokens API
      if (!filter.empty() && std::none_of(access.grants.begin(), access.grants.end(),
                                          [&](const Grant& g) { return wanted.count(g.resource) > 0; }))
        continue;
      AccessEntry entry;
      if (access.specifier_type == kSpecifierUser) {
        if (auto user = UserStore(tx).find(access.specifier_id)) {
          entry.email = user->email;
          entry.name = user->name;
        }
      }
      const bool manageable = access.account_id.has_value() && !is_owner(access);
      const bool is_self = principal.kind == Principal::Kind::user && access.specifier_type == kSpecifierUser &&
                           access.specifier_id == principal.id;
      entry.can_read = true;
      entry.can_update = manageable && !is_self;
      entry.can_destroy = manageable && !is_self;
      entry.can_leave = is_self && !is_owner(access);
      entry.access = std::move(access);
      out.push_back(std::move(entry));
    }
    return out;
  });
}

std::int64_t AccountsService::remove_access(std::int64_t account_id, std::int64_t access_id) {
  return db_.write([&](Tx& tx) {
    const AccountAccess access = manageable_access(tx, account_id, access_id);
    if (access.specifier_type == kSpecifierApiToken)
      ApiTokenStore(tx).remove(access.specifier_id);  // removes the token together with its access
    else
      AccessStore(tx).remove(access.id);
    return access.id;
  });
}

void AccountsService::update_permissions(std::int64_t account_id, std::int64_t access_id,
                                         const std::vector<PermissionInput>& changes) {
  db_.write([&](Tx& tx) {
    const AccountAccess access = manageable_access(tx, account_id, access_id);
    if (changes.empty()) throw ValidationError("base", "No permissions selected. Please choose at least one.");
    ResourceStore resources(tx);
    for (const PermissionInput& change : changes) {
      const auto type = parse_resource_type(change.resource_type);
      if (!type) throw ValidationError("resource_type", "is invalid");
      const auto id = parse_id(change.resource_id);
      if (!id) throw ValidationError("resource_id", "is invalid");
      const ResourceRef ref{*type, *id};
      const auto chain = resources.chain(ref);
      if (std::find(chain.begin(), chain.end(), ResourceRef{ResourceType::account, account_id}) == chain.end())
        throw ValidationError("resource_id", "is not a resource of this account");
      if (change.destroy) {
        AccessStore(tx).remove_grant(access.id, ref);
        continue;
      }
      const auto level = change.access_level ? parse_level(*change.access_level) : std::nullopt;
      if (!level) throw ValidationError("access_level", "must be admin, viewer, 100 or 10");
      AccessStore(tx).set_grant(access.id, {ref, *level});
    }
  });
}

std::vector<ResourceNode> AccountsService::resources(const Principal& principal, std::int64_t account_id) {
  return db_.read([&](Tx& tx) {
    const auto account = AccountStore(tx).find(account_id);
    if (!account) throw NotFound();
    ResourceStore chains(tx);
    auto level_of = [&](const ResourceRef& ref) { return effective_level(principal.grants, chains.chain(ref)); };
    std::vector<ResourceNode> projects;
    SandboxStore sandbox(tx);
    const auto inboxes = sandbox.list_inboxes(account_id);
    for (const Project& project : sandbox.list_projects(account_id)) {
      ResourceNode node{project.id, project.name, "project", level_of({ResourceType::project, project.id}), {}};
      for (const Inbox& inbox : inboxes) {
        if (inbox.project_id != project.id) continue;
        const int level = level_of({ResourceType::inbox, inbox.id});
        if (level >= level::admin) node.resources.push_back({inbox.id, inbox.name, "inbox", level, {}});
      }
      if (node.access_level >= level::admin || !node.resources.empty()) projects.push_back(std::move(node));
    }
    const int account_level = level_of({ResourceType::account, account_id});
    if (account_level >= level::admin)
      return std::vector<ResourceNode>{{account->id, account->name, "account", account_level, std::move(projects)}};
    return projects;
  });
}

std::vector<Grant> AccountsService::resolve_grants(Tx& tx, std::int64_t account_id,
                                                   const std::vector<GrantInput>& inputs) {
  std::vector<Grant> grants;
  ResourceStore resources(tx);
  for (const GrantInput& input : inputs) {
    const auto type = parse_resource_type(input.resource_type);
    const auto id = parse_id(input.resource_id);
    const auto level = parse_level(input.access_level);
    if (!type) throw ValidationError("resources", "resource_type '" + input.resource_type + "' is invalid");
    if (!id) throw ValidationError("resources", "resource_id is invalid");
    if (!level) throw ValidationError("resources", "access_level must be 100 (admin) or 10 (viewer)");
    if (*type == ResourceType::organization)
      throw ValidationError("resources", "organization access cannot be granted to an account token");
    const auto chain = resources.chain({*type, *id});
    if (std::find(chain.begin(), chain.end(), ResourceRef{ResourceType::account, account_id}) == chain.end())
      throw ValidationError("resources",
                            std::string(input.resource_type) + " " + input.resource_id + " is not in this account");
    grants.push_back({{*type, *id}, *level});
  }
  return grants;
}

CreatedToken AccountsService::insert_token(Tx& tx, std::int64_t account_id, const std::string& name,
                                           const std::string& created_by, const std::vector<Grant>& grants,
                                           std::optional<std::int64_t> expires_at, bool append_id_to_name) {
  const std::int64_t now = clock_.now();
  const auto account = AccountStore(tx).find(account_id);
  if (!account) throw NotFound();
  CreatedToken created;
  created.secret = crypto::new_api_token();
  ApiTokenStore tokens(tx);
  const std::int64_t id = tokens.create(account_id, name, crypto::sha256_hex(created.secret),
                                        created.secret.substr(created.secret.size() - 4), created_by, expires_at, now);
  if (append_id_to_name) tokens.rename(id, name + " " + std::to_string(id));
  const std::int64_t access_id =
      AccessStore(tx).create(account->organization_id, account_id, kSpecifierApiToken, id, now);
  for (const Grant& grant : grants) AccessStore(tx).set_grant(access_id, grant);
  created.token = *tokens.find(account_id, id);
  return created;
}

std::vector<ApiToken> AccountsService::list_tokens(const Principal& principal, std::int64_t account_id,
                                                   int account_level) {
  return db_.read([&](Tx& tx) {
    std::vector<ApiToken> tokens = ApiTokenStore(tx).list(account_id);
    if (account_level < level::admin) {
      std::erase_if(tokens, [&](const ApiToken& t) {
        return !(principal.kind == Principal::Kind::api_token && t.id == principal.id);
      });
    }
    return tokens;
  });
}

ApiToken AccountsService::get_token(const Principal& principal, std::int64_t account_id, int account_level,
                                    std::int64_t token_id) {
  auto token = db_.read([&](Tx& tx) { return ApiTokenStore(tx).find(account_id, token_id); });
  if (!token) throw NotFound();
  if (account_level < level::admin && !(principal.kind == Principal::Kind::api_token && principal.id == token_id))
    throw NotFound();
  return *token;
}

CreatedToken AccountsService::create_token(const Principal& principal, std::int64_t account_id,
                                           const TokenRequest& request) {
  // As the real API: missing permissions are reported on their own, before anything else is checked.
  if (request.resources.empty()) throw ValidationError("base", "No permissions selected. Please choose at least one.");
  std::map<std::string, std::vector<std::string>> errors;
  const std::string& name = request.name;
  if (name.find_first_not_of(" \t") == std::string::npos) errors["name"].push_back("can't be blank");
  if (name.size() > 255) errors["name"].push_back("is too long (maximum is 255 characters)");
  if (request.expires_at && *request.expires_at <= clock_.now())
    errors["expires_at"].push_back("must be in the future");
  if (!errors.empty()) throw ValidationError(std::move(errors));
  return db_.write([&](Tx& tx) {
    const auto grants = resolve_grants(tx, account_id, request.resources);
    return insert_token(tx, account_id, name, principal_label(principal), grants, request.expires_at, false);
  });
}

CreatedToken AccountsService::reset_token(std::int64_t account_id, std::int64_t token_id,
                                          const TokenRequest& overrides) {
  return db_.write([&](Tx& tx) {
    ApiTokenStore tokens(tx);
    const auto old = tokens.find(account_id, token_id);
    if (!old) throw NotFound();
    const std::int64_t now = clock_.now();
    if (old->expires_at && *old->expires_at <= now) throw ValidationError("base", "Token has expired");
    if (old->reset_at) throw ValidationError("base", "Token has already been reset");
    const std::optional<std::int64_t> expires_at = overrides.has_expires_at ? overrides.expires_at : std::nullopt;
    if (expires_at && *expires_at <= now) throw ValidationError("expires_at", "must be in the future");
    // The old token keeps working through the grace window; an earlier own expiry still wins.
    std::int64_t old_expiry = now + kResetGraceSeconds;
    if (old->expires_at) old_expiry = std::min(old_expiry, *old->expires_at);
    tokens.mark_reset(old->id, now, old_expiry);
    return insert_token(tx, account_id, old->name, old->created_by, old->grants, expires_at, true);
  });
}

void AccountsService::delete_token(std::int64_t account_id, std::int64_t token_id) {
  db_.write([&](Tx& tx) {
    ApiTokenStore tokens(tx);
    if (!tokens.find(account_id, token_id)) throw NotFound();
    tokens.remove(token_id);
  });
}

int AccountsService::purge_expired_tokens() {
  const std::int64_t cutoff = clock_.now() - kExpiredTokenRetentionSeconds;
  return db_.write([&](Tx& tx) { return ApiTokenStore(tx).purge_expired_before(cutoff); });
}

std::pair<std::int64_t, std::int64_t> AccountsService::billing_cycle(std::int64_t anchor, std::int64_t now) {
  std::tm base{};
  const std::time_t anchor_t = static_cast<std::time_t>(anchor);
  gmtime_r(&anchor_t, &base);
  auto add_months = [&](int months) {
    std::tm tm = base;
    tm.tm_mon += months;
    const int year = tm.tm_year + 1900 + tm.tm_mon / 12;
    const int month = tm.tm_mon % 12;
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int last = days[month];
    if (month == 1 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) last = 29;
    tm.tm_mday = std::min(base.tm_mday, last);  // Jan 31 → Feb 28/29, not Mar 3
    return static_cast<std::int64_t>(timegm(&tm));
  };
  int months = 0;
  if (now > anchor) {
    std::tm now_tm{};
    const std::time_t now_t = static_cast<std::time_t>(now);
    gmtime_r(&now_t, &now_tm);
    months = std::max(0, (now_tm.tm_year - base.tm_year) * 12 + (now_tm.tm_mon - base.tm_mon) - 1);
    while (add_months(months + 1) <= now) ++months;
  }
  return {add_months(months), add_months(months + 1)};
}

BillingUsage AccountsService::billing_usage(std::int64_t account_id) {
  return db_.read([&](Tx& tx) {
    const auto account = AccountStore(tx).find(account_id);
    if (!account) throw NotFound();
    BillingUsage usage;
    std::tie(usage.cycle_start, usage.cycle_end) = billing_cycle(account->created_at, clock_.now());
    UsageStore counters(tx);
    auto limit = [](std::int64_t configured) { return configured < 0 ? std::nullopt : std::optional(configured); };
    usage.testing_plan = plans_.testing_plan_name;
    usage.testing_sent = {counters.get(account_id, usage_metric::testing_sent, usage.cycle_start),
                          limit(plans_.testing_message_limit)};
    usage.testing_forwarded = {counters.get(account_id, usage_metric::testing_forwarded, usage.cycle_start),
                               limit(plans_.testing_forward_limit)};
    usage.sending_plan = plans_.sending_plan_name;
    usage.sending_sent = {counters.get(account_id, usage_metric::sending_sent, usage.cycle_start),
                          limit(plans_.sending_message_limit)};
    return usage;
  });
}

void AccountsService::record_usage(std::int64_t account_id, const std::string& metric, std::int64_t amount) {
  db_.write([&](Tx& tx) {
    const auto account = AccountStore(tx).find(account_id);
    if (!account) throw NotFound();
    const auto [start, end] = billing_cycle(account->created_at, clock_.now());
    UsageStore(tx).increment(account_id, metric, start, amount);
  });
}

std::vector<Account> AccountsService::list_sub_accounts(std::int64_t organization_id) {
  return db_.read([&](Tx& tx) { return AccountStore(tx).list_by_organization(organization_id); });
}

Account AccountsService::create_sub_account(std::int64_t organization_id, const std::string& name) {
  if (name.find_first_not_of(" \t") == std::string::npos) throw ValidationError("name", "can't be blank");
  if (name.size() > 255) throw ValidationError("name", "is too long (maximum is 255 characters)");
  return db_.write([&](Tx& tx) {
    if (!OrganizationStore(tx).find(organization_id)) throw NotFound();
    const std::int64_t id = AccountStore(tx).create(organization_id, name, clock_.now());
    return *AccountStore(tx).find(id);
  });
}

}  // namespace postroom::accounts
