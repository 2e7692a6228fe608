#pragma once
// Storage for web UI sessions (browser sign-ins). Only the SHA-256 of a session's raw token is stored.
#include <cstdint>
#include <optional>
#include <string>

#include "store/database.h"

namespace postroom::store {

struct UiSession {
  std::int64_t id = 0;
  std::string session_hash;
  std::int64_t user_id = 0;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t last_seen_at = 0;
};

class SessionStore {
 public:
  explicit SessionStore(Tx& tx) : tx_(tx) {}
  std::int64_t create(const std::string& session_hash, std::int64_t user_id, std::int64_t now, std::int64_t expires_at);
  std::optional<UiSession> find_by_hash(const std::string& session_hash);
  // Slides the expiry forward after use.
  void touch(std::int64_t id, std::int64_t last_seen_at, std::int64_t expires_at);
  // Returns whether a session was deleted.
  bool remove_by_hash(const std::string& session_hash);
  // Deletes sessions that expired before `cutoff`. Returns how many.
  int purge_expired_before(std::int64_t cutoff);

 private:
  Tx& tx_;
};

}  // namespace postroom::store
