// Live sandbox updates as server-sent events: GET /api/accounts/{a}/inboxes/{i}/events (one sandbox) and
// GET /api/accounts/{a}/sandbox_events (every sandbox of the account). Each event is
//   event: message.created
//   data: {"type":"message.created","inbox_id":1,"message_id":42}
// A browser may connect only from Postroom's own origin (the Origin header is checked).
#include <deque>
#include <mutex>

#include "core/errors.h"
#include "http/api/routes.h"
#include "http/json.h"
#include "sandbox/events.h"

namespace postroom::http::api {
namespace {

class SandboxEventStream final : public ResponseStream {
 public:
  SandboxEventStream(sandbox::EventHub& hub, std::int64_t account_id, std::optional<std::int64_t> inbox_id)
      : hub_(hub), state_(std::make_shared<State>()) {
    subscription_ =
        hub_.subscribe([state = std::weak_ptr(state_), account_id, inbox_id](const sandbox::SandboxEvent& e) {
          auto s = state.lock();
          if (!s || e.account_id != account_id || (inbox_id && e.inbox_id != *inbox_id)) return;
          const char* type = sandbox::to_string(e.type);
          const json::object data{{"type", type}, {"inbox_id", e.inbox_id}, {"message_id", e.message_id}};
          std::function<void()> wake;
          {
            std::lock_guard lock(s->mutex);
            // A client that stops reading must not make us buffer without bound: tell it to reload instead.
            if (s->queue.size() >= kMaxQueued) {
              s->queue.clear();
              s->queue.push_back("event: overflow\ndata: {\"type\":\"overflow\"}\n\n");
            } else {
              s->queue.push_back(std::string("event: ") + type + "\ndata: " + json::serialize(data) + "\n\n");
            }
            wake = s->wake;
          }
          if (wake) wake();
        });
  }
  ~SandboxEventStream() override { hub_.unsubscribe(subscription_); }

  bool poll(std::string& out) override {
    std::lock_guard lock(state_->mutex);
    for (std::string& event : state_->queue) out += event;
    state_->queue.clear();
    return !hub_.closed();
  }

  void on_ready(std::function<void()> wake) override {
    std::lock_guard lock(state_->mutex);
    state_->wake = std::move(wake);
  }

 private:
  static constexpr std::size_t kMaxQueued = 1000;
  struct State {
    std::mutex mutex;
    std::deque<std::string> queue;
    std::function<void()> wake;
  };
  sandbox::EventHub& hub_;
  std::shared_ptr<State> state_;
  std::uint64_t subscription_ = 0;
};

// "scheme://host[:port]" of a URL.
std::string origin_of(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto path = url.find('/', scheme_end + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

// The origin the request was addressed to ("http(s)://<Host>"): the web UI's own page, reached by whatever name.
std::string request_origin(const Request& request) {
  const auto host = request.header("host");
  if (!host || host->empty()) return {};
  return (request.secure ? "https://" : "http://") + std::string(*host);
}

Response open_stream(const Services& services, const Context& context, std::optional<std::int64_t> inbox_id) {
  // Another site's page must not read the stream with the user's cookie; our own (the configured public URL, or the
  // host the browser reached us by) may.
  if (auto origin = context.request.header("origin");
      origin && *origin != origin_of(services.public_url) && *origin != request_origin(context.request))
    throw Forbidden();
  Response response;
  response.status = 200;
  response.content_type = "text/event-stream; charset=utf-8";
  response.headers.emplace_back("X-Accel-Buffering", "no");
  response.body = "retry: 2000\n: connected\n\n";
  response.stream = std::make_shared<SandboxEventStream>(*services.sandbox_events, context.account_id, inbox_id);
  return response;
}

}  // namespace

void add_sandbox_events_routes(Router& router, Services& services) {
  if (!services.sandbox_events) return;
  for (const std::string prefix : {"/inboxes/{inbox_id}", "/sandboxes/{inbox_id}"}) {
    router.add_account_route(
        "GET", prefix + "/events", rules::inbox_level("inbox_id", accounts::level::viewer),
        [&services](Context& context) { return open_stream(services, context, context.id_param("inbox_id")); });
  }
  router.add_account_route("GET", "/sandbox_events", rules::account_viewer(),
                           [&services](Context& context) { return open_stream(services, context, std::nullopt); });
}

}  // namespace postroom::http::api
