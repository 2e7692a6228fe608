#include "cli/commands.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "accounts/service.h"
#include "accounts/sessions.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/rate_limiter.h"
#include "core/tls_certificate.h"
#include "domains/service.h"
#include "email_templates/service.h"
#include "http/api/routes.h"
#include "http/pipeline.h"
#include "http/server.h"
#include "pop3/server.h"
#include "sandbox/analysis.h"
#include "sandbox/forwarding.h"
#include "sandbox/inboxes.h"
#include "sandbox/messages.h"
#include "sandbox/pop3_mailbox.h"
#include "sandbox/smtp_capture.h"
#include "sandbox/system_mailbox.h"
#include "sending/delivery.h"
#include "sending/inbound.h"
#include "sending/service.h"
#include "sending/smtp_submission.h"
#include "smtp/server.h"
#include "store/database.h"

namespace postroom::cli {
namespace {

std::unique_ptr<store::Database> open_store(const Config& config) {
  std::filesystem::create_directories(config.data_dir);
  store::DatabaseOptions options;
  options.pool_size = config.db_pool_size;
  return store::open_database(config.database_url(), options);
}

boost::json::value optional_json(const std::optional<std::int64_t>& v) { return v ? boost::json::value(*v) : nullptr; }
boost::json::value optional_json(const std::optional<std::string>& v) { return v ? boost::json::value(*v) : nullptr; }

void print_block(std::ostream& out, const accounts::BootstrapResult& r, const Config& config, bool serving) {
  const HostPort smtp = parse_host_port_list(config.sandbox_smtp).at(0);
  out << "\n"
      << (r.created ? "Postroom bootstrapped a new installation:\n" : "Postroom issued a new admin API token:\n")
      << "  API / UI URL       " << config.effective_public_url() << "\n"
      << "  Organization ID    " << r.organization_id << "\n"
      << "  Account ID         " << r.account_id << "\n"
      << "  Admin API token    " << r.api_token << "   (shown only now; store it)\n";
  if (r.admin_password)
    out << "  Admin user         " << r.admin_email << " / " << *r.admin_password << "   (shown only now)\n";
  out << "  Web UI             " << config.effective_public_url() << "/   (sign in as the admin user " << r.admin_email
      << (r.admin_password ? " with the password above" : "") << ")\n";
  if (r.inbox_id) {
    out << "  Sandbox            \"My Sandbox\" (project " << r.project_id.value_or(0) << ", inbox " << *r.inbox_id
        << ")\n"
        << "  Sandbox SMTP       host " << smtp.host << "  port " << smtp.port << "  username "
        << r.smtp_username.value_or("") << "  password " << r.smtp_password.value_or("") << "\n";
    if (!config.sandbox.pop3.empty()) {
      const HostPort pop3 = parse_host_port_list(config.sandbox.pop3).at(0);
      out << "  Sandbox POP3       host " << pop3.host << "  port " << pop3.port
          << " (STLS)  the same username and password\n";
    }
  }
  if (!config.smtp.empty()) {
    const HostPort sending = parse_host_port_list(config.smtp).at(0);
    out << "  Sending SMTP       host " << sending.host << "  port " << sending.port
        << " (STARTTLS)  username api  password: the API token; sends from verified domains or "
        << config.domains.demo_domain << " (to your own address)\n";
  }
  out << "  Try it:            curl -H 'Authorization: Bearer " << r.api_token << "' " << config.effective_public_url()
      << "/api/accounts\n";
  if (!serving) out << "  Start the server:  postroom serve --data-dir " << config.data_dir << "\n";
  out << std::endl;
}

// Deletes tokens past their retention hourly; wakes early on shutdown.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

sending::DeliverySettings delivery_settings(const Config& config) {
  sending::DeliverySettings settings;
  settings.helo_name = config.domains.hostname;
  settings.source_address = config.sending.source_address;
  if (!config.sending.relay.empty()) {
    settings.relay = sending::parse_relay_url(config.sending.relay);
    if (!config.sending.relay.starts_with("smtps://")) settings.relay->tls = config.sending.relay_tls;
  }
  settings.retry_schedule.clear();
  for (const auto& item : split_list(config.sending.retry_schedule)) settings.retry_schedule.push_back(std::stoi(item));
  settings.require_tls_domains = split_list(config.sending.require_tls_domains);
  settings.max_in_flight = config.sending.max_in_flight;
  settings.max_per_site = config.sending.max_per_site;
  settings.site_rate_per_minute = config.sending.site_rate_per_minute;
  settings.hourly_limit = config.sending.hourly_limit;
  settings.daily_limit = config.sending.daily_limit;
  return settings;
}

// The DNS blocklists of sandbox blacklist reports: --blocklists FILE, or the built-in list.
std::vector<spamcheck::Blocklist> blocklists(const Config& config) {
  if (config.sandbox.blocklists.empty()) return spamcheck::default_blocklists();
  std::ifstream file(config.sandbox.blocklists, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  if (!file || file.bad()) throw std::runtime_error("cannot read the blocklists file " + config.sandbox.blocklists);
  try {
    return spamcheck::parse_blocklists(contents.str());
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(config.sandbox.blocklists + ": " + error.what());
  }
}

sending::SubmissionSettings submission_settings(const Config& config) {
  return {.max_connections_per_account = config.sending.max_connections_per_account,
          .max_messages_per_connection = config.sending.max_messages_per_connection,
          .max_message_size = static_cast<std::size_t>(config.sending.max_message_size),
          .allow_plaintext_auth = config.sending.allow_plaintext_auth};
}

// Hourly housekeeping: purges expired API tokens, web UI sessions and sandbox messages past their maximum age.
class Janitor {
 public:
  Janitor(accounts::AccountsService& accounts, accounts::SessionsService& sessions, sandbox::MessagesService& messages)
      : thread_([this, &accounts, &sessions, &messages] {
          std::unique_lock lock(mutex_);
          while (!stop_) {
            lock.unlock();
            try {
              if (int removed = accounts.purge_expired_tokens()) spdlog::info("purged {} expired API tokens", removed);
            } catch (const std::exception& e) {
              spdlog::warn("expired token purge failed: {}", e.what());
            }
            try {
              if (int removed = sessions.purge_expired()) spdlog::info("purged {} expired web UI sessions", removed);
            } catch (const std::exception& e) {
              spdlog::warn("expired session purge failed: {}", e.what());
            }
            try {
              if (int removed = messages.expire_old_messages())
                spdlog::info("deleted {} sandbox messages past their maximum age", removed);
            } catch (const std::exception& e) {
              spdlog::warn("sandbox message expiry failed: {}", e.what());
            }
            lock.lock();
            cv_.wait_for(lock, std::chrono::hours(1), [&] { return stop_; });
          }
        }) {}
  ~Janitor() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int run_admin_bootstrap(const Config& config, bool json) {
  configure_logging(config.log_level == "info" ? "warn" : config.log_level);
  auto db = open_store(config);
  const SystemClock clock;
  accounts::AccountsService accounts(*db, clock, config.plans);
  const accounts::BootstrapResult r = accounts.bootstrap(config.admin_email);
  if (json) {
    boost::json::object out;
    out["account_id"] = r.account_id;
    out["organization_id"] = r.organization_id;
    out["api_token"] = r.api_token;
    out["project_id"] = optional_json(r.project_id);
    out["inbox_id"] = optional_json(r.inbox_id);
    out["smtp_username"] = optional_json(r.smtp_username);
    out["smtp_password"] = optional_json(r.smtp_password);
    out["admin_email"] = r.admin_email;
    out["admin_password"] = optional_json(r.admin_password);
    std::cout << boost::json::serialize(out) << std::endl;
  } else {
    print_block(std::cout, r, config, false);
  }
  return 0;
}

int run_admin_create_user(const Config& config, const CreateUserOptions& options, bool json) {
  configure_logging(config.log_level == "info" ? "warn" : config.log_level);
  auto db = open_store(config);
  const SystemClock clock;
  accounts::AccountsService accounts(*db, clock, config.plans);
  if (!accounts.is_bootstrapped()) {
    std::cerr << "postroom: the store is empty; run `postroom serve` or `postroom admin bootstrap` first\n";
    return 1;
  }
  const std::int64_t account_id = options.account_id ? options.account_id : accounts.default_account_id();
  accounts::AccountsService::UserRequest request{options.email, options.name, options.password, options.level};
  accounts::AccountsService::UserGrantResult result;
  try {
    result = accounts.add_user(account_id, request);
  } catch (const NotFound&) {
    std::cerr << "postroom: no account " << account_id << "\n";
    return 1;
  } catch (const Forbidden&) {
    std::cerr << "postroom: the user owns the organization; its access cannot be changed\n";
    return 1;
  } catch (const ValidationError& e) {
    for (const auto& [field, messages] : e.errors)
      for (const auto& message : messages) std::cerr << "postroom: " << field << " " << message << "\n";
    return 1;
  }
  const std::string level = result.access_level >= accounts::level::admin ? "admin" : "viewer";
  if (json) {
    boost::json::object out{{"id", result.user.id},
                            {"email", result.user.email},
                            {"name", result.user.name},
                            {"account_id", account_id},
                            {"access_level", level},
                            {"created", result.created},
                            {"password", optional_json(result.generated_password)}};
    std::cout << boost::json::serialize(out) << std::endl;
  } else {
    std::cout << (result.created ? "Created user " : "Updated user ") << result.user.email << " (id " << result.user.id
              << "): " << level << " of account " << account_id << "\n";
    if (result.generated_password)
      std::cout << "  Password           " << *result.generated_password << "   (shown only now)\n";
    std::cout << "  Sign in at         " << config.effective_public_url() << "/" << std::endl;
  }
  return 0;
}

int run_serve(const Config& config) {
  configure_logging(config.log_level);
  // Block the stop signals in every thread; the main thread waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto db = open_store(config);
  Metrics metrics;
  db->set_observer([&metrics](bool is_write, double seconds) { metrics.observe_storage(is_write, seconds); });
  SystemClock clock;
  accounts::AccountsService accounts(*db, clock, config.plans);
  accounts::SessionsService sessions(*db, clock);
  spdlog::info("storage: {} (schema version {})", db->describe(), store::schema_version(*db));
  if (!accounts.is_bootstrapped()) print_block(std::cout, accounts.bootstrap(config.admin_email), config, true);

  http::Router router;
  sandbox::InboxesService inboxes(*db, clock, config);
  sandbox::EventHub sandbox_events;
  sandbox::MessagesService messages(*db, clock, config.sandbox, config.plans, sandbox_events);
  http::api::Services services{.accounts = accounts, .database = *db, .metrics = metrics, .inboxes = inboxes};
  services.messages = &messages;
  services.max_wait_seconds = config.sandbox.wait_max_seconds;
  services.sandbox_events = &sandbox_events;
  services.public_url = config.effective_public_url();
  email_templates::TemplatesService email_templates_service(*db, clock,
                                                            {.max_templates_per_account = config.max_email_templates});
  services.templates = &email_templates_service;
  sandbox::SystemMailbox system_mailbox(*db, inboxes, messages, config.domains.hostname);
  dns::ResolverOptions resolver_options;
  resolver_options.servers = dns::parse_server_list(config.domains.dns_server);
  const std::string key_file = config.domains.key_file.empty()
                                   ? (std::filesystem::path(config.data_dir) / "domain-keys.key").string()
                                   : config.domains.key_file;
  domains::DomainsService domains_service(
      *db, accounts, clock, config.domains, crypto::SecretBox::load_or_create(key_file),
      std::make_shared<dns::Resolver>(resolver_options), [&system_mailbox](const domains::SystemEmail& email) {
        system_mailbox.deliver(email.account_id, email.to, email.subject, email.text, email.html);
      });
  services.domains = &domains_service;
  sending::SendingService sending_service(
      *db, accounts, domains_service, &email_templates_service, clock,
      {.public_url = config.effective_public_url(),
       .bounce_host = config.domains.bounce_host.empty() ? config.domains.hostname : config.domains.bounce_host,
       .max_message_size = config.sending.max_message_size,
       .monthly_limit = config.plans.sending_message_limit});
  const sending::BounceClassifier classifier = config.sending.bounce_rules.empty()
                                                   ? sending::BounceClassifier::defaults()
                                                   : sending::BounceClassifier::from_file(config.sending.bounce_rules);
  sending::DeliveryEngine delivery(*db, domains_service, clock, delivery_settings(config),
                                   std::make_shared<dns::Resolver>(resolver_options), classifier);
  sending_service.on_enqueued([&delivery](const std::vector<std::int64_t>& ids) { delivery.enqueue(ids); });
  services.sending = &sending_service;
  sandbox::ForwardingSettings forwarding_settings;
  forwarding_settings.forward_domain = config.sandbox.forward_domain;
  forwarding_settings.public_url = config.effective_public_url();
  sandbox::ForwardingService forwarding(*db, clock, config.plans, forwarding_settings, messages, sandbox_events,
                                        std::make_shared<dns::Resolver>(resolver_options));
  forwarding.on_enqueued([&delivery](const std::vector<std::int64_t>& ids) { delivery.enqueue(ids); });
  services.forwarding = &forwarding;
  sandbox::AnalysisSettings analysis_settings;
  analysis_settings.spamd.address = config.sandbox.spamd;
  analysis_settings.lists = blocklists(config);
  sandbox::MessageAnalysis analysis(*db, clock, messages, analysis_settings,
                                    std::make_shared<dns::Resolver>(resolver_options));
  services.analysis = &analysis;
  services.sessions = &sessions;
  http::api::add_all_routes(router, services);
  RateLimiter rate_limiter(config.rate_limit_requests, config.rate_limit_window_seconds);
  http::Pipeline pipeline(router, *db, accounts, rate_limiter, metrics, &sessions);

  http::ServerOptions options;
  options.listen = parse_host_port_list(config.http);
  if (!config.https.empty()) {
    options.listen_tls = parse_host_port_list(config.https);
    const CertificatePaths certificate = ensure_certificate(config.data_dir, config.tls_cert, config.tls_key);
    options.tls_certificate = certificate.certificate;
    options.tls_private_key = certificate.private_key;
    if (certificate.generated) spdlog::info("HTTPS uses the self-signed certificate {}", certificate.certificate);
  }
  options.io_threads = config.io_threads;
  options.worker_threads = config.worker_threads;
  options.max_body_bytes = config.max_body_bytes;
  options.header_timeout_seconds = config.header_timeout_seconds;
  options.idle_timeout_seconds = config.idle_timeout_seconds;
  if (db->dialect() == store::Dialect::sqlite) {
    // SQLite reads are local and never wait for a commit; PostgreSQL reads wait on the network.
    options.run_inline = [&pipeline](http::Request& request) { return pipeline.classify(request); };
  }
  options.long_running = [&pipeline](const http::Request& request) { return pipeline.long_running(request); };
  http::Server server(options, [&pipeline](const http::Request& request) { return pipeline.handle(request); });
  sandbox::SmtpCapture capture(inboxes, messages, config.sandbox, db->dialect() == store::Dialect::sqlite);
  smtp::ServerOptions smtp_options;
  smtp_options.limits.hostname = inboxes.endpoints().smtp_host;
  smtp_options.limits.max_message_size = static_cast<std::size_t>(config.sandbox.max_message_size);
  smtp_options.limits.max_recipients = static_cast<std::size_t>(config.sandbox.smtp_max_recipients);
  smtp_options.limits.max_text_line = 0;  // a capture server keeps what real applications send, long lines too
  smtp_options.max_connections = config.sandbox.smtp_max_connections;
  smtp_options.max_connections_per_ip = config.sandbox.smtp_max_connections_per_ip;
  smtp_options.io_threads = config.io_threads;
  smtp_options.worker_threads = config.sandbox.smtp_worker_threads;
  smtp_options.tls = {config.tls_cert, config.tls_key, config.data_dir};
  smtp::add_listeners(smtp_options, config.sandbox_smtp, smtp::ListenerMode::starttls, capture, "sandbox");
  if (!config.sandbox.sandboxes_smtp_tls.empty())
    smtp::add_listeners(smtp_options, config.sandbox.sandboxes_smtp_tls, smtp::ListenerMode::implicit_tls, capture,
                        "sandbox-tls");
  smtp::Server smtp_server(smtp_options);
  for (const HostPort& bound : smtp_server.start()) spdlog::info("sandbox SMTP listening on {}", bound.to_string());
  // POP3 opens a sandbox with its SMTP credentials; like sandbox SMTP AUTH, login is allowed before STLS.
  sandbox::Pop3Mailbox pop3_mailbox(*db, inboxes, messages, clock, db->dialect() == store::Dialect::sqlite);
  pop3::ServerOptions pop3_options;
  pop3_options.backend = &pop3_mailbox;
  pop3_options.max_connections = config.sandbox.smtp_max_connections;
  pop3_options.max_connections_per_ip = config.sandbox.smtp_max_connections_per_ip;
  pop3_options.tls = {config.tls_cert, config.tls_key, config.data_dir};
  pop3::add_listeners(pop3_options, config.sandbox.pop3, pop3::ListenerMode::stls, "sandbox");
  pop3::add_listeners(pop3_options, config.sandbox.pop3s, pop3::ListenerMode::implicit_tls, "sandbox-tls");
  pop3::Server pop3_server(pop3_options);
  if (!pop3_options.listeners.empty()) {
    for (const HostPort& bound : pop3_server.start()) spdlog::info("sandbox POP3 listening on {}", bound.to_string());
  }
  sending::SmtpSubmission submission(accounts, sending_service, sending::Stream::transactional,
                                     submission_settings(config));
  sending::SmtpSubmission bulk_submission(accounts, sending_service, sending::Stream::bulk,
                                          submission_settings(config));
  smtp::ServerOptions submission_options;
  submission_options.limits.hostname = config.domains.hostname;
  submission_options.limits.max_message_size = static_cast<std::size_t>(config.sending.max_message_size);
  submission_options.limits.max_recipients = 1000;
  submission_options.max_connections = config.sandbox.smtp_max_connections;
  submission_options.max_connections_per_ip = config.sending.max_connections_per_ip;
  submission_options.io_threads = 1;
  submission_options.worker_threads = 16;
  submission_options.tls = {config.tls_cert, config.tls_key, config.data_dir};
  if (!config.smtp.empty())
    smtp::add_listeners(submission_options, config.smtp, smtp::ListenerMode::starttls, submission, "submission");
  if (!config.sending.smtps.empty())
    smtp::add_listeners(submission_options, config.sending.smtps, smtp::ListenerMode::implicit_tls, submission,
                        "submission-tls");
  if (!config.smtp_bulk.empty())
    smtp::add_listeners(submission_options, config.smtp_bulk, smtp::ListenerMode::starttls, bulk_submission, "bulk");
  sending::InboundMail inbound(sending_service, classifier, static_cast<std::size_t>(config.sending.max_message_size));
  if (!config.sending.bounce_smtp.empty())
    smtp::add_listeners(submission_options, config.sending.bounce_smtp, smtp::ListenerMode::starttls, inbound,
                        "bounces");
  smtp::Server submission_server(submission_options);
  for (const HostPort& bound : submission_server.start())
    spdlog::info("sending SMTP listening on {}", bound.to_string());
  // HTTP last: once /readyz answers, every listener is bound (a port in use has stopped the start by now).
  for (const HostPort& bound : server.start()) spdlog::info("listening on {}", bound.to_string());
  Janitor janitor(accounts, sessions, messages);
  domains_service.start();
  delivery.start();
  forwarding.start();
  std::cout << "Postroom is running: API/UI at " << config.effective_public_url() << " (Ctrl-C to stop)" << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("signal {} received: finishing in-flight requests (up to {} s)", received,
               config.shutdown_timeout_seconds);
  sandbox_events.close();  // wakes long-polling waiters so their requests finish
  smtp_server.shutdown(std::chrono::seconds(config.shutdown_timeout_seconds));
  pop3_server.shutdown(std::chrono::seconds(config.shutdown_timeout_seconds));
  submission_server.shutdown(std::chrono::seconds(config.shutdown_timeout_seconds));
  forwarding.stop();
  delivery.stop();
  domains_service.stop();
  server.shutdown(std::chrono::seconds(config.shutdown_timeout_seconds));
  server.wait();
  // Commit callbacks (deferred HTTP answers, SMTP replies, delivery scheduling) run on the storage's writer thread
  // and reference the services above. Two empty writes in a row: the second starts only after every callback of
  // the first's group has run, so none is left to outlive the services destroyed on return.
  db->write([](store::Tx&) {});
  db->write([](store::Tx&) {});
  spdlog::info("stopped");
  return 0;
}

}  // namespace postroom::cli
