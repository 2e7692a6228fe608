#pragma once
// Projects and inboxes (sandboxes) of the Email Sandbox. Plain data; the rules live in inboxes.h.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace postroom::sandbox {

struct Inbox {
  std::int64_t id = 0;
  std::int64_t project_id = 0;
  std::int64_t account_id = 0;
  std::string name;
  std::string smtp_username;
  std::string smtp_password;
  std::string status = "active";
  // The local part of the sandbox's own address, "<alias>-<hash>". Rows made before the inbox was first changed
  // through the sandbox service may have none stored; the service then shows the default one.
  std::string email_username;
  bool email_username_stored = false;
  bool email_username_enabled = false;
  std::optional<std::int64_t> max_messages;      // empty: the installation default
  std::optional<std::int64_t> max_message_size;  // empty: the installation default
  std::int64_t sent_messages_count = 0;
  std::int64_t forwarded_messages_count = 0;
  std::optional<std::int64_t> last_message_sent_at;
  std::int64_t emails_count = 0;         // messages stored now
  std::int64_t emails_unread_count = 0;  // of those, unread
  std::int64_t created_at = 0;
  int access_level = 0;  // the caller's level on this inbox (filled by the service)
};

struct Project {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  std::string name;
  std::int64_t created_at = 0;
  std::vector<Inbox> inboxes;  // the ones the caller may see (filled by the service)
  int access_level = 0;        // the caller's level on this project (filled by the service)
};

// Where mail addressed to a sandbox's own email address goes.
struct InboxRoute {
  std::int64_t inbox_id = 0;
  std::int64_t account_id = 0;
  std::int64_t project_id = 0;
  std::int64_t max_message_size = 0;  // bytes, the inbox's own or the installation default
  std::int64_t max_messages = 0;      // kept per inbox, the inbox's own or the installation default
};

// What the SMTP server needs to authenticate a sandbox login and apply its limits.
struct InboxAuth {
  std::int64_t inbox_id = 0;
  std::int64_t account_id = 0;
  std::string smtp_password;  // compare in constant time
  std::int64_t max_message_size = 0;
  std::int64_t max_messages = 0;
};

}  // namespace postroom::sandbox
