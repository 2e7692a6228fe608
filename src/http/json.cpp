#include "http/json.h"

#include <cmath>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/errors.h"

namespace postroom::http {

Response json_response(int status, const json::value& body) {
  Response response;
  response.status = status;
  response.content_type = kJsonContentType;
  response.body = json::serialize(body);
  return response;
}

namespace {

void write_decimal(std::string& out, const json::value& value) {
  switch (value.kind()) {
    case json::kind::double_:
      if (std::isfinite(value.get_double())) {
        out += fmt::format("{}", value.get_double());
      } else {
        out += "null";
      }
      return;
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const json::value& item : value.get_array()) {
        if (!first) out += ',';
        first = false;
        write_decimal(out, item);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& field : value.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string(field.key()));
        out += ':';
        write_decimal(out, field.value());
      }
      out += '}';
      return;
    }
    default:
      out += json::serialize(value);
  }
}

}  // namespace

Response json_response_decimal(int status, const json::value& body) {
  Response response;
  response.status = status;
  response.content_type = kJsonContentType;
  write_decimal(response.body, body);
  return response;
}

Response no_content() {
  Response response;
  response.status = 204;
  return response;
}

Response unauthorized() { return json_response(401, {{"error", "Incorrect API token"}}); }
Response forbidden() { return json_response(403, {{"errors", "Account access forbidden"}}); }
Response not_found() { return json_response(404, {{"error", "Not Found"}}); }
Response bad_request(const std::string& why) { return json_response(400, {{"error", why}}); }
Response rate_limited() { return json_response(429, {{"errors", "Rate limit exceeded"}}); }
Response internal_error() { return json_response(500, {{"errors", "Unexpected error"}}); }

Response payload_too_large(std::int64_t limit) {
  return json_response(413,
                       {{"error", "Request body is larger than the limit of " + std::to_string(limit) + " bytes"}});
}

Response unprocessable(const std::map<std::string, std::vector<std::string>>& errors, int status) {
  json::object body;
  for (const auto& [field, messages] : errors) {
    json::array list;
    for (const auto& message : messages) list.emplace_back(message);
    body[field] = std::move(list);
  }
  return json_response(status, {{"errors", std::move(body)}});
}

json::value parse_body(const Request& request) {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  json::parse_options options;
  options.max_depth = 64;
  json::stream_parser parser({}, options);
  boost::system::error_code ec;
  const std::size_t consumed = parser.write_some(request.body.data(), request.body.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) throw BadRequest("Malformed JSON in request body at byte " + std::to_string(consumed) + ": " + ec.message());
  if (consumed != request.body.size() && request.body.find_first_not_of(" \t\r\n", consumed) != std::string::npos)
    throw BadRequest("Malformed JSON in request body at byte " + std::to_string(consumed) +
                     ": unexpected trailing data");
  return parser.release();
}

static std::string field_name(const std::string& what, const std::string& key) {
  return what.empty() ? key : what + "." + key;
}

const json::object& as_object(const json::value& value, const std::string& what) {
  if (!value.is_object())
    throw BadRequest("'" + (what.empty() ? std::string("body") : what) + "' must be a JSON object");
  return value.get_object();
}

const json::object* optional_object(const json::object& object, const std::string& key, const std::string& what) {
  const auto it = object.find(key);
  if (it == object.end() || it->value().is_null()) return nullptr;
  if (!it->value().is_object()) throw BadRequest("'" + field_name(what, key) + "' must be a JSON object");
  return &it->value().get_object();
}

const json::array* optional_array(const json::object& object, const std::string& key, const std::string& what) {
  const auto it = object.find(key);
  if (it == object.end() || it->value().is_null()) return nullptr;
  if (!it->value().is_array()) throw BadRequest("'" + field_name(what, key) + "' must be an array");
  return &it->value().get_array();
}

std::optional<std::string> optional_string(const json::object& object, const std::string& key,
                                           const std::string& what) {
  const auto it = object.find(key);
  if (it == object.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_string()) throw BadRequest("'" + field_name(what, key) + "' must be a string");
  return std::string(it->value().get_string());
}

std::optional<std::string> optional_scalar_text(const json::object& object, const std::string& key,
                                                const std::string& what) {
  const auto it = object.find(key);
  if (it == object.end() || it->value().is_null()) return std::nullopt;
  const json::value& v = it->value();
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  throw BadRequest("'" + field_name(what, key) + "' must be a string or an integer");
}

bool optional_bool(const json::object& object, const std::string& key, const std::string& what) {
  const auto it = object.find(key);
  if (it == object.end() || it->value().is_null()) return false;
  if (!it->value().is_bool()) throw BadRequest("'" + field_name(what, key) + "' must be true or false");
  return it->value().get_bool();
}

json::value optional_time(const std::optional<std::int64_t>& unix_seconds) {
  if (!unix_seconds) return nullptr;
  return json::value(iso8601(*unix_seconds));
}

}  // namespace postroom::http
