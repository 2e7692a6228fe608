#pragma once
// Transport-neutral HTTP request and response. Handlers and middleware use only these, so Boost.Beast
// stays inside server.cpp and no handler translation unit pays for it.
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace postroom::http {

struct Route;
struct RouteMatch;
class DeferredResponse;

struct Request {
  std::string method;                                        // upper case
  std::string target;                                        // as received: path plus query
  std::string path;                                          // percent-decoded path
  std::string query;                                         // raw query string, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string remote_address;
  std::string request_id;
  bool secure = false;  // arrived on an HTTPS listener
  // Filled once by Pipeline::classify so the route is matched once per request.
  std::shared_ptr<const RouteMatch> match;

  std::optional<std::string_view> header(std::string_view lower_case_name) const;
  // A cookie's value from the Cookie header(s); empty when absent.
  std::optional<std::string> cookie(std::string_view name) const;
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
  // Set: the response arrives later through this (see DeferredResponse); every other field is ignored.
  std::shared_ptr<DeferredResponse> deferred;
};

// A response a handler finishes later from another thread — typically from a commit callback
// (Database::write_async) — so that no thread waits for the commit while the client waits for its answer.
// The server writes the response when it arrives; the pipeline chains its own steps (error shapes, metrics,
// log line) onto it.
class DeferredResponse {
 public:
  using Next = std::function<void(Response response, std::exception_ptr error)>;

  // Settles with a response, or with the error the handler would have thrown (the pipeline maps it as it maps
  // a thrown one). Exactly one of them, once; callable from any thread.
  void complete(Response response) { settle(std::move(response), nullptr); }
  void fail(std::exception_ptr error) { settle({}, std::move(error)); }
  // What to do with the outcome, set once: runs at once if it is there already, else on the settling thread
  // (so it must not block).
  void then(Next next);

 private:
  void settle(Response response, std::exception_ptr error);

  std::mutex mutex_;
  bool settled_ = false;
  Response response_;
  std::exception_ptr error_;
  Next next_;
};

// A response that says "later": the handler keeps `deferred` and settles it.
Response deferred_response(std::shared_ptr<DeferredResponse> deferred);
// `finish` applied to the response now, or once it arrives when it is deferred (an error skips `finish` and is
// passed on).
Response then_finish(Response response, std::function<Response(Response)> finish);

std::string percent_decode(std::string_view text, bool plus_is_space);
// Splits a request target into its decoded path and raw query; false when the path is not decodable.
bool split_target(std::string_view target, std::string& path, std::string& query);

}  // namespace postroom::http
