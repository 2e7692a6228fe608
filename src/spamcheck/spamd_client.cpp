#include "spamcheck/spamd_client.h"

#include <sys/un.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

namespace postroom::spamcheck {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Reason = Unavailable::Reason;

std::string_view to_string(Unavailable::Reason reason) {
  switch (reason) {
    case Reason::not_configured:
      return "not_configured";
    case Reason::unreachable:
      return "unreachable";
    case Reason::timeout:
      return "timeout";
    case Reason::protocol_error:
      return "protocol_error";
    case Reason::scanner_error:
      return "scanner_error";
  }
  return "unavailable";
}

namespace {

// A REPORT reply is a few kilobytes; anything far larger is not spamd.
constexpr std::size_t kMaxReplyBytes = 1 << 20;
constexpr std::string_view kProtocol = "SPAMC/1.5";

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_space(s.front()) || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
         });
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Splits on '\n', dropping one trailing '\r' per line.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

// The JSON number grammar (RFC 8259 §6), so the text can be written into a JSON document as is.
bool is_json_number(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !is_digit(s[i])) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (i >= s.size() || !is_digit(s[i])) return false;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !is_digit(s[i])) return false;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  return i == s.size() && s.size() <= 32;
}

std::optional<double> parse_number(std::string_view s) {
  if (!is_json_number(s)) return std::nullopt;
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// "pts" column: "0.1", "-0.0", "1000", "-100".
bool is_points(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty() || !is_digit(s.front())) return false;
  bool dot = false;
  for (char c : s) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (!is_digit(c)) {
      return false;
    }
  }
  return s.back() != '.';
}

bool is_rule_name(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '.' || c == '-';
  });
}

// The line under the table heading: groups of dashes ("---- ------ -----").
bool is_dashes_line(std::string_view line) {
  line = trim(line);
  if (line.size() < 3 || line.front() != '-') return false;
  int groups = 0;
  char previous = ' ';
  for (char c : line) {
    if (c != '-' && !is_space(c)) return false;
    if (c == '-' && previous != '-') ++groups;
    previous = c;
  }
  return groups >= 2;
}

[[noreturn]] void protocol_error(const std::string& detail) { throw Unavailable(Reason::protocol_error, detail); }

// For error messages: printable ASCII only.
std::string printable(std::string_view s, std::size_t limit = 80) {
  std::string out;
  for (char c : s.substr(0, limit)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > limit) out += "...";
  return out;
}

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, surrogates or > U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  std::size_t length = 0;
  unsigned char min1 = 0x80, max1 = 0xBF;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) min1 = 0xA0;
    if (b0 == 0xED) max1 = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) min1 = 0x90;
    if (b0 == 0xF4) max1 = 0x8F;
  } else {
    return 0;
  }
  if (i + length > s.size() || byte(i + 1) < min1 || byte(i + 1) > max1) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

// Report text as valid UTF-8 (the JSON must be): bytes that are not UTF-8 are read as Latin-1, the encoding of
// older localized rule descriptions.
std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (const std::size_t length = utf8_sequence(s, i)) {
      out.append(s.substr(i, length));
      i += length;
    } else {
      const auto c = static_cast<unsigned char>(s[i++]);
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

struct StatusLine {
  std::string version;
  int code = 0;
  std::string message;
};

// "SPAMD/1.1 0 EX_OK"
StatusLine parse_status_line(std::string_view line) {
  constexpr std::string_view prefix = "SPAMD/";
  if (line.substr(0, prefix.size()) != prefix) protocol_error("not a spamd reply: \"" + printable(line) + "\"");
  line.remove_prefix(prefix.size());
  const auto space = line.find(' ');
  StatusLine status;
  status.version = std::string(line.substr(0, space));
  const auto dot = status.version.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == status.version.size() || status.version.size() > 8 ||
      !std::all_of(status.version.begin(), status.version.end(), [](char c) { return is_digit(c) || c == '.'; })) {
    protocol_error("bad protocol version in \"SPAMD/" + printable(line) + "\"");
  }
  if (space == std::string_view::npos) protocol_error("no response code in \"SPAMD/" + printable(line) + "\"");
  std::string_view rest = line.substr(space + 1);
  const auto code_end = rest.find(' ');
  const std::string_view code = rest.substr(0, code_end);
  auto [ptr, ec] = std::from_chars(code.data(), code.data() + code.size(), status.code);
  if (code.empty() || code.size() > 4 || ec != std::errc() || ptr != code.data() + code.size() || status.code < 0) {
    protocol_error("bad response code in \"SPAMD/" + printable(line) + "\"");
  }
  status.message = code_end == std::string_view::npos ? std::string() : valid_utf8(trim(rest.substr(code_end + 1)));
  return status;
}

}  // namespace

std::vector<SpamRule> parse_report_table(std::string_view report_text) {
  const auto lines = split_lines(report_text);
  std::size_t row = 0;
  while (row < lines.size() && !is_dashes_line(lines[row])) ++row;
  std::vector<SpamRule> rules;
  for (++row; row < lines.size(); ++row) {
    const std::string_view line = lines[row];
    const std::string_view content = trim(line);
    if (content.empty()) break;  // the table ends at the first blank line
    std::size_t indent = 0;
    while (indent < line.size() && is_space(line[indent])) ++indent;
    // Wrapped descriptions are indented to the description column (28); rule log messages ("[URIs: …]") are
    // indented or right-aligned to column 78, so they may start anywhere but always open with '['.
    if (indent >= 5 || content.front() == '[') {
      if (!rules.empty()) {
        auto& description = rules.back().description;
        if (!description.empty()) description += ' ';
        description += valid_utf8(content);
      }
      continue;
    }
    std::string_view rest = content;
    const auto pts_end = std::find_if(rest.begin(), rest.end(), is_space) - rest.begin();
    const std::string_view points = rest.substr(0, pts_end);
    rest = trim(rest.substr(pts_end));
    const auto name_end = std::find_if(rest.begin(), rest.end(), is_space) - rest.begin();
    const std::string_view name = rest.substr(0, name_end);
    if (!is_points(points) || !is_rule_name(name)) continue;  // not a row (a custom template's text)
    rules.push_back({std::string(points), std::string(name), valid_utf8(trim(rest.substr(name_end)))});
  }
  return rules;
}

SpamReport parse_spamd_reply(std::string_view reply) {
  if (reply.empty()) protocol_error("spamd closed the connection without a reply");
  // Headers end at an empty line; an error reply may be just the status line.
  std::size_t header_end = reply.find("\r\n\r\n");
  std::size_t body_start = header_end == std::string_view::npos ? std::string_view::npos : header_end + 4;
  if (header_end == std::string_view::npos) {
    header_end = reply.find("\n\n");
    body_start = header_end == std::string_view::npos ? std::string_view::npos : header_end + 2;
  }
  const std::string_view head = reply.substr(0, header_end);
  const std::string_view body = body_start == std::string_view::npos ? std::string_view() : reply.substr(body_start);
  const auto lines = split_lines(head);

  const StatusLine status = parse_status_line(lines.empty() ? head : lines.front());
  if (status.code != 0) {
    throw Unavailable(Reason::scanner_error,
                      "spamd answered " + std::to_string(status.code) + " " + printable(status.message));
  }
  SpamReport report;
  report.response_code = status.code;
  report.response_message = status.message;
  report.response_version = status.version;

  std::optional<std::size_t> content_length;
  bool have_verdict = false;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) protocol_error("bad header line \"" + printable(line) + "\"");
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Content-length")) {
      std::size_t length = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) {
        protocol_error("bad Content-length \"" + printable(value) + "\"");
      }
      content_length = length;
    } else if (iequals(name, "Spam")) {
      // "True ; 1000.0 / 5.0" (CHECK/SYMBOLS/REPORT) or "Yes ; …" (REPORT_IFSPAM)
      const auto semicolon = value.find(';');
      const auto slash = value.find('/', semicolon == std::string_view::npos ? 0 : semicolon);
      if (semicolon == std::string_view::npos || slash == std::string_view::npos) {
        protocol_error("bad Spam header \"" + printable(value) + "\"");
      }
      const std::string_view flag = trim(value.substr(0, semicolon));
      if (iequals(flag, "True") || iequals(flag, "Yes")) {
        report.spam = true;
      } else if (iequals(flag, "False") || iequals(flag, "No")) {
        report.spam = false;
      } else {
        protocol_error("bad Spam header \"" + printable(value) + "\"");
      }
      const std::string_view score = trim(value.substr(semicolon + 1, slash - semicolon - 1));
      const std::string_view threshold = trim(value.substr(slash + 1));
      const auto score_value = parse_number(score);
      const auto threshold_value = parse_number(threshold);
      if (!score_value || !threshold_value) protocol_error("bad Spam header \"" + printable(value) + "\"");
      report.score = *score_value;
      report.threshold = *threshold_value;
      report.score_text = std::string(score);
      report.threshold_text = std::string(threshold);
      have_verdict = true;
    }
    // Other headers are defined as ignorable by the protocol.
  }
  if (!have_verdict) protocol_error("spamd reply without a Spam header");

  std::string_view report_text = body;
  if (content_length) {
    if (body.size() < *content_length) {
      protocol_error("spamd reply cut short: " + std::to_string(body.size()) + " of " +
                     std::to_string(*content_length) + " bytes");
    }
    report_text = body.substr(0, *content_length);
  }
  report.details = parse_report_table(report_text);
  return report;
}

namespace {

boost::json::array details_json(const std::vector<SpamRule>& rules) {
  boost::json::array details;
  details.reserve(rules.size());
  for (const auto& rule : rules) {
    details.push_back(
        boost::json::object{{"Pts", rule.points}, {"RuleName", rule.name}, {"Description", rule.description}});
  }
  return details;
}

}  // namespace

boost::json::object to_json(const SpamReport& report) {
  return boost::json::object{{"ResponseCode", report.response_code},
                             {"ResponseMessage", report.response_message},
                             {"ResponseVersion", report.response_version},
                             {"Score", report.score},
                             {"Spam", report.spam},
                             {"Threshold", report.threshold},
                             {"Details", details_json(report.details)}};
}

std::string to_json_text(const SpamReport& report) {
  // Written by hand only for the two numbers; strings go through Boost.JSON's escaping.
  const auto number = [](const std::string& text, double value) {
    if (is_json_number(text)) return text;
    return boost::json::serialize(boost::json::value(value));
  };
  std::string out = "{\"report\":{\"ResponseCode\":" + std::to_string(report.response_code);
  out += ",\"ResponseMessage\":" + boost::json::serialize(boost::json::value(report.response_message));
  out += ",\"ResponseVersion\":" + boost::json::serialize(boost::json::value(report.response_version));
  out += ",\"Score\":" + number(report.score_text, report.score);
  out += ",\"Spam\":";
  out += report.spam ? "true" : "false";
  out += ",\"Threshold\":" + number(report.threshold_text, report.threshold);
  out += ",\"Details\":" + boost::json::serialize(details_json(report.details)) + "}}";
  return out;
}

// ---- the client ----

namespace {

struct Target {
  bool unix_socket = false;
  std::string path;  // unix socket
  std::string host;  // TCP
  std::uint16_t port = 783;
};

Target parse_address(std::string_view address) {
  Target target;
  if (address.substr(0, 5) == "unix:") {
    target.unix_socket = true;
    target.path = std::string(address.substr(5));
    if (target.path.empty()) throw std::invalid_argument("spamd address \"unix:\" needs a socket path");
    if (target.path.size() >= sizeof(sockaddr_un::sun_path)) {
      throw std::invalid_argument("spamd socket path is too long: " + target.path);
    }
    return target;
  }
  std::string_view host = address;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("bad spamd address: " + std::string(address));
    host = address.substr(1, close - 1);
    const std::string_view rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') throw std::invalid_argument("bad spamd address: " + std::string(address));
      port = rest.substr(1);
      if (port.empty()) throw std::invalid_argument("bad spamd address: " + std::string(address));
    }
  } else {
    const auto colon = address.find(':');
    if (colon != std::string_view::npos) {
      if (address.find(':', colon + 1) != std::string_view::npos) {
        throw std::invalid_argument("bad spamd address (write IPv6 as [addr]:port): " + std::string(address));
      }
      host = address.substr(0, colon);
      port = address.substr(colon + 1);
      if (port.empty()) throw std::invalid_argument("bad spamd address: " + std::string(address));
    }
  }
  if (host.empty()) throw std::invalid_argument("bad spamd address (no host): " + std::string(address));
  target.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      throw std::invalid_argument("bad spamd port in " + std::string(address));
    }
    target.port = static_cast<std::uint16_t>(value);
  }
  return target;
}

// Runs the io_context until the pending operation sets `done` or the deadline passes; on timeout closes the
// socket (cancelling the operation) and throws.
template <class Socket>
void wait(asio::io_context& io, Socket& socket, Clock::time_point deadline, const bool& done, const std::string& what) {
  io.restart();
  const auto now = Clock::now();
  if (deadline > now) io.run_for(deadline - now);
  if (done) return;
  boost::system::error_code ignored;
  socket.close(ignored);
  io.restart();
  io.run();
  throw Unavailable(Reason::timeout, what);
}

// Sends the request, half-closes, and reads the reply until spamd closes the connection.
template <class Socket>
std::string send_and_receive(asio::io_context& io, Socket& socket, const std::string& request,
                             Clock::time_point deadline, const std::string& where) {
  bool done = false;
  boost::system::error_code write_error;
  asio::async_write(socket, asio::buffer(request), [&](boost::system::error_code ec, std::size_t) {
    write_error = ec;
    done = true;
  });
  wait(io, socket, deadline, done, "timed out sending the message to spamd at " + where);
  boost::system::error_code ignored;
  if (!write_error) socket.shutdown(asio::socket_base::shutdown_send, ignored);

  // Even after a failed write spamd may have answered (an error line) before closing: read what is there.
  std::string reply;
  boost::system::error_code read_error;
  done = false;
  asio::async_read(socket, asio::dynamic_buffer(reply, kMaxReplyBytes), [&](boost::system::error_code ec, std::size_t) {
    read_error = ec;
    done = true;
  });
  wait(io, socket, deadline, done, "timed out waiting for spamd's reply from " + where);
  if (reply.size() >= kMaxReplyBytes) {
    protocol_error("spamd reply from " + where + " exceeds " + std::to_string(kMaxReplyBytes) + " bytes");
  }
  if (reply.empty()) {
    if (write_error) {
      throw Unavailable(Reason::unreachable, "connection to spamd at " + where + " lost: " + write_error.message());
    }
    if (read_error && read_error != asio::error::eof) {
      throw Unavailable(Reason::unreachable, "connection to spamd at " + where + " lost: " + read_error.message());
    }
  }
  return reply;
}

}  // namespace

SpamdClient::SpamdClient(SpamdOptions options) : options_(std::move(options)) {
  if (!options_.address.empty()) parse_address(options_.address);
  if (options_.timeout <= std::chrono::milliseconds::zero()) throw std::invalid_argument("spamd timeout must be > 0");
  if (options_.max_size == 0) throw std::invalid_argument("spamd max size must be > 0");
  // Sent as a header line: the protocol's user name syntax only ([-A-Za-z0-9_]+).
  const bool plain_user = std::all_of(options_.user.begin(), options_.user.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-';
  });
  if (!plain_user || options_.user.size() > 128) throw std::invalid_argument("spamd user must be a plain user name");
}

std::string SpamdClient::exchange(const std::string& request) const {
  if (options_.address.empty()) throw Unavailable(Reason::not_configured, "no spam scanner (spamd) is configured");
  const Target target = parse_address(options_.address);
  const auto deadline = Clock::now() + options_.timeout;
  asio::io_context io(1);
  bool done = false;
  boost::system::error_code ec;

  if (target.unix_socket) {
    const std::string where = "unix:" + target.path;
    asio::local::stream_protocol::socket socket(io);
    socket.async_connect(asio::local::stream_protocol::endpoint(target.path), [&](boost::system::error_code e) {
      ec = e;
      done = true;
    });
    wait(io, socket, deadline, done, "timed out connecting to spamd at " + where);
    if (ec) throw Unavailable(Reason::unreachable, "cannot connect to spamd at " + where + ": " + ec.message());
    return send_and_receive(io, socket, request, deadline, where);
  }

  const std::string where = options_.address;
  asio::ip::tcp::resolver::results_type endpoints;
  boost::system::error_code parse_error;
  const auto ip = asio::ip::make_address(target.host, parse_error);
  if (!parse_error) {
    endpoints = asio::ip::tcp::resolver::results_type::create(asio::ip::tcp::endpoint(ip, target.port), target.host,
                                                              std::to_string(target.port));
  } else {
    // A host name (e.g. a container's): the system resolver, synchronously (getaddrinfo cannot be cancelled).
    asio::ip::tcp::resolver resolver(io);
    endpoints = resolver.resolve(target.host, std::to_string(target.port), ec);
    if (ec) throw Unavailable(Reason::unreachable, "cannot resolve spamd host " + target.host + ": " + ec.message());
  }
  asio::ip::tcp::socket socket(io);
  asio::async_connect(socket, endpoints, [&](boost::system::error_code e, const asio::ip::tcp::endpoint&) {
    ec = e;
    done = true;
  });
  wait(io, socket, deadline, done, "timed out connecting to spamd at " + where);
  if (ec) throw Unavailable(Reason::unreachable, "cannot connect to spamd at " + where + ": " + ec.message());
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  return send_and_receive(io, socket, request, deadline, where);
}

SpamReport SpamdClient::check(std::string_view raw_message) const {
  std::string_view scanned = raw_message;
  bool truncated = false;
  if (scanned.size() > options_.max_size) {
    // Cut at a line break so the last header or body line spamd sees is whole.
    const auto last_break = scanned.rfind('\n', options_.max_size - 1);
    scanned = scanned.substr(0, last_break == std::string_view::npos ? options_.max_size : last_break + 1);
    truncated = true;
  }
  std::string request = "REPORT ";
  request += kProtocol;
  request += "\r\nContent-length: " + std::to_string(scanned.size()) + "\r\n";
  if (!options_.user.empty()) request += "User: " + options_.user + "\r\n";
  request += "\r\n";
  request += scanned;
  SpamReport report = parse_spamd_reply(exchange(request));
  report.truncated = truncated;
  report.scanned_bytes = scanned.size();
  return report;
}

std::string SpamdClient::ping() const {
  const std::string reply = exchange(std::string("PING ") + std::string(kProtocol) + "\r\n\r\n");
  const auto lines = split_lines(reply);
  if (lines.empty()) protocol_error("spamd closed the connection without a reply");
  const StatusLine status = parse_status_line(lines.front());
  if (status.code != 0 || status.message != "PONG") {
    throw Unavailable(Reason::scanner_error, "spamd answered PING with \"" + printable(lines.front()) + "\"");
  }
  return status.version;
}

}  // namespace postroom::spamcheck
