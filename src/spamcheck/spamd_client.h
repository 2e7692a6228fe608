#pragma once
// A client of SpamAssassin's spamd (the real scanner): it sends a message with the SPAMC/1.5 `REPORT` command
// over TCP or a unix socket and reads back the verdict and the per-rule table, as Mailtrap's spam report shows
// them. No HTTP here; Asio stays inside spamd_client.cpp. Blocking calls with a deadline, for worker threads.
#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::spamcheck {

// No score could be had: the scanner is not configured, cannot be reached, was too slow, or answered something
// that is not a verdict. Callers report this as such, never as a made-up score.
class Unavailable : public std::runtime_error {
 public:
  enum class Reason {
    not_configured,  // no spamd address
    unreachable,     // connection refused, no such socket, host not found, connection reset
    timeout,         // the deadline passed (connect, send or reply)
    protocol_error,  // the reply is not a SPAMD/1.x verdict
    scanner_error    // spamd answered with a non-zero EX_ code (e.g. 76 EX_PROTOCOL)
  };
  Unavailable(Reason reason, const std::string& detail) : std::runtime_error(detail), reason_(reason) {}
  Reason reason() const { return reason_; }

 private:
  Reason reason_;
};

std::string_view to_string(Unavailable::Reason reason);

struct SpamdOptions {
  // "HOST:PORT", "HOST" (port 783), "[IPv6]:PORT", or "unix:/path/to/socket". Empty: not configured.
  std::string address;
  // The whole exchange (connect, send, scan, reply) must finish within this time.
  std::chrono::milliseconds timeout{30000};
  // Larger messages are cut at the last line break before this many bytes (spamc's default --max-size is
  // 500 KB; spamc itself would skip such a message, we scan its beginning and say so in SpamReport::truncated).
  std::size_t max_size = 512000;
  // Sent as the `User:` header when not empty (spamd then applies that user's preferences).
  std::string user;
};

struct SpamRule {
  std::string points;       // as spamd printed it: "0.1", "-0.0", "1000"
  std::string name;         // "MISSING_MID"
  std::string description;  // "BODY: HTML included in message" (wrapped lines joined with one space)
  bool operator==(const SpamRule&) const = default;
};

struct SpamReport {
  int response_code = 0;         // the EX_ code of the SPAMD status line (0 = EX_OK)
  std::string response_message;  // "EX_OK"
  std::string response_version;  // "1.1" from "SPAMD/1.1"
  double score = 0;              // from "Spam: False ; 0.1 / 5.0"
  double threshold = 0;
  std::string score_text, threshold_text;  // the same numbers as spamd wrote them ("0.1", "5.0")
  bool spam = false;
  std::vector<SpamRule> details;  // in the order of spamd's report table
  bool truncated = false;         // only the first `scanned_bytes` of the message were sent (max_size)
  std::size_t scanned_bytes = 0;
};

class SpamdClient {
 public:
  // Throws std::invalid_argument when the address is malformed (an empty address is allowed: check() then
  // throws Unavailable{not_configured}).
  explicit SpamdClient(SpamdOptions options);

  const SpamdOptions& options() const { return options_; }
  bool configured() const { return !options_.address.empty(); }

  // Scans one raw RFC 5322 message. Throws Unavailable.
  SpamReport check(std::string_view raw_message) const;

  // Asks spamd whether it is alive (PING → "SPAMD/1.5 0 PONG"); returns the protocol version it answered.
  // Throws Unavailable.
  std::string ping() const;

 private:
  std::string exchange(const std::string& request) const;
  SpamdOptions options_;
};

// Parses a complete spamd reply to REPORT (or CHECK/SYMBOLS: then `details` stays empty). Throws Unavailable
// with Reason::protocol_error when it is not a verdict, Reason::scanner_error for a non-zero EX_ code.
SpamReport parse_spamd_reply(std::string_view reply);

// The rows of SpamAssassin's report table (" pts rule name  description" / "----" / rows). Rows start at the
// line after the dashes; a line indented like the description column continues the previous row.
std::vector<SpamRule> parse_report_table(std::string_view report_text);

// Mailtrap's "report" object (without the {"report": …} wrapper): ResponseCode, ResponseMessage,
// ResponseVersion, Score, Spam, Threshold, Details[{Pts, RuleName, Description}].
boost::json::object to_json(const SpamReport& report);

// The whole response body {"report":{…}} as text, with Score and Threshold written as spamd wrote them
// ("5.0"; Boost.JSON 1.81 would serialize the double 5.0 as 5E0).
std::string to_json_text(const SpamReport& report);

}  // namespace postroom::spamcheck
