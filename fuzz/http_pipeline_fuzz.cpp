// Feeds arbitrary requests through the whole API pipeline (routing, query and JSON parsing, validation,
// storage) with a valid token, so inputs reach the handlers. Input: "METHOD TARGET\n" then the body.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "accounts/service.h"
#include "core/metrics.h"
#include "core/rate_limiter.h"
#include "http/api/routes.h"
#include "http/pipeline.h"

using namespace postroom;

namespace {

struct World {
  std::unique_ptr<store::Database> db;
  SystemClock clock;
  std::unique_ptr<accounts::AccountsService> accounts;
  std::string token;
  std::string account;
  Metrics metrics;
  RateLimiter limiter{2'000'000'000, 10};
  http::Router router;
  std::unique_ptr<sandbox::InboxesService> inboxes;
  std::unique_ptr<http::api::Services> services;
  std::unique_ptr<http::Pipeline> pipeline;

  World() {
    spdlog::set_level(spdlog::level::off);
    const char* dir = std::getenv("POSTROOM_FUZZ_DIR");
    const std::filesystem::path base = std::filesystem::path(dir ? dir : "/tmp") / "fuzz-db";
    std::filesystem::remove_all(base);
    std::filesystem::create_directories(base);
    db = store::open_database("sqlite:" + (base / "fuzz.db").string());
    accounts = std::make_unique<accounts::AccountsService>(*db, clock);
    const auto boot = accounts->bootstrap("fuzz@example.test");
    token = boot.api_token;
    account = std::to_string(boot.account_id);
    inboxes = std::make_unique<sandbox::InboxesService>(*db, clock, Config{});
    services = std::make_unique<http::api::Services>(
        http::api::Services{.accounts = *accounts, .database = *db, .metrics = metrics, .inboxes = *inboxes});
    http::api::add_all_routes(router, *services);
    pipeline = std::make_unique<http::Pipeline>(router, *db, *accounts, limiter, metrics);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string head = input.substr(0, newline);
  const auto space = head.find(' ');
  if (space == std::string::npos) return 0;
  http::Request request;
  request.method = head.substr(0, space);
  request.target = head.substr(space + 1);
  // "{A}" stands for our account id so the fuzzer reaches account-scoped handlers.
  for (auto pos = request.target.find("{A}"); pos != std::string::npos; pos = request.target.find("{A}"))
    request.target.replace(pos, 3, world.account);
  if (!http::split_target(request.target, request.path, request.query)) return 0;
  request.body = newline == std::string::npos ? std::string() : input.substr(newline + 1);
  request.headers.emplace_back("authorization", "Bearer " + world.token);
  const http::Response response = world.pipeline->handle(request);
  // Inputs may delete or reset the token in use; issue a fresh one so later inputs stay authenticated.
  if (!world.accounts->authenticate(world.token))
    world.token = world.accounts->bootstrap("fuzz@example.test").api_token;
  if (response.status >= 500) std::abort();  // every input must get a deliberate answer, never "unexpected error"
  return 0;
}
