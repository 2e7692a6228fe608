#pragma once
// Email Sandbox projects and inboxes (sandboxes): the rules. Knows nothing of HTTP; callers get the domain
// errors of core/errors.h. Access to a single project or inbox is checked by the caller (the HTTP pipeline's
// per-resource rules); lists are filtered here to what the principal may see.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "accounts/model.h"
#include "core/clock.h"
#include "core/config.h"
#include "sandbox/inbox_model.h"
#include "store/database.h"

namespace postroom::sandbox {

// Lengths as the real API enforces them.
constexpr std::size_t kMinProjectNameLength = 2;
constexpr std::size_t kMaxNameLength = 100;
constexpr std::size_t kCredentialLength = 14;     // SMTP username and password, hex
constexpr std::size_t kEmailHashLength = 6;       // the fixed part of a sandbox's email address
constexpr std::size_t kMaxEmailAliasLength = 57;  // alias + '-' + hash fits the 64-byte local part

// How clients reach this installation's sandboxes, as shown in every inbox object.
struct SandboxEndpoints {
  std::string smtp_host;                 // --sandbox-smtp-host, else the first --sandbox-smtp host
  std::vector<std::int64_t> smtp_ports;  // every --sandbox-smtp and --sandbox-smtps port
  std::string api_domain;                // host of the public URL
  std::string email_domain;              // domain of each sandbox's own address
  std::string public_url;                // base of project share links

  static SandboxEndpoints from_config(const Config& config);
};

// The editable fields of an inbox; empty: unchanged.
struct InboxChanges {
  std::optional<std::string> name;
  std::optional<std::string> email_username;  // the alias part; a trailing "-<hash>" of this inbox is ignored
};

class InboxesService {
 public:
  // Keeps references to `db` and `clock`: both must outlive the service.
  InboxesService(store::Database& db, const Clock& clock, const Config& config);
  InboxesService(store::Database&, Clock&&, const Config&) = delete;  // a temporary clock would dangle

  const SandboxEndpoints& endpoints() const { return endpoints_; }
  const SandboxSettings& settings() const { return settings_; }

  // Projects the principal may see (a grant on the project, on an inbox in it, or above), each with the inboxes
  // it may see.
  std::vector<Project> list_projects(const accounts::Principal& principal, std::int64_t account_id);
  Project get_project(const accounts::Principal& principal, std::int64_t account_id, std::int64_t project_id);
  Project create_project(const accounts::Principal& principal, std::int64_t account_id, const std::string& name);
  Project rename_project(const accounts::Principal& principal, std::int64_t account_id, std::int64_t project_id,
                         const std::string& name);
  // Deletes the project with all its inboxes and their messages.
  void delete_project(std::int64_t account_id, std::int64_t project_id);

  std::vector<Inbox> list_inboxes(const accounts::Principal& principal, std::int64_t account_id);
  Inbox get_inbox(const accounts::Principal& principal, std::int64_t account_id, std::int64_t inbox_id);
  Inbox create_inbox(const accounts::Principal& principal, std::int64_t account_id, std::int64_t project_id,
                     const std::string& name);
  Inbox update_inbox(const accounts::Principal& principal, std::int64_t account_id, std::int64_t inbox_id,
                     const InboxChanges& changes);
  // Deletes the inbox with its messages; returns it as it was.
  Inbox delete_inbox(const accounts::Principal& principal, std::int64_t account_id, std::int64_t inbox_id);
  Inbox clean_inbox(const accounts::Principal& principal, std::int64_t account_id, std::int64_t inbox_id);
  Inbox mark_all_read(const accounts::Principal& principal, std::int64_t account_id, std::int64_t inbox_id);
  // New SMTP username and password; the old ones stop working at once.
  Inbox reset_credentials(const accounts::Principal& principal, std::int64_t account_id, std::int64_t inbox_id);
  Inbox toggle_email_username(const accounts::Principal& principal, std::int64_t account_id, std::int64_t inbox_id);
  // Restores the alias derived from the inbox name; the hash stays.
  Inbox reset_email_username(const accounts::Principal& principal, std::int64_t account_id, std::int64_t inbox_id);

  // The inbox whose enabled email address has this local part ("alias-hash", optionally "+tag"; any case).
  // One statement; no access check (the SMTP capture path).
  std::optional<InboxRoute> find_by_email_username(const std::string& local_part);
  // The inbox with this SMTP username. One statement; the caller compares the password.
  std::optional<InboxAuth> find_by_smtp_username(const std::string& username);

  // "alias" part derived from an inbox name: lower case, [a-z0-9-], other runs collapsed to one '-'.
  static std::string default_alias(const std::string& inbox_name);
  // "<alias>-<hash>" → "<hash>" (empty when the text has no such suffix).
  static std::string email_hash_of(const std::string& email_username);

 private:
  // Reads an inbox of the account with its visible level; throws NotFound.
  Inbox load_inbox(store::Tx& tx, const accounts::Principal& principal, std::int64_t account_id, std::int64_t inbox_id);
  // Stores the shown email username of an inbox that has none stored yet, so its hash never changes.
  void keep_email_username(store::Tx& tx, Inbox& inbox);
  void fill_defaults(Inbox& inbox) const;
  std::pair<std::string, std::string> new_credentials(store::Tx& tx);

  store::Database& db_;
  const Clock& clock_;
  SandboxSettings settings_;
  SandboxEndpoints endpoints_;
};

}  // namespace postroom::sandbox
