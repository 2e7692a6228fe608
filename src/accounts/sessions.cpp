#include "accounts/sessions.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "core/crypto.h"
#include "store/accounts_store.h"
#include "store/sessions_store.h"

namespace postroom::accounts {

using store::Tx;

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// Verified against when the e-mail is unknown (or the user has no password), so the answer takes as long as for a
// wrong password and does not reveal which e-mails exist.
const std::string& dummy_password_hash() {
  static const std::string hash = crypto::hash_password(crypto::random_password(20));
  return hash;
}

}  // namespace

Principal SessionsService::principal_for_user(Tx& tx, const User& user) {
  Principal principal;
  principal.kind = Principal::Kind::user;
  principal.id = user.id;
  principal.name = user.email;
  std::set<std::int64_t> accounts;
  store::ResourceStore resources(tx);
  for (AccountAccess& access : store::AccessStore(tx).list_for_specifier(kSpecifierUser, user.id)) {
    for (const Grant& grant : access.grants) {
      principal.grants.push_back(grant);
      if (grant.resource.type == ResourceType::organization) {
        for (const Account& account : store::AccountStore(tx).list_by_organization(grant.resource.id))
          accounts.insert(account.id);
        continue;
      }
      for (const ResourceRef& ref : resources.chain(grant.resource))
        if (ref.type == ResourceType::account) accounts.insert(ref.id);
    }
  }
  principal.account_id = accounts.empty() ? 0 : *accounts.begin();
  return principal;
}

bool SessionsService::throttled(const std::string& key, std::int64_t now) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return false;
  auto& times = it->second;
  while (!times.empty() && times.front() <= now - kSignInWindowSeconds) times.pop_front();
  if (times.empty()) {
    failures_.erase(it);
    return false;
  }
  return static_cast<int>(times.size()) >= kSignInMaxFailures;
}

void SessionsService::record_failure(const std::string& key, std::int64_t now) {
  // Bounded memory under a flood of distinct keys: forget everything rather than grow without limit.
  if (failures_.size() > 100000) failures_.clear();
  auto& times = failures_[key];
  times.push_back(now);
  while (static_cast<int>(times.size()) > kSignInMaxFailures) times.pop_front();
}

SignInResult SessionsService::sign_in(const std::string& email, const std::string& password,
                                      const std::string& client) {
  const std::int64_t now = clock_.now();
  const std::string email_key = "email:" + lower(email);
  const std::string client_key = "ip:" + client;
  {
    std::lock_guard lock(throttle_mutex_);
    if (throttled(email_key, now) || throttled(client_key, now)) return {SignInResult::Outcome::throttled, {}, {}};
  }
  const auto user = db_.read([&](Tx& tx) { return store::UserStore(tx).find_by_email(email); });
  // Always one PBKDF2 run, whether or not the user exists.
  const bool has_password = user && user->password_hash && !user->password_hash->empty();
  const bool verified = crypto::verify_password(password, has_password ? *user->password_hash : dummy_password_hash());
  if (!user || !has_password || !verified) {
    std::lock_guard lock(throttle_mutex_);
    record_failure(email_key, now);
    record_failure(client_key, now);
    return {SignInResult::Outcome::invalid, {}, {}};
  }
  {
    std::lock_guard lock(throttle_mutex_);
    failures_.erase(email_key);
  }
  SignInResult result;
  result.outcome = SignInResult::Outcome::ok;
  result.session_token = crypto::new_api_token();
  result.user = *user;
  result.user.password_hash.reset();
  const std::string hash = crypto::sha256_hex(result.session_token);
  db_.write([&](Tx& tx) { store::SessionStore(tx).create(hash, user->id, now, now + kSessionLifetimeSeconds); });
  return result;
}

std::optional<SessionInfo> SessionsService::session_in(Tx& tx, const std::string& raw_session) {
  if (raw_session.size() != 64) return std::nullopt;  // every session token is 64 hex characters
  const std::string hash = crypto::sha256_hex(raw_session);
  const auto session = store::SessionStore(tx).find_by_hash(hash);
  if (!session || !crypto::constant_time_equals(session->session_hash, hash)) return std::nullopt;
  const std::int64_t now = clock_.now();
  if (session->expires_at <= now) return std::nullopt;
  auto user = store::UserStore(tx).find(session->user_id);
  if (!user) return std::nullopt;
  user->password_hash.reset();
  if (now - session->last_seen_at >= kSessionRefreshSeconds) {
    // Not waited for: a lost refresh only means the session expires a little earlier.
    db_.write_async([id = session->id,
                     now](Tx& write) { store::SessionStore(write).touch(id, now, now + kSessionLifetimeSeconds); },
                    [](std::exception_ptr) {});
  }
  Principal principal = principal_for_user(tx, *user);
  return SessionInfo{std::move(*user), std::move(principal)};
}

std::optional<Principal> SessionsService::authenticate_in(Tx& tx, const std::string& raw_session) {
  auto info = session_in(tx, raw_session);
  if (!info) return std::nullopt;
  return std::move(info->principal);
}

std::optional<Principal> SessionsService::authenticate(const std::string& raw_session) {
  return db_.read([&](Tx& tx) { return authenticate_in(tx, raw_session); });
}

std::optional<SessionInfo> SessionsService::session(const std::string& raw_session) {
  return db_.read([&](Tx& tx) { return session_in(tx, raw_session); });
}

bool SessionsService::sign_out(const std::string& raw_session) {
  if (raw_session.empty()) return false;
  const std::string hash = crypto::sha256_hex(raw_session);
  return db_.write([&](Tx& tx) { return store::SessionStore(tx).remove_by_hash(hash); });
}

int SessionsService::purge_expired() {
  const std::int64_t now = clock_.now();
  return db_.write([&](Tx& tx) { return store::SessionStore(tx).purge_expired_before(now); });
}

std::string SessionsService::csrf_token(const std::string& raw_session) {
  return crypto::sha256_hex("csrf:" + raw_session);
}

bool SessionsService::csrf_matches(const std::string& raw_session, std::string_view presented) {
  return !raw_session.empty() && crypto::constant_time_equals(csrf_token(raw_session), presented);
}

}  // namespace postroom::accounts
