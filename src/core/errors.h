#pragma once
// Domain errors. Domain modules throw these; the HTTP adapter maps each to the Mailtrap API's wire shape
// (see http/response.cpp), so the rules for "what went wrong" stay independent of the transport.
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace postroom {

struct NotFound : std::runtime_error {
  NotFound() : std::runtime_error("Not Found") {}
};

struct Forbidden : std::runtime_error {
  Forbidden() : std::runtime_error("Account access forbidden") {}
};

// Malformed request (bad JSON, wrong structure). The message says what is wrong.
struct BadRequest : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Validation failure: attribute -> messages; whole-record errors go under "base".
struct ValidationError : std::runtime_error {
  std::map<std::string, std::vector<std::string>> errors;
  explicit ValidationError(std::map<std::string, std::vector<std::string>> e)
      : std::runtime_error("validation failed"), errors(std::move(e)) {}
  ValidationError(const std::string& field, const std::string& message)
      : ValidationError(std::map<std::string, std::vector<std::string>>{{field, {message}}}) {}
};

}  // namespace postroom
