#include "sending/platform_mail.h"

#include "core/compression.h"
#include "core/crypto.h"
#include "mime/raw_headers.h"
#include "mime/text.h"
#include "sending/model.h"
#include "sending/service.h"
#include "store/sending_store.h"

namespace postroom::sending {

std::int64_t store_platform_mail(store::Tx& tx, const PlatformMail& mail, std::int64_t now) {
  store::SendingStore store(tx);
  SentMessage m;
  m.uuid = crypto::new_uuid();
  m.account_id = mail.account_id;
  m.domain_id = 0;
  m.domain_name = domain_of(mail.from);
  m.stream = Stream::forward;
  m.subject = mail.subject;
  m.from = mail.from;
  m.mail_from = mail.mail_from;
  m.to = mail.to;
  m.rfc_message_id = mime::text::strip_angle_brackets(mime::raw_header(mail.raw, "Message-ID").value_or(""));
  m.created_at = now;
  m.updated_at = now;
  m.next_attempt_at = now;
  m.body_id = store.add_body(mail.account_id, zstd_compress(mail.raw), static_cast<std::int64_t>(mail.raw.size()), now);
  return store.add_message(m);
}

}  // namespace postroom::sending
