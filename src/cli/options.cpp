// CLI11 is expensive to compile; it is confined to this file.
#include "cli/options.h"

#include <CLI/CLI.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "dns/resolver.h"

namespace postroom::cli {
namespace {

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

// Reads `key = value` lines (TOML-style: comments with '#', optional quotes, [sections] ignored).
std::map<std::string, std::string> read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw CLI::FileError::Missing(path);
  std::map<std::string, std::string> values;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string text = trim(line);
    if (text.empty() || text[0] == '#' || text[0] == ';' || text[0] == '[') continue;
    const auto eq = text.find('=');
    if (eq == std::string::npos)
      throw CLI::ConversionError(path + ":" + std::to_string(number) + ": expected key = value");
    std::string key = trim(text.substr(0, eq));
    std::string value = trim(text.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    for (char& c : key) {
      if (c == '_') c = '-';
    }
    values[key] = value;
  }
  return values;
}

// Applies config-file values to every option that neither a flag nor an environment variable set.
void apply_config_file(CLI::App& app, const std::string& path) {
  for (const auto& [key, value] : read_config_file(path)) {
    CLI::Option* option = nullptr;
    try {
      option = app.get_option("--" + key);
    } catch (const CLI::OptionNotFound&) {
      throw CLI::ValidationError(path + ": unknown option '" + key + "'");
    }
    if (option->count() > 0) continue;
    option->add_result(value);
    option->run_callback();
  }
}

void add_storage_options(CLI::App& app, Config& config) {
  app.add_option("--data-dir", config.data_dir, "Directory for the embedded database, TLS material and files")
      ->envname("POSTROOM_DATA_DIR")
      ->capture_default_str();
  app.add_option(
         "--database", config.database,
         "Database URL: sqlite:PATH or postgres://USER:PASS@HOST:PORT/DB (default: sqlite:<data-dir>/postroom.db)")
      ->envname("POSTROOM_DATABASE");
  app.add_option("--db-pool-size", config.db_pool_size, "PostgreSQL connections / SQLite reader connections")
      ->envname("POSTROOM_DB_POOL_SIZE")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--log-level", config.log_level, "trace, debug, info, warn, error or off")
      ->envname("POSTROOM_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

void add_serve_options(CLI::App& app, Config& config) {
  auto host_port = CLI::Validator(
      [](std::string& value) -> std::string {
        try {
          parse_host_port_list(value);
        } catch (const std::exception& e) {
          return e.what();
        }
        return {};
      },
      "HOST:PORT");
  app.add_option("--http", config.http, "API and UI listener (loopback unless told otherwise)")
      ->envname("POSTROOM_HTTP")
      ->check(host_port)
      ->capture_default_str();
  app.add_option("--https", config.https, "Optional HTTPS listener for the API and UI, HOST:PORT")
      ->envname("POSTROOM_HTTPS")
      ->check(host_port);
  app.add_option("--sandbox-smtp", config.sandbox_smtp, "Email Sandbox SMTP listeners, HOST:PORT[,HOST:PORT…]")
      ->envname("POSTROOM_SANDBOX_SMTP")
      ->check(host_port)
      ->capture_default_str();
  app.add_option("--smtp", config.smtp, "Transactional SMTP submission listener, HOST:PORT")
      ->envname("POSTROOM_SMTP")
      ->check(host_port)
      ->capture_default_str();
  app.add_option("--smtp-bulk", config.smtp_bulk, "Bulk SMTP submission listener, HOST:PORT")
      ->envname("POSTROOM_SMTP_BULK")
      ->check(host_port)
      ->capture_default_str();
  app.add_option("--public-url", config.public_url, "Externally visible base URL used in links (default: from --http)")
      ->envname("POSTROOM_PUBLIC_URL");
  app.add_option("--tls-cert", config.tls_cert,
                 "PEM certificate (chain) for TLS listeners (default: self-signed, generated into <data-dir>/tls)")
      ->envname("POSTROOM_TLS_CERT");
  app.add_option("--tls-key", config.tls_key, "PEM private key matching --tls-cert")->envname("POSTROOM_TLS_KEY");
  app.add_option("--io-threads", config.io_threads, "Threads serving network I/O")
      ->envname("POSTROOM_IO_THREADS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--worker-threads", config.worker_threads, "Threads running request handlers")
      ->envname("POSTROOM_WORKER_THREADS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--max-body-bytes", config.max_body_bytes, "Largest accepted HTTP request body (larger: 413)")
      ->envname("POSTROOM_MAX_BODY_BYTES")
      ->check(CLI::Range(std::int64_t{1024}, std::int64_t{1} << 32))
      ->capture_default_str();
  app.add_option("--header-timeout", config.header_timeout_seconds,
                 "Seconds a new connection has to send its request headers")
      ->envname("POSTROOM_HEADER_TIMEOUT")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--idle-timeout", config.idle_timeout_seconds, "Seconds an idle keep-alive connection stays open")
      ->envname("POSTROOM_IDLE_TIMEOUT")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--shutdown-timeout", config.shutdown_timeout_seconds,
                 "Seconds in-flight requests get to finish on SIGTERM/SIGINT")
      ->envname("POSTROOM_SHUTDOWN_TIMEOUT")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  app.add_option("--rate-limit-requests", config.rate_limit_requests, "API requests allowed per token per window")
      ->envname("POSTROOM_RATE_LIMIT_REQUESTS")
      ->check(CLI::Range(1, 2'000'000'000))
      ->capture_default_str();
  app.add_option("--rate-limit-window", config.rate_limit_window_seconds, "Rate-limit window in seconds")
      ->envname("POSTROOM_RATE_LIMIT_WINDOW")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--max-email-templates", config.max_email_templates, "Email templates allowed per account")
      ->envname("POSTROOM_MAX_EMAIL_TEMPLATES")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  app.add_option("--testing-plan-name", config.plans.testing_plan_name, "Plan name shown for Email Sandbox usage")
      ->envname("POSTROOM_TESTING_PLAN_NAME")
      ->capture_default_str();
  app.add_option("--testing-message-limit", config.plans.testing_message_limit,
                 "Sandbox messages per billing cycle (-1: unlimited)")
      ->envname("POSTROOM_TESTING_MESSAGE_LIMIT")
      ->capture_default_str();
  app.add_option("--testing-forward-limit", config.plans.testing_forward_limit,
                 "Sandbox forwards per billing cycle (-1: unlimited)")
      ->envname("POSTROOM_TESTING_FORWARD_LIMIT")
      ->capture_default_str();
  app.add_option("--sending-plan-name", config.plans.sending_plan_name, "Plan name shown for Email API/SMTP usage")
      ->envname("POSTROOM_SENDING_PLAN_NAME")
      ->capture_default_str();
  app.add_option("--sending-message-limit", config.plans.sending_message_limit,
                 "Sent messages per billing cycle (-1: unlimited)")
      ->envname("POSTROOM_SENDING_MESSAGE_LIMIT")
      ->capture_default_str();
  auto& sandbox = config.sandbox;
  app.add_option("--sandbox-smtps", sandbox.sandboxes_smtp_tls,
                 "Email Sandbox implicit-TLS SMTP listeners (port 465 style), HOST:PORT[,HOST:PORT…]")
      ->envname("POSTROOM_SANDBOX_SMTPS")
      ->check(host_port);
  app.add_option("--sandbox-smtp-host", sandbox.smtp_host,
                 "SMTP host name shown in sandbox settings (default: the --sandbox-smtp host)")
      ->envname("POSTROOM_SANDBOX_SMTP_HOST");
  app.add_option("--sandbox-pop3", sandbox.pop3,
                 "Email Sandbox POP3 listeners (STLS offered), HOST:PORT[,HOST:PORT…]; empty: no POP3")
      ->envname("POSTROOM_SANDBOX_POP3")
      ->check(host_port)
      ->capture_default_str();
  app.add_option("--sandbox-pop3s", sandbox.pop3s,
                 "Email Sandbox implicit-TLS POP3 listeners (port 995 style), HOST:PORT[,HOST:PORT…]")
      ->envname("POSTROOM_SANDBOX_POP3S")
      ->check(host_port);
  app.add_option("--sandbox-email-domain", sandbox.email_domain, "Domain of each sandbox's own email address")
      ->envname("POSTROOM_SANDBOX_EMAIL_DOMAIN")
      ->capture_default_str();
  app.add_option("--forward-domain", sandbox.forward_domain,
                 "Domain of the From address of mail forwarded out of sandboxes (point its SPF at this server)")
      ->envname("POSTROOM_FORWARD_DOMAIN")
      ->capture_default_str();
  app.add_option("--spamd", sandbox.spamd,
                 "SpamAssassin spamd for sandbox spam reports: HOST:PORT or unix:PATH (empty: no spam reports)")
      ->envname("POSTROOM_SPAMD");
  app.add_option("--blocklists", sandbox.blocklists,
                 "File listing the DNS blocklists of sandbox blacklist reports (empty: the built-in list)")
      ->envname("POSTROOM_BLOCKLISTS");
  app.add_option("--sandbox-max-messages", sandbox.max_messages,
                 "Messages kept per sandbox; the oldest are deleted first")
      ->envname("POSTROOM_SANDBOX_MAX_MESSAGES")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{100'000'000}))
      ->capture_default_str();
  app.add_option("--sandbox-max-message-size", sandbox.max_message_size, "Largest captured message in bytes")
      ->envname("POSTROOM_SANDBOX_MAX_MESSAGE_SIZE")
      ->check(CLI::Range(std::int64_t{1024}, std::int64_t{1} << 30))
      ->capture_default_str();
  app.add_option("--sandbox-rate", sandbox.rate_per_10_seconds, "Messages per sandbox per 10 seconds (0: unlimited)")
      ->envname("POSTROOM_SANDBOX_RATE")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'000'000'000}))
      ->capture_default_str();
  app.add_option("--sandbox-max-age-days", sandbox.max_age_days, "Delete captured messages older than this (0: keep)")
      ->envname("POSTROOM_SANDBOX_MAX_AGE_DAYS")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{36500}))
      ->capture_default_str();
  app.add_option("--sandbox-default-inbox", sandbox.default_inbox_id,
                 "Sandbox id that receives SMTP mail sent without authentication (local development; 0: off)")
      ->envname("POSTROOM_SANDBOX_DEFAULT_INBOX")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--smtp-max-recipients", sandbox.smtp_max_recipients, "Recipients per SMTP transaction")
      ->envname("POSTROOM_SMTP_MAX_RECIPIENTS")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--smtp-max-connections", sandbox.smtp_max_connections, "Concurrent SMTP connections")
      ->envname("POSTROOM_SMTP_MAX_CONNECTIONS")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--smtp-max-connections-per-ip", sandbox.smtp_max_connections_per_ip,
                 "Concurrent SMTP connections per client IP")
      ->envname("POSTROOM_SMTP_MAX_CONNECTIONS_PER_IP")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--smtp-worker-threads", sandbox.smtp_worker_threads,
                 "Threads running SMTP deliveries (each waits for its commit; more share an fsync)")
      ->envname("POSTROOM_SMTP_WORKER_THREADS")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--sandbox-wait-max", sandbox.wait_max_seconds, "Longest timeout of the messages/wait endpoint (s)")
      ->envname("POSTROOM_SANDBOX_WAIT_MAX")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  auto& domains = config.domains;
  app.add_option("--dns-server", domains.dns_server,
                 "DNS servers for domain verification, HOST:PORT[,HOST:PORT…] (default: the system resolver)")
      ->envname("POSTROOM_DNS_SERVER")
      ->check([](const std::string& value) -> std::string {
        try {
          dns::parse_server_list(value);
          return {};
        } catch (const std::exception& e) {
          return e.what();
        }
      });
  app.add_option("--sending-hostname", domains.hostname,
                 "Public host name of the outgoing MTA (verification CNAME target, SPF a: term)")
      ->envname("POSTROOM_SENDING_HOSTNAME")
      ->capture_default_str();
  app.add_option("--spf-include", domains.spf_include, "Domain named as include: in the suggested SPF record")
      ->envname("POSTROOM_SPF_INCLUDE");
  app.add_option("--sending-ips", domains.sending_ips,
                 "Sending IP addresses for the suggested SPF record, comma-separated")
      ->envname("POSTROOM_SENDING_IPS");
  app.add_option("--tracking-host", domains.tracking_host,
                 "Target of the click-tracking CNAME (default: --sending-hostname)")
      ->envname("POSTROOM_TRACKING_HOST");
  app.add_option("--bounce-host", domains.bounce_host, "Target of the return-path CNAME (default: --sending-hostname)")
      ->envname("POSTROOM_BOUNCE_HOST");
  app.add_option("--dkim-selector-prefix", domains.dkim_selector_prefix, "DKIM selectors are <prefix>1 and <prefix>2")
      ->envname("POSTROOM_DKIM_SELECTOR_PREFIX")
      ->capture_default_str();
  app.add_flag("--dkim-ed25519", domains.dkim_ed25519, "Also sign with an Ed25519 key (dual signing, RFC 8463)")
      ->envname("POSTROOM_DKIM_ED25519");
  app.add_option("--domain-key-file", domains.key_file,
                 "Master key sealing DKIM private keys (default: <data-dir>/domain-keys.key; back it up)")
      ->envname("POSTROOM_DOMAIN_KEY_FILE");
  app.add_option("--demo-domain", domains.demo_domain, "Name of each account's demo sending domain")
      ->envname("POSTROOM_DEMO_DOMAIN")
      ->capture_default_str();
  app.add_flag("--require-domain-approval", domains.require_approval,
               "Verified domains wait for an admin's approval before they may send")
      ->envname("POSTROOM_REQUIRE_DOMAIN_APPROVAL");
  app.add_option("--domain-recheck-unverified", domains.recheck_unverified_seconds,
                 "Seconds between DNS checks of unverified domains")
      ->envname("POSTROOM_DOMAIN_RECHECK_UNVERIFIED")
      ->check(CLI::Range(1, 86400 * 30))
      ->capture_default_str();
  app.add_option("--domain-recheck-verified", domains.recheck_verified_seconds,
                 "Seconds between DNS checks of verified domains")
      ->envname("POSTROOM_DOMAIN_RECHECK_VERIFIED")
      ->check(CLI::Range(1, 86400 * 30))
      ->capture_default_str();
  auto& sending = config.sending;
  app.add_option("--smtps", sending.smtps, "Implicit-TLS submission listeners (port 465 style), HOST:PORT[,…]")
      ->envname("POSTROOM_SMTPS");
  app.add_option("--bounce-smtp", sending.bounce_smtp,
                 "Inbound SMTP listeners of the bounce host (DSNs, mailto: unsubscribes, complaints), HOST:PORT[,…]")
      ->envname("POSTROOM_BOUNCE_SMTP");
  app.add_option("--relay", sending.relay,
                 "Deliver all live mail through this smarthost: smtp://[user:pass@]host[:port] or smtps://…")
      ->envname("POSTROOM_RELAY");
  app.add_option("--relay-tls", sending.relay_tls, "TLS toward the smarthost: none, opportunistic, required, implicit")
      ->envname("POSTROOM_RELAY_TLS")
      ->check(CLI::IsMember({"none", "opportunistic", "required", "implicit"}))
      ->capture_default_str();
  app.add_option("--sending-source-address", sending.source_address, "Local IP address for outgoing SMTP connections")
      ->envname("POSTROOM_SENDING_SOURCE_ADDRESS");
  app.add_option("--retry-schedule", sending.retry_schedule,
                 "Seconds before each retry after a temporary failure, comma-separated (then a hard bounce)")
      ->envname("POSTROOM_RETRY_SCHEDULE")
      ->capture_default_str();
  app.add_option("--require-tls-domains", sending.require_tls_domains,
                 "Recipient domains that must get STARTTLS with a verified certificate, comma-separated")
      ->envname("POSTROOM_REQUIRE_TLS_DOMAINS");
  app.add_option("--bounce-rules", sending.bounce_rules,
                 "File of bounce categorization rules tried before the defaults")
      ->envname("POSTROOM_BOUNCE_RULES");
  app.add_option("--sending-max-message-size", sending.max_message_size, "Largest live message in bytes")
      ->envname("POSTROOM_SENDING_MAX_MESSAGE_SIZE")
      ->check(CLI::Range(std::int64_t{1024}, std::int64_t{150} * 1024 * 1024))
      ->capture_default_str();
  app.add_option("--smtp-connections-per-account", sending.max_connections_per_account,
                 "Concurrent submission connections per account")
      ->envname("POSTROOM_SMTP_CONNECTIONS_PER_ACCOUNT")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--smtp-messages-per-connection", sending.max_messages_per_connection,
                 "Messages per submission connection")
      ->envname("POSTROOM_SMTP_MESSAGES_PER_CONNECTION")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--smtp-connections-per-ip", sending.max_connections_per_ip,
                 "Concurrent submission connections per client IP")
      ->envname("POSTROOM_SMTP_CONNECTIONS_PER_IP")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_flag("--smtp-allow-plaintext-auth", sending.allow_plaintext_auth,
               "Offer AUTH on submission before STARTTLS (local development only)")
      ->envname("POSTROOM_SMTP_ALLOW_PLAINTEXT_AUTH");
  app.add_option("--delivery-concurrency", sending.max_in_flight, "Deliveries in progress at once")
      ->envname("POSTROOM_DELIVERY_CONCURRENCY")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--sending-hourly-limit", sending.hourly_limit,
                 "Deliveries per account per hour (0: none); the excess is sent in the next hours")
      ->envname("POSTROOM_SENDING_HOURLY_LIMIT")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--sending-daily-limit", sending.daily_limit,
                 "Deliveries per account per day (0: none); the excess is held until the next day")
      ->envname("POSTROOM_SENDING_DAILY_LIMIT")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--delivery-site-rate", sending.site_rate_per_minute,
                 "Deliveries started per minute to one site (domains sharing MX hosts); 0: no limit")
      ->envname("POSTROOM_DELIVERY_SITE_RATE")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--delivery-per-site", sending.max_per_site,
                 "Deliveries at once to one site (domains sharing MX hosts)")
      ->envname("POSTROOM_DELIVERY_PER_SITE")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--admin-email", config.admin_email, "E-mail of the admin user created on first start")
      ->envname("POSTROOM_ADMIN_EMAIL")
      ->capture_default_str();
}

}  // namespace

ParseOutcome parse_command_line(const std::vector<std::string>& args) {
  CommandLine result;
  CLI::App app{"Postroom: self-hosted, Mailtrap-compatible email platform (sandbox, sending, marketing)", "postroom"};
  app.require_subcommand(1);

  std::string serve_config, admin_config;
  CLI::App* serve = app.add_subcommand("serve", "Run the API/UI and SMTP listeners");
  add_storage_options(*serve, result.config);
  add_serve_options(*serve, result.config);
  serve
      ->add_option("--config", serve_config, "Config file with `option = value` lines (lowest precedence but defaults)")
      ->envname("POSTROOM_CONFIG");

  CLI::App* admin = app.add_subcommand("admin", "Administrative commands that work on the store directly");
  admin->require_subcommand(1);
  CLI::App* bootstrap = admin->add_subcommand(
      "bootstrap",
      "Create the default organization, account, admin user, sandbox and an admin API token (idempotent: "
      "on a bootstrapped store it issues a fresh admin token)");
  add_storage_options(*bootstrap, result.config);
  bootstrap->add_option("--admin-email", result.config.admin_email, "E-mail of the admin user")
      ->envname("POSTROOM_ADMIN_EMAIL")
      ->capture_default_str();
  bootstrap->add_flag("--json", result.json, "Print one JSON object instead of a readable block");
  bootstrap->add_option("--config", admin_config, "Config file with `option = value` lines")
      ->envname("POSTROOM_CONFIG");
  bootstrap->allow_config_extras(true);

  CLI::App* create_user = admin->add_subcommand(
      "create-user",
      "Create a user who signs in to the web UI, or give an existing one access to an account (prints the generated "
      "password when none is given)");
  add_storage_options(*create_user, result.config);
  std::string create_user_password;
  create_user->add_option("--email", result.create_user.email, "The user's e-mail (the sign-in name)")->required();
  create_user->add_option("--name", result.create_user.name, "Display name (default: the e-mail's local part)");
  CLI::Option* password_option = create_user->add_option(
      "--password", create_user_password, "Password, at least 8 characters (default: a generated one, printed)");
  create_user
      ->add_option("--account", result.create_user.account_id,
                   "Account to give the user access to (default: the first account)")
      ->check(CLI::PositiveNumber);
  create_user->add_option("--level", result.create_user.level, "Access level in the account")
      ->check(CLI::IsMember({"admin", "viewer"}))
      ->capture_default_str();
  create_user->add_flag("--json", result.json, "Print one JSON object instead of a readable line");
  std::string create_user_config;
  create_user->add_option("--config", create_user_config, "Config file with `option = value` lines")
      ->envname("POSTROOM_CONFIG");
  create_user->allow_config_extras(true);

  app.add_subcommand("version", "Print the version");

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  if (!reversed.empty()) reversed.pop_back();  // program name
  std::ostringstream out, err;
  try {
    app.parse(reversed);
    if (serve->parsed() && !serve_config.empty()) apply_config_file(*serve, serve_config);
    // Only the storage options matter to the admin commands; the file may hold serve options too.
    auto apply_storage_config = [](CLI::App& command, const std::string& path) {
      for (const auto& [key, value] : read_config_file(path)) {
        if (key == "email" || key == "name" || key == "password" || key == "account" || key == "level") continue;
        CLI::Option* option = nullptr;
        try {
          option = command.get_option("--" + key);
        } catch (const CLI::OptionNotFound&) {
          continue;
        }
        if (option->count() > 0) continue;
        option->add_result(value);
        option->run_callback();
      }
    };
    if (bootstrap->parsed() && !admin_config.empty()) apply_storage_config(*bootstrap, admin_config);
    if (create_user->parsed() && !create_user_config.empty()) apply_storage_config(*create_user, create_user_config);
    if (password_option->count() > 0) result.create_user.password = create_user_password;
    (void)parse_host_port_list(result.config.http);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return {std::nullopt, code, out.str() + err.str()};
  } catch (const std::exception& e) {
    return {std::nullopt, 2, std::string("error: ") + e.what() + "\n"};
  }
  if (serve->parsed())
    result.command = Command::serve;
  else if (bootstrap->parsed())
    result.command = Command::admin_bootstrap;
  else if (create_user->parsed())
    result.command = Command::admin_create_user;
  else
    result.command = Command::version;
  return {result, 0, {}};
}

}  // namespace postroom::cli
