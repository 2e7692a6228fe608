// The spamd client (src/spamcheck/spamd_client.*): the reply parser on replies recorded from spamd 4.0.1
// (tests/spamcheck/replies), scripted fake servers on loopback (garbage, stalls, resets), and the real spamd that
// tests/spamd.sh starts (Spamd*: needs POSTROOM_TEST_SPAMD_PORT and POSTROOM_TEST_SPAMD_SOCKET), checked against
// what spamc reports for the same messages.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "spamcheck/spamd_client.h"

using namespace postroom::spamcheck;
using Reason = Unavailable::Reason;
using namespace std::chrono_literals;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string recorded(const std::string& name) {
  return read_file(std::string(POSTROOM_SPAMCHECK_REPLIES_DIR) + "/" + name);
}

const SpamRule* find_rule(const SpamReport& report, const std::string& name) {
  for (const auto& rule : report.details) {
    if (rule.name == name) return &rule;
  }
  return nullptr;
}

// Runs the check and returns the reason it was refused (fails the test when it succeeds).
template <class F>
Reason unavailable_reason(F&& f, std::string* detail = nullptr) {
  try {
    f();
  } catch (const Unavailable& e) {
    if (detail) *detail = e.what();
    return e.reason();
  }
  ADD_FAILURE() << "expected Unavailable";
  return Reason::not_configured;
}

SpamdOptions options(std::string address, const std::function<void(SpamdOptions&)>& adjust = {}) {
  SpamdOptions o;
  o.address = std::move(address);
  if (adjust) adjust(o);
  return o;
}

constexpr const char* kGtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

std::string clean_message() {
  return "From: Alice Example <alice@example.org>\r\n"
         "To: Bob Example <bob@example.net>\r\n"
         "Subject: Minutes of Tuesday's meeting\r\n"
         "Date: Tue, 02 Jun 2026 10:15:00 +0000\r\n"
         "Message-ID: <minutes-2026-06-02.4711@example.org>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "\r\n"
         "Hi Bob,\r\n\r\nattached are the notes from Tuesday. We agreed to move the review to Thursday\r\n"
         "afternoon and to ask Carol for the updated figures before then.\r\n\r\nThanks,\r\nAlice\r\n";
}

std::string gtube_message() {
  return std::string(
             "From: Sender <sender@example.net>\r\nTo: Recipient <recipient@example.net>\r\n"
             "Subject: Test spam mail (GTUBE)\r\nMessage-ID: <GTUBE1.1010101@example.net>\r\n"
             "Date: Wed, 23 Jul 2003 23:30:00 +0200\r\n\r\nThis is the GTUBE.\r\n\r\n") +
         kGtube + "\r\n";
}

std::string spammy_message() {
  return "From: \"FREE MONEY\" <winner@lottery-example.com>\n"
         "To: undisclosed-recipients:;\n"
         "Subject: =?utf-8?B?RlJFRSBNT05FWSEhISBDTElDSyBIRVJFIE5PVyEhIQ==?=\n"
         "Date: Wed, 23 Jul 2003 23:30:00 +0200\n"
         "MIME-Version: 1.0\n"
         "Content-Type: text/html; charset=utf-8\n"
         "Reply-To: someone.else@gmail.com\n\n"
         "<html><body><p>DEAR FRIEND, YOU HAVE WON $1,000,000 USD!!! CLICK <a href=\"http://192.168.1.1/claim\">HERE"
         "</a> to claim your prize money now. 100% FREE, no risk, guaranteed. Act now, limited time offer.</p>"
         "</body></html>\n";
}

// The rule tests/spamd.sh adds to the private spamd: its description is long enough to be wrapped.
std::string wrapped_message() {
  return "From: a@example.com\nTo: b@example.com\nSubject: postroom-wrapped-description\n"
         "Message-ID: <1@example.com>\nDate: Wed, 23 Jul 2003 23:30:00 +0200\n\nHello there, a normal message.\n";
}
constexpr const char* kWrappedDescription =
    "A deliberately long rule description that SpamAssassin wraps over several lines of its report table";

}  // namespace

// ---- the reply parser on recorded replies ----

TEST(SpamdReply, GtubeReport) {
  const SpamReport r = parse_spamd_reply(recorded("gtube_report.txt"));
  EXPECT_EQ(r.response_code, 0);
  EXPECT_EQ(r.response_message, "EX_OK");
  EXPECT_EQ(r.response_version, "1.1");
  EXPECT_TRUE(r.spam);
  EXPECT_DOUBLE_EQ(r.score, 1000.0);
  EXPECT_DOUBLE_EQ(r.threshold, 5.0);
  EXPECT_EQ(r.score_text, "1000.0");
  ASSERT_EQ(r.details.size(), 3u);
  EXPECT_EQ(r.details[0], (SpamRule{"-0.0", "NO_RECEIVED", "Informational: message has no Received headers"}));
  EXPECT_EQ(r.details[1], (SpamRule{"-0.0", "NO_RELAYS", "Informational: message was not relayed via SMTP"}));
  EXPECT_EQ(r.details[2], (SpamRule{"1000", "GTUBE", "BODY: Generic Test for Unsolicited Bulk Email"}));
}

TEST(SpamdReply, WrappedDescriptionIsJoined) {
  const SpamReport r = parse_spamd_reply(recorded("wrapped_report.txt"));
  EXPECT_FALSE(r.spam);
  EXPECT_DOUBLE_EQ(r.score, 0.2);
  const SpamRule* rule = find_rule(r, "POSTROOM_WRAPPED_DESCRIPTION");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->points, "0.1");
  EXPECT_EQ(rule->description, kWrappedDescription);
  // The rows after the wrapped one are still rows.
  ASSERT_NE(find_rule(r, "TRACKER_ID"), nullptr);
  EXPECT_EQ(find_rule(r, "TRACKER_ID")->description, "BODY: Incorporates a tracking ID number");
}

TEST(SpamdReply, ManyRulesAndLongRuleNames) {
  const SpamReport r = parse_spamd_reply(recorded("spammy_report.txt"));
  EXPECT_TRUE(r.spam);
  EXPECT_DOUBLE_EQ(r.score, 17.0);
  EXPECT_EQ(r.details.size(), 20u);
  // Longer than the 22-column name field: one space, then the description.
  const SpamRule* rule = find_rule(r, "FREEMAIL_FORGED_REPLYTO");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->points, "1.2");
  EXPECT_EQ(rule->description, "Freemail in Reply-To, but not From");
  ASSERT_NE(find_rule(r, "ADVANCE_FEE_3_NEW_MONEY"), nullptr);
  EXPECT_EQ(find_rule(r, "US_DOLLARS_3")->description, "BODY: Mentions millions of $ ($NN,NNN,NNN.NN)");
  // The points add up to the score (each printed with one decimal).
  double sum = 0;
  for (const auto& d : r.details) sum += std::stod(d.points);
  EXPECT_NEAR(sum, r.score, 0.05 * static_cast<double>(r.details.size()));
}

TEST(SpamdReply, CheckAndSymbolsHaveNoTable) {
  const SpamReport check = parse_spamd_reply(recorded("gtube_check.txt"));
  EXPECT_TRUE(check.spam);
  EXPECT_DOUBLE_EQ(check.score, 1000.0);
  EXPECT_TRUE(check.details.empty());
  const SpamReport symbols = parse_spamd_reply(recorded("gtube_symbols.txt"));
  EXPECT_TRUE(symbols.details.empty());
  EXPECT_DOUBLE_EQ(symbols.threshold, 5.0);
}

TEST(SpamdReply, NonZeroCodeIsScannerError) {
  std::string detail;
  EXPECT_EQ(unavailable_reason([] { parse_spamd_reply(recorded("bad_header.txt")); }, &detail), Reason::scanner_error);
  EXPECT_NE(detail.find("76"), std::string::npos) << detail;
  EXPECT_EQ(unavailable_reason([] { parse_spamd_reply(recorded("unknown_command.txt")); }), Reason::scanner_error);
}

TEST(SpamdReply, RuleLogLinesJoinTheDescription) {
  // SpamAssassin's layout of rule log messages: "%27s [%s]" and, for long ones, "%78s".
  const std::string table =
      " pts rule name              description\n"
      "---- ---------------------- --------------------------------------------------\n"
      " 1.7 URIBL_BLACK            Contains an URL listed in the URIBL blacklist\n"
      "                            [URIs: example.com]\n"
      " 0.0 BAYES_50               BODY: Bayes spam probability is 40 to 60%\n"
      "                            [score: 0.5000]\n"
      " 0.1 LONG_LOG               Something\n"
      "[https://very-long-host-name.example.com/a/very/long/path/that/does/not/wrap/at/all]\n"
      "-100 USER_IN_WELCOMELIST    From: user is listed in the welcome list\n"
      "\n"
      " 9.9 AFTER_BLANK            not part of the table\n";
  const auto rules = parse_report_table(table);
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[0].description, "Contains an URL listed in the URIBL blacklist [URIs: example.com]");
  EXPECT_EQ(rules[1].description, "BODY: Bayes spam probability is 40 to 60% [score: 0.5000]");
  EXPECT_EQ(rules[2].description,
            "Something [https://very-long-host-name.example.com/a/very/long/path/that/does/not/wrap/at/all]");
  EXPECT_EQ(rules[3], (SpamRule{"-100", "USER_IN_WELCOMELIST", "From: user is listed in the welcome list"}));
}

TEST(SpamdReply, TextIsAlwaysValidUtf8) {
  // Older localized rule files are Latin-1: such bytes are read as Latin-1, valid UTF-8 is kept as it is.
  const std::string table =
      "---- ---------------------- ------\n"
      " 1.2 FREEMAIL_FORGED_REPLYTO Freemail dans Reply-To, mais pas dans From \xe9t\xe9\n"
      " 0.1 UTF8_RULE              d\xc3\xa9j\xc3\xa0 vu \xe2\x82\xac \xed\xa0\x80\n";
  const auto rules = parse_report_table(table);
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].description, "Freemail dans Reply-To, mais pas dans From \xc3\xa9t\xc3\xa9");
  // A UTF-16 surrogate encoded in UTF-8 is not UTF-8: its bytes are read as Latin-1.
  EXPECT_EQ(rules[1].description, "d\xc3\xa9j\xc3\xa0 vu \xe2\x82\xac \xc3\xad\xc2\xa0\xc2\x80");
  SpamReport report;
  report.details = rules;
  EXPECT_NO_THROW(boost::json::parse(to_json_text(report)));
}

TEST(SpamdReply, RejectsWhatIsNotAVerdict) {
  const std::vector<std::string> bad = {
      "",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
      "SPAMD/1.1 0 EX_OK\r\n\r\n",                                                        // no Spam header
      "SPAMD/1.1 0 EX_OK\r\nSpam: Maybe ; 1 / 5\r\n\r\n",                                 // not a boolean
      "SPAMD/1.1 0 EX_OK\r\nSpam: True ; abc / 5.0\r\n\r\n",                              // not a number
      "SPAMD/1.1 0 EX_OK\r\nSpam: True ; .5 / 5.0\r\n\r\n",                               // not a JSON number
      "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1e999 / 5.0\r\n\r\n",                            // not finite
      "SPAMD/1.1 0 EX_OK\r\nSpam: True 1 5\r\n\r\n",                                      // no separators
      "SPAMD/1.1 0 EX_OK\r\nContent-length: 100\r\nSpam: True ; 1.0 / 5.0\r\n\r\nshort",  // cut short
      "SPAMD/1.1 0 EX_OK\r\nContent-length: -1\r\nSpam: True ; 1.0 / 5.0\r\n\r\n",
      "SPAMD/x 0 EX_OK\r\nSpam: True ; 1.0 / 5.0\r\n\r\n",
      "SPAMD/1.1 zero EX_OK\r\nSpam: True ; 1.0 / 5.0\r\n\r\n",
      "SPAMD/1.1\r\n\r\n",
      "SPAMD/1.1 0 EX_OK\r\nno colon here\r\n\r\n",
  };
  for (const auto& reply : bad) {
    EXPECT_EQ(unavailable_reason([&] { parse_spamd_reply(reply); }), Reason::protocol_error) << reply;
  }
  // Tolerated: bare LF, unknown headers, any header case, no Content-length, Yes/No flags.
  const SpamReport r = parse_spamd_reply("SPAMD/1.5 0 EX_OK\nX-Other: 1\nspam: yes ; 15 / 5\n\n");
  EXPECT_TRUE(r.spam);
  EXPECT_EQ(r.response_version, "1.5");
  EXPECT_DOUBLE_EQ(r.score, 15);
}

TEST(SpamdReply, JsonMatchesMailtrapCassette) {
  // The recorded Mailtrap answer (cassettes/Mailtrap_SandboxMessagesAPI/_spam_score/returns_report.yml).
  const std::string expected =
      R"({"report":{"ResponseCode":0,"ResponseMessage":"EX_OK","ResponseVersion":"1.1","Score":0.1,"Spam":false,)"
      R"("Threshold":5.0,"Details":[{"Pts":"0.1","RuleName":"MISSING_MID","Description":"Missing Message-Id: header"},)"
      R"({"Pts":"0.0","RuleName":"HTML_MESSAGE","Description":"BODY: HTML included in message"}]}})";
  const std::string body =
      "Spam detection software ...\n\nContent analysis details:   (0.1 points, 5.0 required)\n\n"
      " pts rule name              description\n"
      "---- ---------------------- --------------------------------------------------\n"
      " 0.1 MISSING_MID            Missing Message-Id: header\n"
      " 0.0 HTML_MESSAGE           BODY: HTML included in message\n\n";
  const SpamReport r = parse_spamd_reply("SPAMD/1.1 0 EX_OK\r\nContent-length: " + std::to_string(body.size()) +
                                         "\r\nSpam: False ; 0.1 / 5.0\r\n\r\n" + body);
  EXPECT_EQ(to_json_text(r), expected);
  // The object form carries the same values.
  EXPECT_EQ(boost::json::value(boost::json::object{{"report", to_json(r)}}), boost::json::parse(expected));
}

TEST(SpamdReply, JsonEscapesHostileText) {
  SpamReport r;
  r.response_message = "EX_OK";
  r.response_version = "1.1";
  r.score_text = "not a number";  // falls back to the double
  r.score = 2.5;
  r.threshold_text = "5.0";
  r.threshold = 5;
  r.details.push_back({"0.1", "RULE", "quote \" backslash \\ newline \n </script>"});
  const auto parsed = boost::json::parse(to_json_text(r));
  EXPECT_EQ(parsed.at("report").at("Details").at(0).at("Description").as_string(),
            "quote \" backslash \\ newline \n </script>");
  EXPECT_DOUBLE_EQ(parsed.at("report").at("Score").to_number<double>(), 2.5);
}

// ---- configuration ----

TEST(SpamdClientConfig, AddressesAndNotConfigured) {
  EXPECT_FALSE(SpamdClient(SpamdOptions{}).configured());
  EXPECT_EQ(unavailable_reason([] { SpamdClient(SpamdOptions{}).check("Subject: x\r\n\r\nx"); }),
            Reason::not_configured);
  for (const char* good : {"127.0.0.1:783", "localhost", "[::1]:783", "[::1]", "spamd.internal:1783", "unix:/run/s"}) {
    EXPECT_NO_THROW((void)SpamdClient(options(good))) << good;
  }
  const std::string long_socket = "unix:/" + std::string(200, 's');
  for (const char* bad :
       {"host:", "host:0", "host:65536", "host:x", "::1:783", "unix:", "[::1", "[::1]x", ":783", long_socket.c_str()}) {
    EXPECT_THROW((void)SpamdClient(options(bad)), std::invalid_argument) << bad;
  }
  EXPECT_THROW((void)SpamdClient(options("127.0.0.1:783", [](SpamdOptions& o) { o.user = "bad\r\nUser: x"; })),
               std::invalid_argument);
}

// ---- scripted fake servers on loopback ----

namespace {

// Accepts connections on a free loopback port and runs `serve(fd)` for each, on its own thread.
class FakeServer {
 public:
  explicit FakeServer(std::function<void(int)> serve) : serve_(std::move(serve)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 8) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("fake server: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        const int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0 || stopping_) {
          if (fd >= 0) ::close(fd);
          return;
        }
        serve_(fd);
        ::close(fd);
      }
    });
  }
  ~FakeServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::function<void(int)> serve_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Reads the request until the client half-closes (or 2 s pass).
std::string read_request(int fd) {
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string request;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    request.append(buffer, static_cast<std::size_t>(n));
  }
  return request;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

int closed_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // nothing listens there now
  return ntohs(addr.sin_port);
}

}  // namespace

TEST(SpamdClientFake, SendsTheSpamcRequest) {
  std::string request;
  FakeServer server([&](int fd) {
    request = read_request(fd);
    send_all(fd, "SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.0 / 5.0\r\n\r\n");
  });
  const std::string message = "Subject: hi\r\n\r\nbody\r\n";
  const SpamReport r = SpamdClient(options(server.address(), [](SpamdOptions& o) { o.user = "alice"; })).check(message);
  EXPECT_FALSE(r.spam);
  EXPECT_EQ(request, "REPORT SPAMC/1.5\r\nContent-length: " + std::to_string(message.size()) +
                         "\r\nUser: alice\r\n\r\n" + message);
}

TEST(SpamdClientFake, TruncatesAtALineBreak) {
  std::string request;
  FakeServer server([&](int fd) {
    request = read_request(fd);
    send_all(fd, "SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.0 / 5.0\r\n\r\n");
  });
  std::string message = "Subject: big\r\n\r\n";
  while (message.size() < 5000) message += "0123456789 line of the body\r\n";
  const SpamReport r =
      SpamdClient(options(server.address(), [](SpamdOptions& o) { o.max_size = 1000; })).check(message);
  EXPECT_TRUE(r.truncated);
  EXPECT_LE(r.scanned_bytes, 1000u);
  EXPECT_GT(r.scanned_bytes, 950u);
  const std::string sent = request.substr(request.find("\r\n\r\n") + 4);
  EXPECT_EQ(sent, message.substr(0, r.scanned_bytes));
  EXPECT_EQ(sent.back(), '\n');
  EXPECT_NE(request.find("Content-length: " + std::to_string(r.scanned_bytes) + "\r\n"), std::string::npos);
}

TEST(SpamdClientFake, GarbageIsAProtocolError) {
  FakeServer server([](int fd) {
    read_request(fd);
    send_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  });
  std::string detail;
  EXPECT_EQ(unavailable_reason([&] { SpamdClient(options(server.address())).check("x"); }, &detail),
            Reason::protocol_error);
  EXPECT_NE(detail.find("not a spamd reply"), std::string::npos) << detail;
}

TEST(SpamdClientFake, ClosingWithoutAReplyIsAProtocolError) {
  FakeServer server([](int fd) { read_request(fd); });
  EXPECT_EQ(unavailable_reason([&] { SpamdClient(options(server.address())).check("x"); }), Reason::protocol_error);
}

TEST(SpamdClientFake, OversizedReplyIsRefused) {
  FakeServer server([](int fd) {
    read_request(fd);
    send_all(fd, "SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.0 / 5.0\r\n\r\n");
    const std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 24; ++i) send_all(fd, chunk);
  });
  std::string detail;
  EXPECT_EQ(unavailable_reason([&] { SpamdClient(options(server.address())).check("x"); }, &detail),
            Reason::protocol_error);
  EXPECT_NE(detail.find("exceeds"), std::string::npos) << detail;
}

TEST(SpamdClientFake, StalledServerTimesOut) {
  std::atomic<bool> release{false};
  FakeServer server([&](int fd) {
    read_request(fd);
    while (!release) std::this_thread::sleep_for(10ms);  // never answers
  });
  const auto start = std::chrono::steady_clock::now();
  std::string detail;
  EXPECT_EQ(unavailable_reason(
                [&] { SpamdClient(options(server.address(), [](SpamdOptions& o) { o.timeout = 500ms; })).check("x"); },
                &detail),
            Reason::timeout);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  release = true;
  EXPECT_GE(elapsed, 450ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_NE(detail.find("reply"), std::string::npos) << detail;
}

TEST(SpamdClientFake, SlowDripIsBoundedByTheTotalDeadline) {
  std::atomic<bool> release{false};
  FakeServer server([&](int fd) {
    read_request(fd);
    // A byte every 100 ms: each read makes progress, the whole exchange must still end at the deadline.
    const std::string reply = "SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.0 / 5.0\r\n\r\n";
    for (char c : reply) {
      if (release) return;
      send_all(fd, std::string_view(&c, 1));
      std::this_thread::sleep_for(100ms);
    }
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(unavailable_reason(
                [&] { SpamdClient(options(server.address(), [](SpamdOptions& o) { o.timeout = 700ms; })).check("x"); }),
            Reason::timeout);
  release = true;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(SpamdClientFake, UnreachableFailsQuickly) {
  const auto start = std::chrono::steady_clock::now();
  const std::string address = "127.0.0.1:" + std::to_string(closed_loopback_port());
  std::string detail;
  EXPECT_EQ(unavailable_reason([&] { SpamdClient(options(address)).check("x"); }, &detail), Reason::unreachable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_NE(detail.find(address), std::string::npos) << detail;
  EXPECT_EQ(unavailable_reason([] { SpamdClient(options("unix:/nonexistent/postroom/spamd.sock")).check("x"); }),
            Reason::unreachable);
  EXPECT_EQ(unavailable_reason([&] { SpamdClient(options(address)).ping(); }), Reason::unreachable);
}

// ---- the real spamd (tests/spamd.sh) ----

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::array<char, 4096> buffer;
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  ::pclose(pipe);
  return out;
}

class Spamd : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = env("POSTROOM_TEST_SPAMD_PORT");
    socket_ = env("POSTROOM_TEST_SPAMD_SOCKET");
    if (port_.empty() || socket_.empty()) {
      // ctest always starts the private spamd for these tests: a missing address is a broken setup, not a skip.
      FAIL() << "POSTROOM_TEST_SPAMD_PORT/SOCKET not set (ctest starts spamd via tests/spamd.sh)";
    }
  }
  SpamdClient tcp_client() const { return SpamdClient(options("127.0.0.1:" + port_)); }

  // What spamc reports for the same message: "score/threshold" (-c) and the rule names (-y, SYMBOLS).
  struct SpamcVerdict {
    double score = 0, threshold = 0;
    std::set<std::string> rules;
  };
  SpamcVerdict spamc(const std::string& message) const {
    char path[] = "/tmp/postroom-spamc-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) throw std::runtime_error("mkstemp");
    const bool written = ::write(fd, message.data(), message.size()) == static_cast<ssize_t>(message.size());
    ::close(fd);
    if (!written) throw std::runtime_error("cannot write the message file");
    const std::string spamc_base = "spamc -d 127.0.0.1 -p " + port_;
    const std::string check = run(spamc_base + " -c < " + path);
    const std::string symbols = run(spamc_base + " -y < " + path);
    ::unlink(path);
    SpamcVerdict verdict;
    if (std::sscanf(check.c_str(), "%lf/%lf", &verdict.score, &verdict.threshold) != 2) {
      throw std::runtime_error("unexpected spamc -c output: " + check);
    }
    std::stringstream names(symbols.substr(0, symbols.find('\n')));
    for (std::string name; std::getline(names, name, ',');) {
      if (!name.empty()) verdict.rules.insert(name);
    }
    return verdict;
  }

  std::string port_, socket_;
};

}  // namespace

TEST_F(Spamd, AnswersPingAndPrintsItsVersion) {
  const std::string version = run("/usr/sbin/spamd --version 2>&1");
  std::printf("spamd under test: %s", version.substr(0, version.find('\n') + 1).c_str());
  EXPECT_NE(version.find("SpamAssassin Server version"), std::string::npos) << version;
  EXPECT_EQ(tcp_client().ping(), "1.5");
  EXPECT_EQ(SpamdClient(options("unix:" + socket_)).ping(), "1.5");
}

TEST_F(Spamd, CleanMessageIsNotSpam) {
  const SpamReport r = tcp_client().check(clean_message());
  EXPECT_EQ(r.response_code, 0);
  EXPECT_EQ(r.response_message, "EX_OK");
  EXPECT_EQ(r.response_version, "1.1");
  EXPECT_FALSE(r.spam);
  EXPECT_LT(r.score, 5.0);
  EXPECT_DOUBLE_EQ(r.threshold, 5.0);
  EXPECT_FALSE(r.truncated);
  ASSERT_FALSE(r.details.empty());
  const std::regex points(R"(-?[0-9]+(\.[0-9])?)");
  for (const auto& rule : r.details) {
    EXPECT_TRUE(std::regex_match(rule.points, points)) << rule.points;
    EXPECT_FALSE(rule.description.empty()) << rule.name;
  }
  EXPECT_NE(find_rule(r, "NO_RECEIVED"), nullptr);
  EXPECT_EQ(find_rule(r, "GTUBE"), nullptr);
}

TEST_F(Spamd, GtubeIsSpam) {
  const SpamReport r = tcp_client().check(gtube_message());
  EXPECT_TRUE(r.spam);
  EXPECT_GE(r.score, 1000.0);
  const SpamRule* gtube = find_rule(r, "GTUBE");
  ASSERT_NE(gtube, nullptr);
  EXPECT_EQ(gtube->points, "1000");
  EXPECT_EQ(gtube->description, "BODY: Generic Test for Unsolicited Bulk Email");
  const auto json = boost::json::parse(to_json_text(r));
  EXPECT_EQ(json.at("report").at("Spam").as_bool(), true);
}

TEST_F(Spamd, AgreesWithSpamc) {
  for (const auto& message : {clean_message(), gtube_message(), spammy_message(), wrapped_message()}) {
    const SpamReport r = tcp_client().check(message);
    const SpamcVerdict expected = spamc(message);
    EXPECT_DOUBLE_EQ(r.score, expected.score) << message;
    EXPECT_DOUBLE_EQ(r.threshold, expected.threshold);
    std::set<std::string> names;
    for (const auto& rule : r.details) names.insert(rule.name);
    EXPECT_EQ(names, expected.rules) << message;
  }
}

TEST_F(Spamd, WrappedDescriptionComesBackWhole) {
  const SpamReport r = tcp_client().check(wrapped_message());
  const SpamRule* rule = find_rule(r, "POSTROOM_WRAPPED_DESCRIPTION");
  ASSERT_NE(rule, nullptr) << "tests/spamd.sh adds this rule";
  EXPECT_EQ(rule->description, kWrappedDescription);
  EXPECT_EQ(rule->points, "0.1");
}

TEST_F(Spamd, UnixSocket) {
  const SpamReport r = SpamdClient(options("unix:" + socket_)).check(gtube_message());
  EXPECT_TRUE(r.spam);
  EXPECT_NE(find_rule(r, "GTUBE"), nullptr);
}

TEST_F(Spamd, TruncatedMessageIsScannedUpToTheLimit) {
  // GTUBE after the cut is not seen; the verdict is still a real one.
  std::string message = clean_message();
  while (message.size() < 20000) message += "Some more perfectly ordinary text for the body of this message.\r\n";
  message += std::string(kGtube) + "\r\n";
  const SpamReport r =
      SpamdClient(options("127.0.0.1:" + port_, [](SpamdOptions& o) { o.max_size = 10000; })).check(message);
  EXPECT_TRUE(r.truncated);
  EXPECT_LE(r.scanned_bytes, 10000u);
  EXPECT_EQ(find_rule(r, "GTUBE"), nullptr);
  EXPECT_FALSE(r.spam);
  const SpamReport whole = tcp_client().check(message);
  EXPECT_FALSE(whole.truncated);
  EXPECT_NE(find_rule(whole, "GTUBE"), nullptr);
}

TEST_F(Spamd, UserHeaderAndConcurrentChecks) {
  const SpamdClient client(options("127.0.0.1:" + port_, [](SpamdOptions& o) { o.user = "nobody"; }));
  std::vector<std::thread> threads;
  std::atomic<int> spam{0}, ham{0}, failed{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      try {
        const SpamReport r = client.check(i % 2 ? gtube_message() : clean_message());
        (r.spam ? spam : ham)++;
      } catch (const std::exception&) {
        failed++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(spam, 3);
  EXPECT_EQ(ham, 3);
}
