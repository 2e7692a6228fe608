#pragma once
// The Mailtrap send API's JSON (POST /api/send[/{inbox_id}] and /api/batch[/{inbox_id}]) turned into
// OutgoingMessage values. Validation never throws: every problem becomes one of the API's error strings, in
// the order the fields are checked ("'from' is required", "'subject' is required", …).
#include <boost/json/fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mime/build.h"

namespace postroom::mime {

inline constexpr std::size_t kMaxRecipientsPerField = 1000;
inline constexpr std::size_t kMaxBatchRequests = 500;
inline constexpr std::size_t kMaxCategoryLength = 255;
inline constexpr std::size_t kMaxCustomVariablesBytes = 1000;

struct SendRequestResult {
  std::optional<OutgoingMessage> message;  // set exactly when errors is empty
  std::vector<std::string> errors;
  bool ok() const { return errors.empty(); }
};

struct BatchRequestResult {
  std::vector<std::string> errors;          // request-level ("empty field: 'requests'", …)
  std::vector<SendRequestResult> requests;  // one per requests[] item, base merged in; empty on request-level errors
  bool ok() const { return errors.empty(); }
};

SendRequestResult parse_send_request(const boost::json::value& body);
BatchRequestResult parse_batch_request(const boost::json::value& body);

// True for a plausible addr-spec: one '@', non-empty local part and a dotted-or-bracketed domain, no spaces,
// control characters or angle brackets.
bool is_valid_email(std::string_view email);

}  // namespace postroom::mime
