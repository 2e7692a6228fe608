#include "domains/model.h"

namespace postroom::domains {

std::string_view to_string(RecordStatus status) {
  switch (status) {
    case RecordStatus::unchecked:
      return "unchecked";
    case RecordStatus::pass:
      return "pass";
    case RecordStatus::fail:
      return "fail";
    case RecordStatus::missing:
      return "missing";
    case RecordStatus::network_error:
      return "network_error";
  }
  return "unchecked";
}

std::optional<RecordStatus> parse_record_status(std::string_view text) {
  for (auto status : {RecordStatus::unchecked, RecordStatus::pass, RecordStatus::fail, RecordStatus::missing,
                      RecordStatus::network_error}) {
    if (to_string(status) == text) return status;
  }
  return std::nullopt;
}

}  // namespace postroom::domains
