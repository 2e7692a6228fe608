#pragma once
// Reading bounces: delivery status notifications (RFC 3464 multipart/report; report-type=delivery-status, with
// the RFC 3461 fields) and, for MTAs that send none, a best-effort reading of plain-text bounces. Never throws;
// hostile input is bounded (size, MIME parts, recipient groups, field lengths).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::mime {

// One per-recipient group. Address and MTA fields lose their type ("rfc822;", "dns;") and angle brackets;
// Diagnostic-Code keeps its type ("smtp; 550 …"); folded fields are unfolded (each fold one space).
struct DsnRecipient {
  std::string final_recipient;
  std::string original_recipient;
  std::string action;           // lowercase: failed | delayed | delivered | relayed | expanded
  std::string status;           // "5.1.1"; empty when the field is missing or not a status code
  std::string diagnostic_code;  // e.g. "smtp; 550 5.1.1 user unknown"
  std::string remote_mta;
  std::string last_attempt_date;
};

struct Dsn {
  std::string reporting_mta;
  std::string arrival_date;
  std::vector<DsnRecipient> recipients;  // at most kMaxDsnRecipients
  std::string original_message_id;       // from the returned text/rfc822(-headers) part, without <>
  std::string original_envelope_id;
  std::string original_return_path;  // without <>; the returned headers' Return-Path, else X-Postfix-Sender
  std::string human_readable;        // the first text part (HTML without its tags), trimmed, at most 8 KB
};

inline constexpr std::size_t kMaxDsnRecipients = 1000;

// Parses a multipart/report; report-type=delivery-status (or global-delivery-status) message. nullopt when it is
// not a DSN (another content type or report type, or no message/delivery-status part). Never throws.
std::optional<Dsn> parse_dsn(std::string_view raw);

// For replies that are not RFC 3464 (some MTAs send plain-text bounces: Postfix without DSN, Exim, qmail,
// Sendmail): a best-effort guess of the failed recipients and the SMTP reply quoted in the text (e.g. Postfix's
// "said: 550 5.1.1 <x@y>: Recipient address rejected"). A recipient's diagnostic_code is "smtp; <reply>" when a
// reply was found, else the explanation as written; status is the reply's enhanced code, else "5.0.0"/"4.0.0"
// from its basic code, else empty; action is "delayed" for a delay warning, else "failed". reporting_mta comes
// from the MTA's own introduction ("This is the mail system at host …"). nullopt when the message does not look
// like a bounce (sender, subject and wording) or no recipient and no SMTP reply can be found.
std::optional<Dsn> parse_plain_bounce(std::string_view raw);

// Extracts the numeric code, enhanced code and text from a Diagnostic-Code ("smtp; 550 5.1.1 <a@b>: user
// unknown" → {550, "5.1.1", "<a@b>: user unknown"}). The type ("smtp;") is dropped, the repeated prefixes of a
// multi-line reply ("550-5.1.1 … 550-5.1.1 … 550 5.1.1 …") are removed and whitespace runs become one space.
// code is 0 when there is none (e.g. "X-Postfix; Host or domain name not found").
struct SmtpReplyParts {
  int code = 0;
  std::string enhanced;
  std::string text;
};
SmtpReplyParts parse_diagnostic_code(std::string_view diagnostic);

}  // namespace postroom::mime
