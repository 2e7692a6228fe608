#pragma once
// Web UI sessions: sign-in with e-mail and password, the session behind the browser's cookie, sign-out, and the
// CSRF token derived from a session. Knows nothing of HTTP: the adapter (http/api/session.cpp, the pipeline)
// reads the cookie and headers and maps outcomes to status codes.
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "accounts/model.h"
#include "core/clock.h"
#include "store/database.h"

namespace postroom::accounts {

// A session lives this long after its last use.
constexpr std::int64_t kSessionLifetimeSeconds = 14 * 24 * 3600;
// Use moves the expiry forward at most this often, so requests do not each cost a write.
constexpr std::int64_t kSessionRefreshSeconds = 3600;
// Sign-in throttling: this many failures for one e-mail or one client address within the window answer 429.
constexpr int kSignInMaxFailures = 10;
constexpr std::int64_t kSignInWindowSeconds = 15 * 60;

struct SignInResult {
  enum class Outcome { ok, invalid, throttled } outcome = Outcome::invalid;
  std::string session_token;  // raw, for the cookie; only on ok
  User user;                  // only on ok
};

// A valid session's user and the principal it acts as.
struct SessionInfo {
  User user;
  Principal principal;
};

class SessionsService {
 public:
  // Keeps references to `db` and `clock`: both must outlive the service.
  SessionsService(store::Database& db, const Clock& clock) : db_(db), clock_(clock) {}
  SessionsService(store::Database&, Clock&&) = delete;

  // Verifies the password (PBKDF2, constant-time compare; an unknown e-mail costs the same as a wrong password) and
  // creates a session. `client` is the caller's address for throttling.
  SignInResult sign_in(const std::string& email, const std::string& password, const std::string& client);
  // The session's user as a principal (kind user, the union of the user's grants, the first reachable account as
  // its default account); empty when unknown or expired. Refreshes the expiry at most once an hour.
  std::optional<Principal> authenticate(const std::string& raw_session);
  // The same inside the caller's read snapshot (the pipeline authorizes in one snapshot).
  std::optional<Principal> authenticate_in(store::Tx& tx, const std::string& raw_session);
  std::optional<SessionInfo> session(const std::string& raw_session);
  // Deletes the session; false when there was none.
  bool sign_out(const std::string& raw_session);
  // Deletes sessions past their expiry. Returns how many.
  int purge_expired();

  // The CSRF token of a session: derived from the raw token, never stored.
  static std::string csrf_token(const std::string& raw_session);
  static bool csrf_matches(const std::string& raw_session, std::string_view presented);

  // The principal a user acts as (also used for users outside sessions, e.g. tests).
  static Principal principal_for_user(store::Tx& tx, const User& user);

 private:
  std::optional<SessionInfo> session_in(store::Tx& tx, const std::string& raw_session);
  bool throttled(const std::string& key, std::int64_t now);
  void record_failure(const std::string& key, std::int64_t now);

  store::Database& db_;
  const Clock& clock_;
  // Failed sign-ins per "email:<address>" and "ip:<address>". In memory and per process: a restart forgets it and
  // each node of a cluster counts on its own, which is enough to stop online password guessing.
  std::mutex throttle_mutex_;
  std::unordered_map<std::string, std::deque<std::int64_t>> failures_;
};

}  // namespace postroom::accounts
