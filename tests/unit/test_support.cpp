#include "test_support.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <unistd.h>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "core/crypto.h"

namespace postroom::test_support {

namespace {
// Removes the temporary directories of this test process when it exits.
struct TempDirs {
  std::vector<std::filesystem::path> paths;
  ~TempDirs() {
    std::error_code ignored;
    for (const auto& path : paths) std::filesystem::remove_all(path, ignored);
  }
};
TempDirs temp_dirs;
}  // namespace

std::string temp_dir() {
  const auto base = std::filesystem::temp_directory_path() /
                    ("postroom-test-" + std::to_string(getpid()) + "-" + crypto::random_hex(8));
  std::filesystem::create_directories(base);
  temp_dirs.paths.push_back(base);
  return base.string();
}

static std::string with_database(const std::string& url, const std::string& name) {
  const auto slash = url.rfind('/');
  return url.substr(0, slash + 1) + name;
}

std::unique_ptr<store::Database> make_database(const std::string& backend) {
  if (backend == "sqlite") return store::open_database("sqlite:" + temp_dir() + "/test.db");
  if (backend != "postgres") throw std::invalid_argument("unknown backend " + backend);
  const char* url = std::getenv("POSTROOM_TEST_PG_URL");
  if (!url || !*url) throw std::runtime_error("POSTROOM_TEST_PG_URL is not set: the PostgreSQL tests need tests/pg.sh");
  const std::string name = "pr_unit_" + crypto::random_hex(12);
  PGconn* admin = PQconnectdb(url);
  if (PQstatus(admin) != CONNECTION_OK) {
    std::string message = PQerrorMessage(admin);
    PQfinish(admin);
    throw std::runtime_error("cannot reach the test PostgreSQL: " + message);
  }
  PGresult* result = PQexec(admin, ("CREATE DATABASE " + name).c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  PQclear(result);
  PQfinish(admin);
  if (!ok) throw std::runtime_error("CREATE DATABASE failed");
  return store::open_database(with_database(url, name), {4});
}

}  // namespace postroom::test_support
