#pragma once
// The account structure: organizations → accounts (sub-accounts) → users, invites and API tokens, each
// holding permissions (access levels) on resources. Plain data; rules live in access_policy.h and service.h.
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::accounts {

enum class ResourceType {
  organization,
  account,
  billing,
  project,
  inbox,
  sending_domain,
  email_template,
  email_campaign
};

// Wire name as the account-scoped API writes it ("inbox", "sending_domain", …).
std::string_view to_string(ResourceType type);
// Accepts the wire names of both API generations ("sandbox" = inbox, "domain" = sending_domain, …).
std::optional<ResourceType> parse_resource_type(std::string_view name);

namespace level {
constexpr int owner = 1000;
constexpr int admin = 100;
constexpr int viewer_plus = 50;
constexpr int viewer = 10;
constexpr int indeterminate = 1;  // some access somewhere inside the resource, none on it
}  // namespace level

struct ResourceRef {
  ResourceType type;
  std::int64_t id;
  auto operator<=>(const ResourceRef&) const = default;
};

struct Grant {
  ResourceRef resource;
  int level;
  bool operator==(const Grant&) const = default;
};

struct Organization {
  std::int64_t id = 0;
  std::string name;
};

struct Account {
  std::int64_t id = 0;
  std::int64_t organization_id = 0;
  std::string name;
  std::int64_t created_at = 0;
};

struct User {
  std::int64_t id = 0;
  std::string email;
  std::string name;
  std::optional<std::string> password_hash;
};

inline constexpr std::string_view kSpecifierUser = "User";
inline constexpr std::string_view kSpecifierInvite = "Invite";
inline constexpr std::string_view kSpecifierApiToken = "ApiToken";

struct AccountAccess {
  std::int64_t id = 0;
  std::int64_t organization_id = 0;
  std::optional<std::int64_t> account_id;  // empty: organization-wide access
  std::string specifier_type;
  std::int64_t specifier_id = 0;
  std::vector<Grant> grants;
};

struct ApiToken {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  std::int64_t access_id = 0;
  std::string name;
  std::string last_4_digits;
  std::string created_by;
  std::optional<std::int64_t> expires_at;
  std::optional<std::int64_t> reset_at;
  std::int64_t created_at = 0;
  std::vector<Grant> grants;
};

// Who is making a request and what it may touch.
struct Principal {
  enum class Kind { api_token, user } kind = Kind::api_token;
  std::int64_t id = 0;          // token id or user id
  std::int64_t account_id = 0;  // the account a token belongs to (the default account for token-scoped paths)
  std::string name;
  std::vector<Grant> grants;
};

struct Project {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  std::string name;
};

struct Inbox {
  std::int64_t id = 0;
  std::int64_t project_id = 0;
  std::int64_t account_id = 0;
  std::string name;
  std::string smtp_username;
  std::string smtp_password;
};

}  // namespace postroom::accounts
