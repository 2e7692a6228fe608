// Users and account names: Postroom extensions the web UI and `postroom admin create-user` use.
#include <algorithm>

#include "accounts/service.h"
#include "core/crypto.h"
#include "core/errors.h"
#include "store/accounts_store.h"

namespace postroom::accounts {

using store::Tx;

namespace {

constexpr std::size_t kMinPasswordLength = 8;

bool plausible_email(const std::string& email) {
  const auto at = email.find('@');
  return at != std::string::npos && at > 0 && at + 1 < email.size() && email.find('@', at + 1) == std::string::npos &&
         email.size() <= 255 &&
         std::none_of(email.begin(), email.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; });
}

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

}  // namespace

AccountsService::UserGrantResult AccountsService::add_user(std::int64_t account_id, const UserRequest& request) {
  std::map<std::string, std::vector<std::string>> errors;
  const std::string email = trimmed(request.email);
  std::string name = trimmed(request.name);
  if (email.empty())
    errors["email"].emplace_back("can't be blank");
  else if (!plausible_email(email))
    errors["email"].emplace_back("is invalid");
  if (name.size() > 255) errors["name"].emplace_back("is too long (maximum is 255 characters)");
  if (request.password && request.password->size() < kMinPasswordLength)
    errors["password"].emplace_back("is too short (minimum is 8 characters)");
  int level = 0;
  if (request.access_level == "admin" || request.access_level == "100")
    level = level::admin;
  else if (request.access_level == "viewer" || request.access_level == "10")
    level = level::viewer;
  else
    errors["access_level"].emplace_back("must be admin or viewer");
  if (!errors.empty()) throw ValidationError(std::move(errors));
  if (name.empty()) name = email.substr(0, email.find('@'));

  // PBKDF2 is deliberately slow: hash before the write job so it does not hold up the shared writer (wasted
  // when the user exists already, which is rare).
  std::optional<std::string> generated;
  if (!request.password) generated = crypto::random_password(20);
  const std::string password_hash = crypto::hash_password(request.password ? *request.password : *generated);

  return db_.write([&](Tx& tx) {
    const auto account = store::AccountStore(tx).find(account_id);
    if (!account) throw NotFound();
    const std::int64_t now = clock_.now();
    UserGrantResult result;
    store::UserStore users(tx);
    auto user = users.find_by_email(email);
    if (!user) {
      const std::int64_t id = users.create(email, name, password_hash, now);
      user = users.find(id);
      result.created = true;
      result.generated_password = generated;
    }
    store::AccessStore accesses(tx);
    std::optional<std::int64_t> access_id;
    for (const AccountAccess& access : accesses.list_for_specifier(kSpecifierUser, user->id)) {
      if (access.account_id == account_id) {
        if (std::any_of(access.grants.begin(), access.grants.end(),
                        [](const Grant& g) { return g.level >= level::owner; }))
          throw Forbidden();  // nobody can alter the owner's permissions
        access_id = access.id;
        break;
      }
    }
    if (!access_id) access_id = accesses.create(account->organization_id, account_id, kSpecifierUser, user->id, now);
    accesses.set_grant(*access_id, {{ResourceType::account, account_id}, level});
    user->password_hash.reset();
    result.user = *user;
    result.access_level = level;
    return result;
  });
}

Account AccountsService::rename_account(std::int64_t account_id, const std::string& name) {
  if (name.find_first_not_of(" \t") == std::string::npos) throw ValidationError("name", "can't be blank");
  if (name.size() > 255) throw ValidationError("name", "is too long (maximum is 255 characters)");
  return db_.write([&](Tx& tx) {
    store::AccountStore accounts(tx);
    if (!accounts.find(account_id)) throw NotFound();
    accounts.rename(account_id, name);
    return *accounts.find(account_id);
  });
}

std::int64_t AccountsService::default_account_id() {
  return db_.read([](Tx& tx) {
    const auto account = store::AccountStore(tx).first();
    return account ? account->id : std::int64_t{0};
  });
}

}  // namespace postroom::accounts
