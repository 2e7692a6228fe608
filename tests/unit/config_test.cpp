#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "cli/options.h"
#include "test_support.h"

using namespace postroom;
using postroom::cli::parse_command_line;

namespace {

// Sets an environment variable for one test and restores the previous state afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string write_config(const std::string& text) {
  const std::string path = test_support::temp_dir() + "/postroom.toml";
  std::ofstream(path) << text;
  return path;
}

Config serve_config(std::vector<std::string> args) {
  args.insert(args.begin(), {"postroom", "serve"});
  const auto outcome = parse_command_line(args);
  EXPECT_TRUE(outcome.command_line) << outcome.output;
  return outcome.command_line ? outcome.command_line->config : Config{};
}

}  // namespace

TEST(Config, DefaultsBindToLoopbackAndUseSqliteInDataDir) {
  const Config config = serve_config({});
  EXPECT_EQ(config.http, "127.0.0.1:8025");
  EXPECT_EQ(config.data_dir, "./data");
  EXPECT_EQ(config.database_url(), "sqlite:./data/postroom.db");
  EXPECT_EQ(config.effective_public_url(), "http://127.0.0.1:8025");
  for (const auto& hp : parse_host_port_list(config.sandbox_smtp + "," + config.smtp + "," + config.smtp_bulk))
    EXPECT_EQ(hp.host, "127.0.0.1");
}

TEST(Config, ConfigFileOverridesDefaults) {
  const std::string path = write_config("# comment\n[serve]\nhttp = \"127.0.0.1:9000\"\nrate_limit_requests = 7\n");
  const Config config = serve_config({"--config", path});
  EXPECT_EQ(config.http, "127.0.0.1:9000");
  EXPECT_EQ(config.rate_limit_requests, 7);
}

TEST(Config, EnvironmentOverridesConfigFile) {
  const std::string path = write_config("http = 127.0.0.1:9000\n");
  ScopedEnv env("POSTROOM_HTTP", "127.0.0.1:9100");
  EXPECT_EQ(serve_config({"--config", path}).http, "127.0.0.1:9100");
}

TEST(Config, FlagsOverrideEnvironment) {
  const std::string path = write_config("http = 127.0.0.1:9000\n");
  ScopedEnv env("POSTROOM_HTTP", "127.0.0.1:9100");
  EXPECT_EQ(serve_config({"--config", path, "--http", "127.0.0.1:9200"}).http, "127.0.0.1:9200");
}

TEST(Config, ConfigFileCanBeNamedByEnvironment) {
  const std::string path = write_config("public-url = https://mail.example.test/\n");
  ScopedEnv env("POSTROOM_CONFIG", path.c_str());
  EXPECT_EQ(serve_config({}).effective_public_url(), "https://mail.example.test");
}

TEST(Config, RejectsBadValuesWithAClearError) {
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"postroom", "serve", "--http", "nonsense"},
                                             {"postroom", "serve", "--http", "127.0.0.1:99999"},
                                             {"postroom", "serve", "--log-level", "loud"},
                                             {"postroom", "serve", "--no-such-flag"},
                                             {"postroom", "serve", "--config", "/nonexistent/postroom.toml"},
                                             {"postroom"}}) {
    const auto outcome = parse_command_line(args);
    EXPECT_FALSE(outcome.command_line) << args.back();
    EXPECT_NE(outcome.exit_code, 0) << args.back();
    EXPECT_FALSE(outcome.output.empty()) << args.back();
  }
  const std::string path = write_config("no_such_option = 1\n");
  const auto outcome = parse_command_line({"postroom", "serve", "--config", path});
  EXPECT_FALSE(outcome.command_line);
  EXPECT_NE(outcome.output.find("no-such-option"), std::string::npos) << outcome.output;
}

TEST(Config, AdminBootstrapAndVersionCommands) {
  const auto bootstrap = parse_command_line({"postroom", "admin", "bootstrap", "--data-dir", "/tmp/x", "--json"});
  ASSERT_TRUE(bootstrap.command_line);
  EXPECT_EQ(bootstrap.command_line->command, cli::Command::admin_bootstrap);
  EXPECT_TRUE(bootstrap.command_line->json);
  EXPECT_EQ(bootstrap.command_line->config.database_url(), "sqlite:/tmp/x/postroom.db");
  const auto version = parse_command_line({"postroom", "version"});
  ASSERT_TRUE(version.command_line);
  EXPECT_EQ(version.command_line->command, cli::Command::version);
}

TEST(Config, ServeHelpDocumentsEveryOption) {
  const auto outcome = parse_command_line({"postroom", "serve", "--help"});
  EXPECT_FALSE(outcome.command_line);
  EXPECT_EQ(outcome.exit_code, 0);
  for (const char* option :
       {"--data-dir", "--database", "--http", "--https", "--sandbox-smtp", "--smtp", "--smtp-bulk", "--public-url",
        "--tls-cert", "--tls-key", "--config", "--max-body-bytes", "--rate-limit-requests", "POSTROOM_HTTP"})
    EXPECT_NE(outcome.output.find(option), std::string::npos) << option;
}

TEST(Config, HostPortParsing) {
  EXPECT_EQ(parse_host_port("0.0.0.0:25").to_string(), "0.0.0.0:25");
  EXPECT_EQ(parse_host_port("[::1]:2525").host, "::1");
  EXPECT_EQ(parse_host_port(":2525").host, "127.0.0.1");
  EXPECT_EQ(parse_host_port_list("127.0.0.1:25,127.0.0.1:2525").size(), 2u);
  EXPECT_THROW(parse_host_port("host"), std::invalid_argument);
  EXPECT_THROW(parse_host_port("host:"), std::invalid_argument);
  EXPECT_THROW(parse_host_port("host:-1"), std::invalid_argument);
}
