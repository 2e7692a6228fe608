// A real smtp::Server with an in-memory backend, for protocol tests with real clients
// (tests/integration/test_smtp_protocol.py). Prints the bound ports as one JSON line, then serves until
// SIGTERM/SIGINT and shuts down gracefully.
//
// Backend rules: login user/pass (CRAM-MD5 secret "pass"); listener "auth" requires AUTH, the others do not.
// Magic recipients: reject@… 550 from the backend, tempfail@… 451, small@… lowers the size limit to 100
// octets, slow@… makes delivery take 1 s, faildeliver@… makes delivery fail with 554. Accepted messages are
// written to <dir>/messages/<n>.eml with the envelope in <n>.json.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "smtp/server.h"

using namespace postroom;
using namespace postroom::smtp;

namespace {

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

struct TestBackend : SmtpBackend {
  std::filesystem::path dir;
  std::atomic<int> counter{0};

  SessionPolicy session_policy(const ConnectionInfo& connection) override {
    SessionPolicy policy;
    policy.auth_required = connection.listener == "auth";
    return policy;
  }

  AuthResult authenticate(const AuthAttempt& attempt) override {
    const bool ok =
        attempt.username == "user" &&
        (attempt.mechanism == AuthMechanism::cram_md5 ? verify_cram_md5(attempt, "pass") : attempt.password == "pass");
    if (!ok) return AuthResult::reject({535, "5.7.0", "Invalid login or password"});
    return AuthResult::accept(std::make_shared<std::string>(attempt.username));
  }

  Reply mail_from(Transaction&) override { return Reply::ok(); }

  Reply rcpt_to(Transaction& transaction, const Address& recipient) override {
    const std::string& local = recipient.local_part;
    if (local == "reject") return {550, "5.1.1", "Mailbox unavailable (test backend)"};
    if (local == "tempfail") return {451, "4.2.0", "Try again later (test backend)"};
    if (local == "small") transaction.max_message_size = 100;
    return Reply::ok();
  }

  Reply deliver(const Transaction& transaction, std::string message) override {
    for (const auto& rcpt : transaction.recipients) {
      if (rcpt.local_part == "slow") std::this_thread::sleep_for(std::chrono::seconds(1));
      if (rcpt.local_part == "faildeliver") return {554, "5.6.0", "Delivery failed (test backend)"};
    }
    const int n = ++counter;
    const auto base = dir / std::to_string(n);
    {
      std::ofstream eml(base.string() + ".eml.tmp", std::ios::binary);
      eml << message;
    }
    std::string envelope = "{\"mail_from\":" + json_string(transaction.mail_from.text()) + ",\"rcpt_to\":[";
    for (std::size_t i = 0; i < transaction.recipients.size(); ++i) {
      if (i > 0) envelope += ',';
      envelope += json_string(transaction.recipients[i].text());
    }
    envelope += "],\"helo\":" + json_string(transaction.helo) + ",\"tls\":" + (transaction.tls ? "true" : "false");
    envelope += ",\"user\":" + (transaction.identity ? json_string(transaction.identity->username) : "null");
    envelope +=
        ",\"mechanism\":" +
        (transaction.identity ? json_string(std::string(mechanism_name(transaction.identity->mechanism))) : "null");
    envelope += ",\"smtputf8\":" + std::string(transaction.params.smtputf8 ? "true" : "false");
    envelope += ",\"body\":" + std::to_string(static_cast<int>(transaction.params.body)) + "}";
    {
      std::ofstream json(base.string() + ".json");
      json << envelope;
    }
    // The .eml appears last, complete, so a test polling for it never sees a partial file.
    std::filesystem::rename(base.string() + ".eml.tmp", base.string() + ".eml");
    return {250, "2.0.0", "Ok: queued as " + std::to_string(n)};
  }
};

int int_arg(int argc, char** argv, const std::string& name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return std::atoi(argv[i + 1]);
  return fallback;
}

std::string string_arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return argv[i + 1];
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path dir = string_arg(argc, argv, "--dir", "./smtp-test");
  std::filesystem::create_directories(dir / "messages");

  // Signals are taken by sigwait below; block them before the server's threads start.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  TestBackend backend;
  backend.dir = dir / "messages";
  ServerOptions options;
  options.limits.hostname = "postroom.test";
  options.limits.max_message_size = static_cast<std::size_t>(int_arg(argc, argv, "--max-size", 1024 * 1024));
  options.limits.max_recipients = static_cast<std::size_t>(int_arg(argc, argv, "--max-recipients", 5));
  options.limits.max_errors = int_arg(argc, argv, "--max-errors", 5);
  options.limits.max_messages = int_arg(argc, argv, "--max-messages", 0);
  options.max_connections = int_arg(argc, argv, "--max-connections", 100);
  options.max_connections_per_ip = int_arg(argc, argv, "--max-connections-per-ip", 50);
  options.command_timeout_seconds = int_arg(argc, argv, "--command-timeout", 30);
  options.data_timeout_seconds = int_arg(argc, argv, "--data-timeout", 30);
  options.io_threads = 2;
  options.worker_threads = 4;
  options.tls.data_dir = dir.string();
  add_listeners(options, "127.0.0.1:0", ListenerMode::starttls, backend, "open");
  add_listeners(options, "127.0.0.1:0", ListenerMode::starttls, backend, "auth");
  add_listeners(options, "127.0.0.1:0", ListenerMode::implicit_tls, backend, "auth");
  add_listeners(options, "127.0.0.1:0", ListenerMode::plain, backend, "open");

  Server server(options);
  const auto bound = server.start();
  std::cout << "{\"starttls\":" << bound[0].port << ",\"auth\":" << bound[1].port
            << ",\"implicit_tls\":" << bound[2].port << ",\"plain\":" << bound[3].port
            << ",\"cert\":" << json_string((dir / "tls" / "cert.pem").string()) << "}" << std::endl;

  int signal = 0;
  sigwait(&signals, &signal);
  const int grace = int_arg(argc, argv, "--grace-ms", 5000);
  server.shutdown(std::chrono::milliseconds(grace));
  std::cout << server.render_metrics() << "stopped" << std::endl;
  return 0;
}
