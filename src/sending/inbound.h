#pragma once
// Mail coming back to the bounce host (--bounce-smtp): delivery status notifications to a message's VERP return
// path (b-<message id>@bounces.<domain>), mailto: unsubscribes (unsubscribe+<message id>@<bounce host>) and
// spam complaints (ARF reports to the CFBL address fbl@<bounce host>). No AUTH: like any MX it accepts only
// the addresses it knows and refuses the rest (550 5.1.1).
#include "sending/bounce_classifier.h"
#include "sending/service.h"
#include "smtp/backend.h"

namespace postroom::sending {

// What an inbound address means.
struct InboundAddress {
  enum class Kind { none, bounce, unsubscribe, complaint } kind = Kind::none;
  std::string message_id;  // for bounce and unsubscribe
};
InboundAddress classify_inbound_address(std::string_view local_part);

class InboundMail final : public smtp::SmtpBackend {
 public:
  InboundMail(SendingService& sending, const BounceClassifier& classifier, std::size_t max_message_size)
      : sending_(sending), classifier_(classifier), max_message_size_(max_message_size) {}

  smtp::SessionPolicy session_policy(const smtp::ConnectionInfo& connection) override;
  smtp::AuthResult authenticate(const smtp::AuthAttempt& attempt) override;
  smtp::Reply mail_from(smtp::Transaction& transaction) override;
  smtp::Reply rcpt_to(smtp::Transaction& transaction, const smtp::Address& recipient) override;
  smtp::Reply deliver(const smtp::Transaction& transaction, std::string message) override;

 private:
  void bounce(const std::string& message_id, std::string_view raw);
  void complaint(std::string_view raw);

  SendingService& sending_;
  const BounceClassifier& classifier_;
  std::size_t max_message_size_;
};

}  // namespace postroom::sending
