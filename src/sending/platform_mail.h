#pragma once
// Mail the platform sends for the Email Sandbox (forwarded messages, forwarding confirmations) goes through the
// delivery engine's durable queue like any message, on its own stream (Stream::forward): not the account's
// sending, so no sending domain, DKIM key, limits or email-log entry of the account's.
#include <cstdint>
#include <string>

#include "store/database.h"

namespace postroom::sending {

struct PlatformMail {
  std::int64_t account_id = 0;  // the account whose sandbox asked for it
  std::string from;             // header From address
  std::string mail_from;        // envelope sender
  std::string to;               // the one recipient
  std::string subject;
  std::string raw;  // the complete RFC 5322 message, CRLF line ends
};

// Stores `mail` as a queued delivery inside `tx` and returns its queue row id; hand the id to
// DeliveryEngine::enqueue after the commit (or let the engine find it at its next start).
std::int64_t store_platform_mail(store::Tx& tx, const PlatformMail& mail, std::int64_t now);

}  // namespace postroom::sending
