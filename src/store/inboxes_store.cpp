#include "store/inboxes_store.h"

#include <stdexcept>

namespace postroom::store {
namespace {

// The inbox columns every read selects, in the order inbox_from expects; `i` is the inboxes table.
constexpr const char* kInboxColumns =
    "SELECT i.id, i.project_id, i.account_id, i.name, i.smtp_username, i.smtp_password, i.status, "
    "i.email_username, i.email_username_enabled, i.max_messages, i.max_message_size, i.sent_messages_count, "
    "i.forwarded_messages_count, i.last_message_sent_at, i.created_at, "
    "(SELECT COUNT(*) FROM sandbox_messages m WHERE m.inbox_id = i.id), "
    "(SELECT COUNT(*) FROM sandbox_messages m WHERE m.inbox_id = i.id AND m.is_read = 0) "
    "FROM inboxes i ";

sandbox::Inbox inbox_from(const Row& row) {
  sandbox::Inbox inbox;
  inbox.id = row.integer(0);
  inbox.project_id = row.integer(1);
  inbox.account_id = row.integer(2);
  inbox.name = row.text(3);
  inbox.smtp_username = row.text(4);
  inbox.smtp_password = row.text(5);
  inbox.status = row.text(6);
  if (const auto email_username = row.optional_text(7)) {
    inbox.email_username = *email_username;
    inbox.email_username_stored = true;
  }
  inbox.email_username_enabled = row.integer(8) != 0;
  inbox.max_messages = row.optional_integer(9);
  inbox.max_message_size = row.optional_integer(10);
  inbox.sent_messages_count = row.integer(11);
  inbox.forwarded_messages_count = row.integer(12);
  inbox.last_message_sent_at = row.optional_integer(13);
  inbox.created_at = row.integer(14);
  inbox.emails_count = row.integer(15);
  inbox.emails_unread_count = row.integer(16);
  return inbox;
}

sandbox::Project project_from(const Row& row) {
  sandbox::Project project;
  project.id = row.integer(0);
  project.account_id = row.integer(1);
  project.name = row.text(2);
  project.created_at = row.integer(3);
  return project;
}

}  // namespace

// ---- projects

std::int64_t ProjectsStore::create(std::int64_t account_id, const std::string& name, std::int64_t now) {
  return tx_.insert_returning_id("INSERT INTO projects (account_id, name, created_at) VALUES (?, ?, ?) RETURNING id",
                                 {account_id, name, now});
}

std::vector<sandbox::Project> ProjectsStore::list(std::int64_t account_id) {
  std::vector<sandbox::Project> out;
  for (const Row& row : tx_.query(
           "SELECT id, account_id, name, created_at FROM projects WHERE account_id = ? ORDER BY id", {account_id}))
    out.push_back(project_from(row));
  return out;
}

std::optional<sandbox::Project> ProjectsStore::find(std::int64_t account_id, std::int64_t id) {
  const auto row = tx_.query_one(
      "SELECT id, account_id, name, created_at FROM projects WHERE account_id = ? AND id = ?", {account_id, id});
  if (!row) return std::nullopt;
  return project_from(*row);
}

void ProjectsStore::rename(std::int64_t account_id, std::int64_t id, const std::string& name) {
  tx_.execute("UPDATE projects SET name = ? WHERE account_id = ? AND id = ?", {name, account_id, id});
}

void ProjectsStore::remove(std::int64_t account_id, std::int64_t id) {
  tx_.execute(
      "DELETE FROM permissions WHERE (resource_type = 'project' AND resource_id = ?) OR (resource_type = 'inbox' AND "
      "resource_id IN (SELECT id FROM inboxes WHERE project_id = ? AND account_id = ?))",
      {id, id, account_id});
  tx_.execute("DELETE FROM projects WHERE account_id = ? AND id = ?", {account_id, id});
}

// ---- inboxes

std::int64_t InboxesStore::create(std::int64_t account_id, std::int64_t project_id, const std::string& name,
                                  const std::string& smtp_username, const std::string& smtp_password,
                                  const std::optional<std::string>& email_username, std::int64_t now) {
  return tx_.insert_returning_id(
      "INSERT INTO inboxes (project_id, account_id, name, smtp_username, smtp_password, email_username, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {project_id, account_id, name, smtp_username, smtp_password, nullable(email_username), now});
}

std::vector<sandbox::Inbox> InboxesStore::list(std::int64_t account_id) {
  std::vector<sandbox::Inbox> out;
  for (const Row& row : tx_.query(std::string(kInboxColumns) + "WHERE i.account_id = ? ORDER BY i.id", {account_id}))
    out.push_back(inbox_from(row));
  return out;
}

std::optional<sandbox::Inbox> InboxesStore::find(std::int64_t account_id, std::int64_t id) {
  const auto row = tx_.query_one(std::string(kInboxColumns) + "WHERE i.account_id = ? AND i.id = ?", {account_id, id});
  if (!row) return std::nullopt;
  return inbox_from(*row);
}

void InboxesStore::rename(std::int64_t account_id, std::int64_t id, const std::string& name) {
  tx_.execute("UPDATE inboxes SET name = ? WHERE account_id = ? AND id = ?", {name, account_id, id});
}

void InboxesStore::set_credentials(std::int64_t account_id, std::int64_t id, const std::string& smtp_username,
                                   const std::string& smtp_password) {
  tx_.execute("UPDATE inboxes SET smtp_username = ?, smtp_password = ? WHERE account_id = ? AND id = ?",
              {smtp_username, smtp_password, account_id, id});
}

bool InboxesStore::smtp_username_taken(const std::string& smtp_username) {
  return tx_.query_one("SELECT 1 FROM inboxes WHERE smtp_username = ?", {smtp_username}).has_value();
}

void InboxesStore::set_email_username(std::int64_t account_id, std::int64_t id, const std::string& email_username) {
  tx_.execute("UPDATE inboxes SET email_username = ? WHERE account_id = ? AND id = ?",
              {email_username, account_id, id});
}

void InboxesStore::set_email_username_enabled(std::int64_t account_id, std::int64_t id, bool enabled) {
  tx_.execute("UPDATE inboxes SET email_username_enabled = ? WHERE account_id = ? AND id = ?",
              {std::int64_t{enabled ? 1 : 0}, account_id, id});
}

bool InboxesStore::email_username_taken(const std::string& email_username, std::int64_t except_inbox_id) {
  return tx_.query_one("SELECT 1 FROM inboxes WHERE email_username = ? AND id <> ?", {email_username, except_inbox_id})
      .has_value();
}

void InboxesStore::remove(std::int64_t account_id, std::int64_t id) {
  clean(account_id, id);
  tx_.execute(
      "DELETE FROM permissions WHERE resource_type = 'inbox' AND resource_id IN (SELECT id FROM inboxes WHERE "
      "account_id = ? AND id = ?)",
      {account_id, id});
  tx_.execute("DELETE FROM inboxes WHERE account_id = ? AND id = ?", {account_id, id});
}

std::int64_t InboxesStore::clean(std::int64_t account_id, std::int64_t id) {
  tx_.execute("UPDATE inboxes SET messages_count = 0 WHERE id = ? AND account_id = ?", {id, account_id});
  return tx_.execute("DELETE FROM sandbox_messages WHERE inbox_id = ? AND account_id = ?", {id, account_id});
}

std::int64_t InboxesStore::mark_all_read(std::int64_t account_id, std::int64_t id, std::int64_t now) {
  return tx_.execute(
      "UPDATE sandbox_messages SET is_read = 1, updated_at = ? WHERE inbox_id = ? AND account_id = ? AND is_read = 0",
      {now, id, account_id});
}

std::optional<sandbox::InboxRoute> InboxesStore::find_route_by_email_username(const std::string& email_username,
                                                                              std::int64_t default_max_message_size,
                                                                              std::int64_t default_max_messages) {
  const auto row = tx_.query_one(
      "SELECT id, account_id, project_id, COALESCE(max_message_size, ?), COALESCE(max_messages, ?) FROM inboxes "
      "WHERE email_username = ? AND email_username_enabled = 1",
      {default_max_message_size, default_max_messages, email_username});
  if (!row) return std::nullopt;
  return sandbox::InboxRoute{row->integer(0), row->integer(1), row->integer(2), row->integer(3), row->integer(4)};
}

std::optional<sandbox::InboxAuth> InboxesStore::find_auth_by_smtp_username(const std::string& smtp_username,
                                                                           std::int64_t default_max_message_size,
                                                                           std::int64_t default_max_messages) {
  const auto row = tx_.query_one(
      "SELECT id, account_id, smtp_password, COALESCE(max_message_size, ?), COALESCE(max_messages, ?) FROM inboxes "
      "WHERE smtp_username = ?",
      {default_max_message_size, default_max_messages, smtp_username});
  if (!row) return std::nullopt;
  return sandbox::InboxAuth{row->integer(0), row->integer(1), row->text(2), row->integer(3), row->integer(4)};
}

}  // namespace postroom::store
