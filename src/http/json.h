#pragma once
// JSON bodies in and out, with the Mailtrap API's error shapes.
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "http/message.h"

namespace postroom::http {

namespace json = boost::json;

constexpr const char* kJsonContentType = "application/json; charset=utf-8";

Response json_response(int status, const json::value& body);
// The same with floating-point numbers written the short decimal way ("46.91", "100") rather than Boost.JSON
// 1.81's exponent form ("4.691E1", "1E2"), for bodies made of percentages and scores.
Response json_response_decimal(int status, const json::value& body);
Response no_content();

// The account API's error bodies (WIRE-COMPATIBILITY §2.4).
Response unauthorized();                       // 401 {"error":"Incorrect API token"}
Response forbidden();                          // 403 {"errors":"Account access forbidden"}
Response not_found();                          // 404 {"error":"Not Found"}
Response bad_request(const std::string& why);  // 400 {"error":"…"}
Response unprocessable(const std::map<std::string, std::vector<std::string>>& errors, int status = 422);
Response payload_too_large(std::int64_t limit);  // 413
Response rate_limited();                         // 429 {"errors":"Rate limit exceeded"}
Response internal_error();                       // 500 {"errors":"Unexpected error"}

// Parses the request body as JSON; an empty body is an empty object. Throws BadRequest saying what is wrong.
json::value parse_body(const Request& request);

// Typed field access that throws BadRequest("'field' must be a …") on a wrong type.
const json::object& as_object(const json::value& value, const std::string& what);
const json::object* optional_object(const json::object& object, const std::string& key, const std::string& what);
const json::array* optional_array(const json::object& object, const std::string& key, const std::string& what);
std::optional<std::string> optional_string(const json::object& object, const std::string& key, const std::string& what);
// Accepts a JSON string or integer and returns it as text (ids and levels arrive both ways).
std::optional<std::string> optional_scalar_text(const json::object& object, const std::string& key,
                                                const std::string& what);
bool optional_bool(const json::object& object, const std::string& key, const std::string& what);

json::value optional_time(const std::optional<std::int64_t>& unix_seconds);

}  // namespace postroom::http
