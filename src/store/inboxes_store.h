#pragma once
// Storage for Email Sandbox projects and inboxes. Each class works inside a caller's Tx; every lookup of a
// tenant-owned row is keyed by its account, so another account's row is simply not found.
#include <optional>
#include <string>
#include <vector>

#include "sandbox/inbox_model.h"
#include "store/database.h"

namespace postroom::store {

class ProjectsStore {
 public:
  explicit ProjectsStore(Tx& tx) : tx_(tx) {}
  std::int64_t create(std::int64_t account_id, const std::string& name, std::int64_t now);
  std::vector<sandbox::Project> list(std::int64_t account_id);
  std::optional<sandbox::Project> find(std::int64_t account_id, std::int64_t id);
  void rename(std::int64_t account_id, std::int64_t id, const std::string& name);
  // Deletes the project with its inboxes, their messages and the grants on all of them.
  void remove(std::int64_t account_id, std::int64_t id);

 private:
  Tx& tx_;
};

class InboxesStore {
 public:
  explicit InboxesStore(Tx& tx) : tx_(tx) {}
  std::int64_t create(std::int64_t account_id, std::int64_t project_id, const std::string& name,
                      const std::string& smtp_username, const std::string& smtp_password,
                      const std::optional<std::string>& email_username, std::int64_t now);
  // With emails_count / emails_unread_count counted from the stored messages.
  std::vector<sandbox::Inbox> list(std::int64_t account_id);
  std::optional<sandbox::Inbox> find(std::int64_t account_id, std::int64_t id);

  void rename(std::int64_t account_id, std::int64_t id, const std::string& name);
  void set_credentials(std::int64_t account_id, std::int64_t id, const std::string& smtp_username,
                       const std::string& smtp_password);
  bool smtp_username_taken(const std::string& smtp_username);
  void set_email_username(std::int64_t account_id, std::int64_t id, const std::string& email_username);
  void set_email_username_enabled(std::int64_t account_id, std::int64_t id, bool enabled);
  // Whether another inbox (any account) already has this email username.
  bool email_username_taken(const std::string& email_username, std::int64_t except_inbox_id);

  // Deletes the inbox with its messages and the grants on it.
  void remove(std::int64_t account_id, std::int64_t id);
  // Deletes all of the inbox's messages (and their attachments and search rows). Returns how many.
  std::int64_t clean(std::int64_t account_id, std::int64_t id);
  // Marks all of the inbox's messages read. Returns how many changed.
  std::int64_t mark_all_read(std::int64_t account_id, std::int64_t id, std::int64_t now);

  // One statement each, for the SMTP path. The limits are the inbox's own, else the defaults given.
  std::optional<sandbox::InboxRoute> find_route_by_email_username(const std::string& email_username,
                                                                  std::int64_t default_max_message_size,
                                                                  std::int64_t default_max_messages);
  std::optional<sandbox::InboxAuth> find_auth_by_smtp_username(const std::string& smtp_username,
                                                               std::int64_t default_max_message_size,
                                                               std::int64_t default_max_messages);

 private:
  Tx& tx_;
};

}  // namespace postroom::store
