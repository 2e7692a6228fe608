#pragma once
// The sending API's response shapes, shared by sandbox sending and live sending: {"success":false,"errors":[…]}
// for a refused message, and the status to answer it with.
#include <string>
#include <vector>

#include "http/json.h"

namespace postroom::http::api {

struct SendOutcome {
  int status = 200;
  json::object body;
};

inline json::object send_failure(std::vector<std::string> errors) {
  json::array list;
  for (auto& e : errors) list.emplace_back(std::move(e));
  return {{"success", false}, {"errors", std::move(list)}};
}

}  // namespace postroom::http::api
