#include "store/sessions_store.h"

namespace postroom::store {

std::int64_t SessionStore::create(const std::string& session_hash, std::int64_t user_id, std::int64_t now,
                                  std::int64_t expires_at) {
  return tx_.insert_returning_id(
      "INSERT INTO ui_sessions (session_hash, user_id, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?) "
      "RETURNING id",
      {session_hash, user_id, now, expires_at, now});
}

std::optional<UiSession> SessionStore::find_by_hash(const std::string& session_hash) {
  const auto row = tx_.query_one(
      "SELECT id, session_hash, user_id, created_at, expires_at, last_seen_at FROM ui_sessions WHERE session_hash = ?",
      {session_hash});
  if (!row) return std::nullopt;
  return UiSession{row->integer(0), row->text(1), row->integer(2), row->integer(3), row->integer(4), row->integer(5)};
}

void SessionStore::touch(std::int64_t id, std::int64_t last_seen_at, std::int64_t expires_at) {
  tx_.execute("UPDATE ui_sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?", {last_seen_at, expires_at, id});
}

bool SessionStore::remove_by_hash(const std::string& session_hash) {
  return tx_.execute("DELETE FROM ui_sessions WHERE session_hash = ?", {session_hash}) > 0;
}

int SessionStore::purge_expired_before(std::int64_t cutoff) {
  return static_cast<int>(tx_.execute("DELETE FROM ui_sessions WHERE expires_at < ?", {cutoff}));
}

}  // namespace postroom::store
