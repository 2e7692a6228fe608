#include "sandbox/inboxes.h"

#include <algorithm>
#include <map>

#include "accounts/access_policy.h"
#include "core/crypto.h"
#include "core/errors.h"
#include "store/accounts_store.h"
#include "store/inboxes_store.h"

namespace postroom::sandbox {

using accounts::Principal;
using accounts::ResourceRef;
using accounts::ResourceType;
using store::InboxesStore;
using store::ProjectsStore;
using store::Tx;

namespace {

constexpr char kBase36[] = "abcdefghijklmnopqrstuvwxyz0123456789";

// Characters, not bytes: names are UTF-8.
std::size_t utf8_length(const std::string& text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool is_blank(const std::string& text) { return text.find_first_not_of(" \t\r\n") == std::string::npos; }

std::string lower_ascii(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

std::string random_email_hash() {
  std::string hash;
  while (hash.size() < kEmailHashLength) {
    for (unsigned char byte : crypto::random_bytes(kEmailHashLength)) {
      if (byte < 252 && hash.size() < kEmailHashLength) hash.push_back(kBase36[byte % 36]);  // 252 = 7 × 36: unbiased
    }
  }
  return hash;
}

// The hash shown for an inbox created without one (the bootstrap sandbox): stable until it is first stored.
std::string derived_email_hash(const Inbox& inbox) {
  const std::string digest = crypto::sha256_hex(inbox.smtp_username + ":" + std::to_string(inbox.id));
  std::uint64_t value = std::stoull(digest.substr(0, 15), nullptr, 16);
  std::string hash;
  for (std::size_t i = 0; i < kEmailHashLength; ++i) {
    hash.push_back(kBase36[value % 36]);
    value /= 36;
  }
  return hash;
}

void check_project_name(const std::string& name) {
  std::vector<std::string> problems;
  if (is_blank(name)) problems.push_back("can't be blank");
  const std::size_t length = utf8_length(name);
  if (length < kMinProjectNameLength)
    problems.push_back("is too short (minimum is " + std::to_string(kMinProjectNameLength) + " characters)");
  if (length > kMaxNameLength)
    problems.push_back("is too long (maximum is " + std::to_string(kMaxNameLength) + " characters)");
  if (!problems.empty()) throw ValidationError({{"name", problems}});
}

void check_inbox_name(const std::string& name) {
  if (is_blank(name)) throw ValidationError("name", "can't be blank");
  if (utf8_length(name) > kMaxNameLength)
    throw ValidationError("name", "is too long (maximum is " + std::to_string(kMaxNameLength) + " characters)");
}

// Levels of one principal inside one account, from its grants alone (no query per resource).
class Levels {
 public:
  Levels(Tx& tx, const Principal& principal, std::int64_t account_id) : grants_(principal.grants) {
    const auto account = store::AccountStore(tx).find(account_id);
    if (!account) throw NotFound();
    above_ = {{ResourceType::account, account_id}, {ResourceType::organization, account->organization_id}};
  }
  int account() const { return accounts::effective_level(grants_, above_); }
  int project(std::int64_t project_id) const { return accounts::effective_level(grants_, chain(project_id, 0)); }
  int inbox(const Inbox& inbox) const { return accounts::effective_level(grants_, chain(inbox.project_id, inbox.id)); }

 private:
  std::vector<ResourceRef> chain(std::int64_t project_id, std::int64_t inbox_id) const {
    std::vector<ResourceRef> out;
    if (inbox_id) out.push_back({ResourceType::inbox, inbox_id});
    out.push_back({ResourceType::project, project_id});
    out.insert(out.end(), above_.begin(), above_.end());
    return out;
  }
  const std::vector<accounts::Grant>& grants_;
  std::vector<ResourceRef> above_;
};

std::string host_of_url(const std::string& url) {
  std::string rest = url;
  if (const auto scheme = rest.find("://"); scheme != std::string::npos) rest = rest.substr(scheme + 3);
  rest = rest.substr(0, rest.find('/'));
  if (const auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  if (rest.starts_with('[')) return rest.substr(0, rest.find(']') + 1);
  return rest.substr(0, rest.find(':'));
}

}  // namespace

SandboxEndpoints SandboxEndpoints::from_config(const Config& config) {
  SandboxEndpoints endpoints;
  std::vector<HostPort> listeners;
  if (!config.sandbox_smtp.empty()) listeners = parse_host_port_list(config.sandbox_smtp);
  if (!config.sandbox.sandboxes_smtp_tls.empty()) {
    for (const HostPort& tls : parse_host_port_list(config.sandbox.sandboxes_smtp_tls)) listeners.push_back(tls);
  }
  for (const HostPort& listener : listeners) {
    const std::int64_t port = listener.port;
    if (std::find(endpoints.smtp_ports.begin(), endpoints.smtp_ports.end(), port) == endpoints.smtp_ports.end())
      endpoints.smtp_ports.push_back(port);
  }
  endpoints.smtp_host = config.sandbox.smtp_host;
  if (endpoints.smtp_host.empty() && !listeners.empty()) {
    const std::string& host = listeners.front().host;
    // A wildcard bind address is no host name to connect to.
    endpoints.smtp_host = (host.empty() || host == "0.0.0.0" || host == "::") ? "localhost" : host;
  }
  endpoints.public_url = config.effective_public_url();
  endpoints.api_domain = host_of_url(endpoints.public_url);
  endpoints.email_domain = config.sandbox.email_domain;
  return endpoints;
}

InboxesService::InboxesService(store::Database& db, const Clock& clock, const Config& config)
    : db_(db), clock_(clock), settings_(config.sandbox), endpoints_(SandboxEndpoints::from_config(config)) {}

std::string InboxesService::default_alias(const std::string& inbox_name) {
  std::string alias;
  for (char c : lower_ascii(inbox_name)) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (keep) {
      alias.push_back(c);
    } else if (!alias.empty() && alias.back() != '-') {
      alias.push_back('-');
    }
  }
  if (alias.size() > kMaxEmailAliasLength) alias.resize(kMaxEmailAliasLength);
  while (!alias.empty() && alias.back() == '-') alias.pop_back();
  return alias.empty() ? "sandbox" : alias;
}

std::string InboxesService::email_hash_of(const std::string& email_username) {
  if (email_username.size() < kEmailHashLength + 2) return {};
  const std::size_t dash = email_username.size() - kEmailHashLength - 1;
  if (email_username[dash] != '-') return {};
  return email_username.substr(dash + 1);
}

void InboxesService::fill_defaults(Inbox& inbox) const {
  if (!inbox.email_username_stored) inbox.email_username = default_alias(inbox.name) + "-" + derived_email_hash(inbox);
}

void InboxesService::keep_email_username(Tx& tx, Inbox& inbox) {
  if (inbox.email_username_stored) return;
  fill_defaults(inbox);
  InboxesStore inboxes(tx);
  // The derived hash is practically unique; should it ever collide, pick a fresh one.
  while (inboxes.email_username_taken(inbox.email_username, inbox.id))
    inbox.email_username = default_alias(inbox.name) + "-" + random_email_hash();
  inboxes.set_email_username(inbox.account_id, inbox.id, inbox.email_username);
  inbox.email_username_stored = true;
}

Inbox InboxesService::load_inbox(Tx& tx, const Principal& principal, std::int64_t account_id, std::int64_t inbox_id) {
  auto inbox = InboxesStore(tx).find(account_id, inbox_id);
  if (!inbox) throw NotFound();
  fill_defaults(*inbox);
  inbox->access_level = Levels(tx, principal, account_id).inbox(*inbox);
  return *inbox;
}

std::pair<std::string, std::string> InboxesService::new_credentials(Tx& tx) {
  InboxesStore inboxes(tx);
  std::string username = crypto::random_hex(kCredentialLength);
  while (inboxes.smtp_username_taken(username)) username = crypto::random_hex(kCredentialLength);
  return {username, crypto::random_hex(kCredentialLength)};
}

// ---- projects

std::vector<Project> InboxesService::list_projects(const Principal& principal, std::int64_t account_id) {
  return db_.read([&](Tx& tx) {
    const Levels levels(tx, principal, account_id);
    std::map<std::int64_t, std::vector<Inbox>> visible_inboxes;
    for (Inbox& inbox : InboxesStore(tx).list(account_id)) {
      inbox.access_level = levels.inbox(inbox);
      if (inbox.access_level < accounts::level::viewer) continue;
      fill_defaults(inbox);
      visible_inboxes[inbox.project_id].push_back(std::move(inbox));
    }
    std::vector<Project> out;
    for (Project& project : ProjectsStore(tx).list(account_id)) {
      project.access_level = levels.project(project.id);
      auto it = visible_inboxes.find(project.id);
      if (project.access_level < accounts::level::viewer && it == visible_inboxes.end()) continue;
      // Seen only through one of its inboxes: visible, not manageable.
      project.access_level = std::max(project.access_level, accounts::level::indeterminate);
      if (it != visible_inboxes.end()) project.inboxes = std::move(it->second);
      out.push_back(std::move(project));
    }
    return out;
  });
}

Project InboxesService::get_project(const Principal& principal, std::int64_t account_id, std::int64_t project_id) {
  return db_.read([&](Tx& tx) {
    auto project = ProjectsStore(tx).find(account_id, project_id);
    if (!project) throw NotFound();
    const Levels levels(tx, principal, account_id);
    project->access_level = std::max(levels.project(project->id), accounts::level::indeterminate);
    for (Inbox& inbox : InboxesStore(tx).list(account_id)) {
      if (inbox.project_id != project->id) continue;
      inbox.access_level = levels.inbox(inbox);
      if (inbox.access_level < accounts::level::viewer) continue;
      fill_defaults(inbox);
      project->inboxes.push_back(std::move(inbox));
    }
    return *project;
  });
}

Project InboxesService::create_project(const Principal& principal, std::int64_t account_id, const std::string& name) {
  check_project_name(name);
  const std::int64_t id = db_.write([&](Tx& tx) {
    if (!store::AccountStore(tx).find(account_id)) throw NotFound();
    return ProjectsStore(tx).create(account_id, name, clock_.now());
  });
  return get_project(principal, account_id, id);
}

Project InboxesService::rename_project(const Principal& principal, std::int64_t account_id, std::int64_t project_id,
                                       const std::string& name) {
  check_project_name(name);
  db_.write([&](Tx& tx) {
    ProjectsStore projects(tx);
    if (!projects.find(account_id, project_id)) throw NotFound();
    projects.rename(account_id, project_id, name);
  });
  return get_project(principal, account_id, project_id);
}

void InboxesService::delete_project(std::int64_t account_id, std::int64_t project_id) {
  db_.write([&](Tx& tx) {
    ProjectsStore projects(tx);
    if (!projects.find(account_id, project_id)) throw NotFound();
    projects.remove(account_id, project_id);
  });
}

// ---- inboxes

std::vector<Inbox> InboxesService::list_inboxes(const Principal& principal, std::int64_t account_id) {
  return db_.read([&](Tx& tx) {
    const Levels levels(tx, principal, account_id);
    std::vector<Inbox> out;
    for (Inbox& inbox : InboxesStore(tx).list(account_id)) {
      inbox.access_level = levels.inbox(inbox);
      if (inbox.access_level < accounts::level::viewer) continue;
      fill_defaults(inbox);
      out.push_back(std::move(inbox));
    }
    return out;
  });
}

Inbox InboxesService::get_inbox(const Principal& principal, std::int64_t account_id, std::int64_t inbox_id) {
  return db_.read([&](Tx& tx) { return load_inbox(tx, principal, account_id, inbox_id); });
}

Inbox InboxesService::create_inbox(const Principal& principal, std::int64_t account_id, std::int64_t project_id,
                                   const std::string& name) {
  check_inbox_name(name);
  return db_.write([&](Tx& tx) {
    if (!ProjectsStore(tx).find(account_id, project_id)) throw NotFound();
    InboxesStore inboxes(tx);
    const auto [username, password] = new_credentials(tx);
    std::string email_username = default_alias(name) + "-" + random_email_hash();
    while (inboxes.email_username_taken(email_username, 0))
      email_username = default_alias(name) + "-" + random_email_hash();
    const std::int64_t id =
        inboxes.create(account_id, project_id, name, username, password, email_username, clock_.now());
    return load_inbox(tx, principal, account_id, id);
  });
}

Inbox InboxesService::update_inbox(const Principal& principal, std::int64_t account_id, std::int64_t inbox_id,
                                   const InboxChanges& changes) {
  if (changes.name) check_inbox_name(*changes.name);
  return db_.write([&](Tx& tx) {
    Inbox inbox = load_inbox(tx, principal, account_id, inbox_id);
    keep_email_username(tx, inbox);
    InboxesStore inboxes(tx);
    if (changes.email_username) {
      const std::string hash = email_hash_of(inbox.email_username);
      std::string alias = lower_ascii(*changes.email_username);
      if (!hash.empty() && alias.size() > hash.size() + 1 && alias.ends_with("-" + hash))
        alias.resize(alias.size() - hash.size() - 1);  // the full address sent back as shown
      std::vector<std::string> problems;
      if (alias.empty()) {
        problems.push_back("can't be blank");
      } else if (alias.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-._") != std::string::npos ||
                 alias.front() == '.' || alias.back() == '.' || alias.find("..") != std::string::npos) {
        problems.push_back("is invalid");
      } else if (alias.size() > kMaxEmailAliasLength) {
        problems.push_back("is too long (maximum is " + std::to_string(kMaxEmailAliasLength) + " characters)");
      }
      if (!problems.empty()) throw ValidationError({{"email_username", problems}});
      const std::string email_username = alias + "-" + hash;
      if (inboxes.email_username_taken(email_username, inbox.id))
        throw ValidationError("email_username", "has already been taken");
      inboxes.set_email_username(account_id, inbox.id, email_username);
    }
    if (changes.name) inboxes.rename(account_id, inbox.id, *changes.name);
    return load_inbox(tx, principal, account_id, inbox_id);
  });
}

Inbox InboxesService::delete_inbox(const Principal& principal, std::int64_t account_id, std::int64_t inbox_id) {
  return db_.write([&](Tx& tx) {
    Inbox inbox = load_inbox(tx, principal, account_id, inbox_id);
    InboxesStore(tx).remove(account_id, inbox_id);
    return inbox;
  });
}

Inbox InboxesService::clean_inbox(const Principal& principal, std::int64_t account_id, std::int64_t inbox_id) {
  return db_.write([&](Tx& tx) {
    load_inbox(tx, principal, account_id, inbox_id);
    InboxesStore(tx).clean(account_id, inbox_id);
    return load_inbox(tx, principal, account_id, inbox_id);
  });
}

Inbox InboxesService::mark_all_read(const Principal& principal, std::int64_t account_id, std::int64_t inbox_id) {
  return db_.write([&](Tx& tx) {
    load_inbox(tx, principal, account_id, inbox_id);
    InboxesStore(tx).mark_all_read(account_id, inbox_id, clock_.now());
    return load_inbox(tx, principal, account_id, inbox_id);
  });
}

Inbox InboxesService::reset_credentials(const Principal& principal, std::int64_t account_id, std::int64_t inbox_id) {
  return db_.write([&](Tx& tx) {
    Inbox inbox = load_inbox(tx, principal, account_id, inbox_id);
    keep_email_username(tx, inbox);  // its derived hash depends on the old username
    const auto [username, password] = new_credentials(tx);
    InboxesStore(tx).set_credentials(account_id, inbox_id, username, password);
    return load_inbox(tx, principal, account_id, inbox_id);
  });
}

Inbox InboxesService::toggle_email_username(const Principal& principal, std::int64_t account_id,
                                            std::int64_t inbox_id) {
  return db_.write([&](Tx& tx) {
    Inbox inbox = load_inbox(tx, principal, account_id, inbox_id);
    keep_email_username(tx, inbox);
    InboxesStore(tx).set_email_username_enabled(account_id, inbox_id, !inbox.email_username_enabled);
    return load_inbox(tx, principal, account_id, inbox_id);
  });
}

Inbox InboxesService::reset_email_username(const Principal& principal, std::int64_t account_id, std::int64_t inbox_id) {
  return db_.write([&](Tx& tx) {
    Inbox inbox = load_inbox(tx, principal, account_id, inbox_id);
    keep_email_username(tx, inbox);
    InboxesStore inboxes(tx);
    const std::string hash = email_hash_of(inbox.email_username);
    std::string email_username = default_alias(inbox.name) + "-" + hash;
    if (inboxes.email_username_taken(email_username, inbox.id))
      email_username = default_alias(inbox.name) + "-" + random_email_hash();  // unreachable while hashes differ
    inboxes.set_email_username(account_id, inbox_id, email_username);
    return load_inbox(tx, principal, account_id, inbox_id);
  });
}

// ---- the SMTP capture path

std::optional<InboxRoute> InboxesService::find_by_email_username(const std::string& local_part) {
  const std::string address = lower_ascii(local_part.substr(0, local_part.find('+')));
  if (address.empty()) return std::nullopt;
  return db_.read([&](Tx& tx) {
    return InboxesStore(tx).find_route_by_email_username(address, settings_.max_message_size, settings_.max_messages);
  });
}

std::optional<InboxAuth> InboxesService::find_by_smtp_username(const std::string& username) {
  if (username.empty()) return std::nullopt;
  return db_.read([&](Tx& tx) {
    return InboxesStore(tx).find_auth_by_smtp_username(username, settings_.max_message_size, settings_.max_messages);
  });
}

}  // namespace postroom::sandbox
