#include "sandbox/system_mailbox.h"

#include <mutex>

#include "core/errors.h"
#include "mime/build.h"
#include "store/accounts_store.h"

namespace postroom::sandbox {
namespace {

std::string installation_key(std::int64_t account_id) { return "system_inbox:" + std::to_string(account_id); }

}  // namespace

std::int64_t SystemMailbox::inbox_for(std::int64_t account_id) {
  // One creator at a time, so two first emails do not make two sandboxes.
  static std::mutex creating;
  std::lock_guard lock(creating);
  const accounts::Principal system{
      .kind = accounts::Principal::Kind::api_token,
      .id = 0,
      .account_id = account_id,
      .name = "System",
      .grants = {accounts::Grant{{accounts::ResourceType::account, account_id}, accounts::level::owner}}};
  const auto stored =
      db_.read([&](store::Tx& tx) { return store::InstallationStore(tx).get(installation_key(account_id)); });
  if (stored) {
    try {
      return inboxes_.get_inbox(system, account_id, std::stoll(*stored)).id;
    } catch (const NotFound&) {
      // deleted by a user: make a new one
    }
  }
  const auto project = inboxes_.create_project(system, account_id, "Postroom system mail");
  const auto inbox = inboxes_.create_inbox(system, account_id, project.id, "System mail");
  db_.write(
      [&](store::Tx& tx) { store::InstallationStore(tx).set(installation_key(account_id), std::to_string(inbox.id)); });
  return inbox.id;
}

std::int64_t SystemMailbox::deliver(std::int64_t account_id, const std::string& to, const std::string& subject,
                                    const std::string& text, const std::string& html) {
  mime::OutgoingMessage message;
  message.from = {.name = "Postroom", .email = "postroom@" + sender_domain_};
  message.to = {{.name = "", .email = to}};
  message.subject = subject;
  message.text = text;
  message.html = html;
  message.category = "Postroom system";
  mime::BuildOptions options;
  options.message_id_domain = sender_domain_;
  const std::string raw = mime::build_message(message, options);
  const std::int64_t inbox_id = inbox_for(account_id);
  const auto target = messages_.target_for(inbox_id, account_id);
  if (!target) throw NotFound();
  Envelope envelope;
  envelope.mail_from = message.from.email;
  envelope.rcpt_to = {to};
  envelope.client_ip = "127.0.0.1";
  envelope.auth_user = "system";
  envelope.via = "api";
  return messages_.capture(*target, raw, envelope);
}

}  // namespace postroom::sandbox
