// Router, request parsing, error shapes and the middleware pipeline (in process, real SQLite store).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "accounts/service.h"
#include "core/metrics.h"
#include "core/rate_limiter.h"
#include "http/api/routes.h"
#include "http/json.h"
#include "http/pipeline.h"
#include "http/router.h"
#include "sandbox/inboxes.h"
#include "test_support.h"

using namespace postroom;
using namespace postroom::http;

TEST(Router, MatchesPatternsAndAliases) {
  Router router;
  router.add_account_route("GET", "/api_tokens/{id}", rules::in_account(), [](Context&) { return Response{}; });
  std::unordered_map<std::string, std::string> params;
  const Route* route = router.match("GET", "/api/accounts/12/api_tokens/34", params);
  ASSERT_TRUE(route);
  EXPECT_EQ(route->pattern, "/api/accounts/{account_id}/api_tokens/{id}");
  EXPECT_EQ(params.at("account_id"), "12");
  EXPECT_EQ(params.at("id"), "34");
  route = router.match("GET", "/api/api_tokens/34/", params);
  ASSERT_TRUE(route) << "token-scoped alias, trailing slash tolerated";
  EXPECT_EQ(params.count("account_id"), 0u);
  EXPECT_FALSE(router.match("DELETE", "/api/api_tokens/34", params));
  EXPECT_FALSE(router.match("GET", "/api/api_tokens", params));
  EXPECT_FALSE(router.match("GET", "/api/api_tokens//", params));
}

TEST(Request, QueryArraysInEverySdkEncoding) {
  Request request;
  request.query =
      "inbox_ids%5B%5D=1&inbox_ids%5B%5D=2&project_ids[0]=3&domain_ids=4&domain_ids=5,6&email=q%40w.e&x=a+b";
  EXPECT_EQ(request.query_values("inbox_ids"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(request.query_values("project_ids"), (std::vector<std::string>{"3"}));
  EXPECT_EQ(request.query_values("domain_ids"), (std::vector<std::string>{"4", "5", "6"}));
  EXPECT_EQ(request.query_value("email"), "q@w.e");
  EXPECT_EQ(request.query_value("x"), "a b");
  EXPECT_FALSE(request.query_value("missing"));
}

TEST(Request, PathsKeepPlusAndDecodePercent) {
  std::string path, query;
  ASSERT_TRUE(split_target("/api/contacts/john+1%40example.com?a=1", path, query));
  EXPECT_EQ(path, "/api/contacts/john+1@example.com");
  EXPECT_EQ(query, "a=1");
  EXPECT_FALSE(split_target("api/no-slash", path, query));
  EXPECT_FALSE(split_target("/a%00b", path, query)) << "NUL bytes are refused";
}

TEST(ErrorShapes, MatchTheRealApi) {
  auto check = [](const Response& r, int status, const std::string& body) {
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.content_type, "application/json; charset=utf-8");
    EXPECT_EQ(r.body, body);
  };
  check(unauthorized(), 401, R"({"error":"Incorrect API token"})");
  check(forbidden(), 403, R"({"errors":"Account access forbidden"})");
  check(not_found(), 404, R"({"error":"Not Found"})");
  check(rate_limited(), 429, R"({"errors":"Rate limit exceeded"})");
  check(internal_error(), 500, R"({"errors":"Unexpected error"})");
  check(unprocessable({{"name", {"can't be blank", "is too short"}}}), 422,
        R"({"errors":{"name":["can't be blank","is too short"]}})");
  EXPECT_TRUE(no_content().body.empty());
  EXPECT_EQ(no_content().status, 204);
}

TEST(RateLimiter, FixedWindowPerKey) {
  RateLimiter limiter(3, 10);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.check("a", 1000).allowed);
  const auto denied = limiter.check("a", 1500);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.remaining, 0);
  EXPECT_TRUE(limiter.check("b", 1500).allowed) << "keys are independent";
  EXPECT_TRUE(limiter.check("a", 11000).allowed) << "a new window";
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db = test_support::make_database("sqlite");
    accounts = std::make_unique<accounts::AccountsService>(*db, clock);
    boot = accounts->bootstrap("admin@example.test");
    inboxes = std::make_unique<sandbox::InboxesService>(*db, clock, Config{});
    services = std::make_unique<api::Services>(
        api::Services{.accounts = *accounts, .database = *db, .metrics = metrics, .inboxes = *inboxes});
    api::add_all_routes(router, *services);
    pipeline = std::make_unique<Pipeline>(router, *db, *accounts, limiter, metrics);
  }

  Response call(const std::string& method, const std::string& target, const std::string& body = "",
                const std::string& token = "") {
    Request request;
    request.method = method;
    request.target = target;
    EXPECT_TRUE(split_target(target, request.path, request.query));
    request.body = body;
    request.headers.emplace_back("authorization", "Bearer " + (token.empty() ? boot.api_token : token));
    return pipeline->handle(request);
  }

  static boost::json::value json(const Response& r) { return boost::json::parse(r.body); }

  ManualClock clock{1'780'000'000};
  std::unique_ptr<store::Database> db;
  std::unique_ptr<accounts::AccountsService> accounts;
  accounts::BootstrapResult boot;
  Metrics metrics;
  RateLimiter limiter{1000, 10};
  Router router;
  std::unique_ptr<sandbox::InboxesService> inboxes;
  std::unique_ptr<api::Services> services;
  std::unique_ptr<Pipeline> pipeline;
};

TEST_F(PipelineTest, AuthenticatesBearerAndApiTokenHeaders) {
  EXPECT_EQ(call("GET", "/api/accounts").status, 200);
  Request request;
  request.method = "GET";
  request.path = "/api/accounts";
  request.headers.emplace_back("api-token", boot.api_token);
  EXPECT_EQ(pipeline->handle(request).status, 200);
  request.headers.clear();
  EXPECT_EQ(pipeline->handle(request).status, 401);
  EXPECT_EQ(call("GET", "/api/accounts", "", "wrong").body, R"({"error":"Incorrect API token"})");
}

TEST_F(PipelineTest, AccountScopedAndTokenScopedPathsAgree) {
  const std::string account = std::to_string(boot.account_id);
  const Response scoped = call("GET", "/api/accounts/" + account + "/api_tokens");
  const Response alias = call("GET", "/api/api_tokens");
  EXPECT_EQ(scoped.status, 200);
  EXPECT_EQ(scoped.body, alias.body);
}

TEST_F(PipelineTest, ForeignAccountsAreForbiddenAndUnknownRoutesNotFound) {
  EXPECT_EQ(call("GET", "/api/accounts/999999/api_tokens").status, 403);
  EXPECT_EQ(call("GET", "/api/accounts/999999/api_tokens").body, R"({"errors":"Account access forbidden"})");
  EXPECT_EQ(call("GET", "/api/accounts/abc/api_tokens").status, 404);
  EXPECT_EQ(call("GET", "/api/nothing-here").body, R"({"error":"Not Found"})");
  EXPECT_EQ(call("GET", "/api/api_tokens/999999").status, 404);
}

TEST_F(PipelineTest, MalformedJsonAndWrongTypesAreBadRequests) {
  Response r = call("POST", "/api/api_tokens", "{\"name\":");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json(r).at("error").as_string().find("Malformed JSON"), std::string::npos);
  r = call("POST", "/api/api_tokens", R"({"name":5,"resources":[]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json(r).at("error").as_string(), "'name' must be a string");
  r = call("POST", "/api/api_tokens", R"({"name":"x","resources":"all"})");
  EXPECT_EQ(r.status, 400);
  r = call("POST", "/api/api_tokens", "[1,2]");
  EXPECT_EQ(r.status, 400);
  r = call("POST", "/api/api_tokens", R"({"resources":[]})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body, R"({"errors":{"base":["No permissions selected. Please choose at least one."]}})");
  r = call("POST", "/api/api_tokens",
           R"({"name":" ","resources":[{"resource_type":"account","resource_id":1,"access_level":100}]})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body, R"({"errors":{"name":["can't be blank"]}})");
  EXPECT_EQ(accounts->list_tokens({}, boot.account_id, accounts::level::admin).size(), 1u) << "nothing was created";
}

TEST_F(PipelineTest, DeepJsonIsRejectedNotRecursedInto) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_EQ(call("POST", "/api/api_tokens", deep).status, 400);
}

TEST_F(PipelineTest, RateLimitAnswers429WithTheDocumentedBody) {
  RateLimiter tight(2, 60);
  Pipeline limited(router, *db, *accounts, tight, metrics);
  Request request;
  request.method = "GET";
  request.path = "/api/accounts";
  request.headers.emplace_back("authorization", "Bearer " + boot.api_token);
  EXPECT_EQ(limited.handle(request).status, 200);
  EXPECT_EQ(limited.handle(request).status, 200);
  const Response denied = limited.handle(request);
  EXPECT_EQ(denied.status, 429);
  EXPECT_EQ(denied.body, R"({"errors":"Rate limit exceeded"})");
}

TEST_F(PipelineTest, MetricsCountRequestsByRouteAndStatus) {
  call("GET", "/api/accounts");
  call("GET", "/api/accounts", "", "bad");
  Request request;
  request.method = "GET";
  request.path = "/metrics";
  const Response r = pipeline->handle(request);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"(postroom_http_requests_total{route="/api/accounts",method="GET",status="200"} 1)"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"(status="401"} 1)"), std::string::npos);
  EXPECT_NE(r.body.find("postroom_storage_duration_seconds_bucket"), std::string::npos);
}

TEST(JsonResponseDecimal, WritesDoublesWithoutExponents) {
  const http::Response response = http::json_response_decimal(
      200, json::object{{"share", 46.91}, {"all", 100.0}, {"tiny", 0.06}, {"n", 3}, {"s", "a\"b"},
                        {"list", json::array{1.5, nullptr, true}}, {"nested", json::object{{"zero", 0.0}}}});
  EXPECT_EQ(response.body,
            R"({"share":46.91,"all":100,"tiny":0.06,"n":3,"s":"a\"b","list":[1.5,null,true],"nested":{"zero":0}})");
  EXPECT_EQ(response.content_type, http::kJsonContentType);
  EXPECT_EQ(json::parse(response.body).at("share").as_double(), 46.91);
}
