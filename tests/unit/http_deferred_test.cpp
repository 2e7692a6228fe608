// Deferred responses (http/message.h): settled later from another thread, passed through the pipeline's steps,
// and written by the real server without a worker thread waiting for them.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "accounts/service.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "core/rate_limiter.h"
#include "http/json.h"
#include "http/pipeline.h"
#include "http/router.h"
#include "http/server.h"
#include "test_support.h"

using namespace postroom;
using namespace postroom::http;

namespace {

Response text(int status, std::string body) {
  Response response;
  response.status = status;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

}  // namespace

TEST(DeferredResponse, DeliversTheOutcomeWhetherItArrivesBeforeOrAfterThen) {
  auto early = std::make_shared<DeferredResponse>();
  early->complete(text(201, "early"));
  int seen = 0;
  early->then([&](Response r, std::exception_ptr error) {
    EXPECT_FALSE(error);
    EXPECT_EQ(r.status, 201);
    EXPECT_EQ(r.body, "early");
    ++seen;
  });
  EXPECT_EQ(seen, 1);

  auto late = std::make_shared<DeferredResponse>();
  late->then([&](Response r, std::exception_ptr error) {
    EXPECT_FALSE(error);
    EXPECT_EQ(r.body, "late");
    ++seen;
  });
  EXPECT_EQ(seen, 1) << "nothing before it settles";
  std::thread([late] { late->complete(text(200, "late")); }).join();
  EXPECT_EQ(seen, 2);
  late->complete(text(500, "again"));  // a second outcome is ignored
  EXPECT_EQ(seen, 2);
}

TEST(DeferredResponse, ThenFinishAppliesNowOrOnArrivalAndPassesErrorsOn) {
  auto mark = [](Response r) {
    r.headers.emplace_back("X-Step", "done");
    return r;
  };
  const Response now = then_finish(text(200, "now"), mark);
  EXPECT_FALSE(now.deferred);
  ASSERT_EQ(now.headers.size(), 1u);

  auto inner = std::make_shared<DeferredResponse>();
  const Response later = then_finish(deferred_response(inner), mark);
  ASSERT_TRUE(later.deferred);
  Response arrived;
  later.deferred->then([&](Response r, std::exception_ptr) { arrived = std::move(r); });
  inner->complete(text(202, "later"));
  EXPECT_EQ(arrived.status, 202);
  ASSERT_EQ(arrived.headers.size(), 1u);
  EXPECT_EQ(arrived.headers[0].second, "done");

  auto failing = std::make_shared<DeferredResponse>();
  const Response failed = then_finish(deferred_response(failing), mark);
  std::exception_ptr passed;
  failed.deferred->then([&](Response, std::exception_ptr error) { passed = error; });
  failing->fail(std::make_exception_ptr(NotFound()));
  EXPECT_TRUE(passed);
}

class DeferredPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db = test_support::make_database("sqlite");
    accounts = std::make_unique<accounts::AccountsService>(*db, clock);
    boot = accounts->bootstrap("admin@example.test");
    const RouteOptions later{.blocks = false, .sending_errors = true, .writes = false, .answers_later = true};
    router.add(
        "POST", "/api/later", rules::in_account(),
        [this](Context&) {
          pending = std::make_shared<DeferredResponse>();
          return deferred_response(pending);
        },
        later);
    router.add("POST", "/api/now", rules::in_account(), [](Context&) { return text(200, "now"); });
    pipeline = std::make_unique<Pipeline>(router, *db, *accounts, limiter, metrics);
  }

  Request request(const std::string& path) {
    Request r;
    r.method = "POST";
    r.path = path;
    r.request_id = "test-1";
    r.headers.emplace_back("authorization", "Bearer " + boot.api_token);
    return r;
  }

  // The response a deferred one settles with, settled from another thread by `settle`.
  static Response arrival(const Response& response, const std::function<void()>& settle) {
    EXPECT_TRUE(response.deferred);
    std::promise<Response> arrived;
    response.deferred->then([&](Response r, std::exception_ptr error) {
      EXPECT_FALSE(error) << "the pipeline settles with responses, errors mapped";
      arrived.set_value(std::move(r));
    });
    std::thread(settle).join();
    return arrived.get_future().get();
  }

  static std::string header(const Response& r, const std::string& name) {
    for (const auto& [n, v] : r.headers)
      if (n == name) return v;
    return {};
  }

  ManualClock clock{1'780'000'000};
  std::unique_ptr<store::Database> db;
  std::unique_ptr<accounts::AccountsService> accounts;
  accounts::BootstrapResult boot;
  Metrics metrics;
  RateLimiter limiter{1000, 10};
  Router router;
  std::unique_ptr<Pipeline> pipeline;
  std::shared_ptr<DeferredResponse> pending;
};

TEST_F(DeferredPipelineTest, AnsweringLaterRoutesMayRunInlineOtherWritesMayNot) {
  Request later = request("/api/later");
  Request now = request("/api/now");
  EXPECT_TRUE(pipeline->classify(later));
  EXPECT_FALSE(pipeline->classify(now));
  Request large = request("/api/later");
  large.body.assign(1024 * 1024, ' ');
  EXPECT_FALSE(pipeline->classify(large)) << "a large body is work for the workers";
}

TEST_F(DeferredPipelineTest, ADeferredResponseGetsRateLimitHeadersAndIsCountedWhenItArrives) {
  const Response response = pipeline->handle(request("/api/later"));
  ASSERT_TRUE(response.deferred);
  EXPECT_EQ(metrics.render().find(R"(route="/api/later")"), std::string::npos) << "not counted before it arrives";
  const Response arrived = arrival(response, [this] { pending->complete(text(200, "stored")); });
  EXPECT_EQ(arrived.status, 200);
  EXPECT_EQ(arrived.body, "stored");
  EXPECT_EQ(header(arrived, "X-Ratelimit-Limit"), "1000");
  EXPECT_EQ(header(arrived, "X-Ratelimit-Remaining"), "999");
  EXPECT_NE(metrics.render().find(R"(postroom_http_requests_total{route="/api/later",method="POST",status="200"} 1)"),
            std::string::npos)
      << metrics.render();
}

TEST_F(DeferredPipelineTest, AnErrorSettledLaterIsMappedLikeAThrownOneInTheRoutesShape) {
  const Response response = pipeline->handle(request("/api/later"));
  const Response arrived =
      arrival(response, [this] { pending->fail(std::make_exception_ptr(std::runtime_error("disk full"))); });
  EXPECT_EQ(arrived.status, 500);
  const auto body = boost::json::parse(arrived.body);
  EXPECT_EQ(body.at("success"), false) << arrived.body;
  const Response missing = pipeline->handle(request("/api/later"));
  EXPECT_EQ(arrival(missing, [this] { pending->fail(std::make_exception_ptr(NotFound())); }).status, 404);
}

// ---- the server -----------------------------------------------------------------------------------------------

namespace {

// A blocking HTTP/1.1 client on one keep-alive connection, with a receive timeout so a hang fails the test.
class Connection {
 public:
  explicit Connection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~Connection() { ::close(fd_); }
  bool connected() const { return connected_; }

  void send(const std::string& path) {
    const std::string request = "POST " + path + " HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(::write(fd_, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  }
  // The next response's body; empty on timeout or a closed connection.
  std::string body() {
    while (true) {
      const auto head_end = buffer_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const auto at = buffer_.find("Content-Length: ");
        if (at != std::string::npos && at < head_end) {
          const std::size_t length = std::stoul(buffer_.substr(at + 16));
          if (buffer_.size() >= head_end + 4 + length) {
            std::string out = buffer_.substr(head_end + 4, length);
            buffer_.erase(0, head_end + 4 + length);
            return out;
          }
        }
      }
      char chunk[4096];
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0) return {};
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

// Requests to /first answer later; /second settles the waiting /first and answers at once.
struct Handlers {
  std::mutex mutex;
  std::shared_ptr<DeferredResponse> first;

  Response handle(const Request& request) {
    std::lock_guard lock(mutex);
    if (request.path == "/first") {
      first = std::make_shared<DeferredResponse>();
      return deferred_response(first);
    }
    if (request.path == "/second" && first) {
      std::thread([waiting = first] { waiting->complete(text(200, "first, settled by second")); }).detach();
      first.reset();
    }
    if (request.path == "/settled") {
      auto done = std::make_shared<DeferredResponse>();
      done->complete(text(200, "settled already"));
      return deferred_response(done);
    }
    return text(200, "second");
  }
};

}  // namespace

TEST(DeferredServer, AWaitingResponseHoldsNoWorker) {
  Handlers handlers;
  ServerOptions options;
  options.listen = {{"127.0.0.1", 0}};
  options.io_threads = 1;
  options.worker_threads = 1;  // /first on the only worker: /second must still get a worker
  Server server(options, [&](const Request& request) { return handlers.handle(request); });
  const std::uint16_t port = server.start().front().port;
  Connection a(port), b(port);
  ASSERT_TRUE(a.connected() && b.connected());
  a.send("/first");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // /first waits for its answer
  b.send("/second");
  EXPECT_EQ(b.body(), "second");
  EXPECT_EQ(a.body(), "first, settled by second");
  // The connection stays usable, and a response settled before it was returned is written too.
  a.send("/settled");
  EXPECT_EQ(a.body(), "settled already");
  server.shutdown(std::chrono::seconds(1));
  server.wait();
}

TEST(DeferredServer, AResponseSettledAfterTheServerStoppedGoesNowhere) {
  Handlers handlers;
  std::shared_ptr<DeferredResponse> orphan;
  {
    ServerOptions options;
    options.listen = {{"127.0.0.1", 0}};
    options.io_threads = 1;
    options.worker_threads = 1;
    Server server(options, [&](const Request& request) { return handlers.handle(request); });
    const std::uint16_t port = server.start().front().port;
    Connection a(port);
    a.send("/first");
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard lock(handlers.mutex);
        if (handlers.first) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    {
      std::lock_guard lock(handlers.mutex);
      orphan = handlers.first;
    }
    ASSERT_TRUE(orphan);
    server.shutdown(std::chrono::seconds(0));
    server.wait();
  }
  orphan->complete(text(200, "too late"));  // the server is gone: must not touch its io_context
  SUCCEED();
}
