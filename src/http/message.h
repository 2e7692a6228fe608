#pragma once
// Transport-neutral HTTP request and response. Handlers and middleware use only these, so Boost.Beast
// stays inside server.cpp and no handler translation unit pays for it.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace postroom::http {

struct Route;
struct RouteMatch;

struct Request {
  std::string method;                                        // upper case
  std::string target;                                        // as received: path plus query
  std::string path;                                          // percent-decoded path
  std::string query;                                         // raw query string, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string remote_address;
  std::string request_id;
  // Filled once by Pipeline::classify so the route is matched once per request.
  std::shared_ptr<const RouteMatch> match;

  std::optional<std::string_view> header(std::string_view lower_case_name) const;
  // Every name=value pair of the query, percent-decoded ('+' as space), in order.
  std::vector<std::pair<std::string, std::string>> query_pairs() const;
  // Values of a query parameter in any of the encodings SDKs use: key=, key[]=, key[0]=, and key=a,b.
  std::vector<std::string> query_values(std::string_view key) const;
  std::optional<std::string> query_value(std::string_view key) const;
};

// A response body produced over time (server-sent events). The server writes the head and `body`, then
// whatever poll() yields as it becomes ready, and closes the connection when the stream ends.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Never blocks: appends what is ready to `out`. Returns false once the stream has ended.
  virtual bool poll(std::string& out) = 0;
  // The server passes a function the stream calls, from any thread, whenever new data is ready.
  virtual void on_ready(std::function<void()> wake) = 0;
  // Sent when nothing else was for a while, so proxies keep the connection and dead clients are noticed.
  virtual std::string keepalive() const { return ": keep-alive\n\n"; }
};

struct Response {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<ResponseStream> stream;  // set: `body` is only the beginning (see ResponseStream)
};

std::string percent_decode(std::string_view text, bool plus_is_space);
// Splits a request target into its decoded path and raw query; false when the path is not decodable.
bool split_target(std::string_view target, std::string& path, std::string& query);

}  // namespace postroom::http
