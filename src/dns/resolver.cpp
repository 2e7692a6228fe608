#include "dns/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <poll.h>
#include <resolv.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace postroom::dns {

std::string_view to_string(Status status) {
  switch (status) {
    case Status::ok:
      return "ok";
    case Status::nxdomain:
      return "nxdomain";
    case Status::nodata:
      return "nodata";
    case Status::timeout:
      return "timeout";
    case Status::servfail:
      return "servfail";
    case Status::refused:
      return "refused";
    case Status::error:
      return "error";
  }
  return "error";
}

std::string_view to_string(RecordType type) {
  switch (type) {
    case RecordType::a:
      return "A";
    case RecordType::aaaa:
      return "AAAA";
    case RecordType::cname:
      return "CNAME";
    case RecordType::mx:
      return "MX";
    case RecordType::txt:
      return "TXT";
  }
  return "?";
}

std::string TxtRecord::joined() const {
  std::string out;
  for (const auto& s : strings) out += s;
  return out;
}

std::vector<std::string> Answer::txt_joined() const {
  std::vector<std::string> out;
  out.reserve(txt.size());
  for (const auto& t : txt) out.push_back(t.joined());
  return out;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_port(std::string_view text, int& port) {
  if (text.empty() || text.size() > 5) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc() && ptr == text.data() + text.size() && port >= 1 && port <= 65535;
}

int ns_type_of(RecordType type) {
  switch (type) {
    case RecordType::a:
      return ns_t_a;
    case RecordType::aaaa:
      return ns_t_aaaa;
    case RecordType::cname:
      return ns_t_cname;
    case RecordType::mx:
      return ns_t_mx;
    case RecordType::txt:
      return ns_t_txt;
  }
  return ns_t_a;
}

void library_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) throw std::runtime_error("c-ares initialisation failed");
  });
}

std::string strip_dot(std::string name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

// Reads the answer section of a successful reply into `answer` (records of the asked type, CNAMEs on the way).
void parse_reply(const unsigned char* buf, int len, Answer& answer) {
  ns_msg msg;
  if (ns_initparse(buf, len, &msg) < 0) {
    answer.status = Status::error;
    answer.error = "malformed reply";
    return;
  }
  const int want = ns_type_of(answer.query.type);
  const int count = ns_msg_count(msg, ns_s_an);
  std::uint32_t min_ttl = std::numeric_limits<std::uint32_t>::max();
  bool found = false;
  for (int i = 0; i < count; ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) {
      answer.status = Status::error;
      answer.error = "malformed record";
      return;
    }
    if (ns_rr_class(rr) != ns_c_in) continue;
    const int type = ns_rr_type(rr);
    const unsigned char* rdata = ns_rr_rdata(rr);
    const int rdlen = ns_rr_rdlen(rr);
    char name[NS_MAXDNAME];
    if (type == ns_t_cname) {
      if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rdata, name, sizeof name) < 0) continue;
      answer.cnames.push_back(strip_dot(name));
    }
    if (type != want) continue;
    bool parsed = false;
    switch (answer.query.type) {
      case RecordType::a:
      case RecordType::aaaa: {
        const bool v4 = answer.query.type == RecordType::a;
        if (rdlen != (v4 ? 4 : 16)) break;
        char text[INET6_ADDRSTRLEN];
        if (inet_ntop(v4 ? AF_INET : AF_INET6, rdata, text, sizeof text)) {
          answer.addresses.emplace_back(text);
          parsed = true;
        }
        break;
      }
      case RecordType::cname:
        parsed = true;
        break;  // collected above
      case RecordType::mx: {
        if (rdlen < 3) break;
        MxRecord mx;
        mx.preference = (rdata[0] << 8) | rdata[1];
        if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rdata + 2, name, sizeof name) < 0) break;
        mx.host = strip_dot(name);
        answer.mx.push_back(std::move(mx));
        parsed = true;
        break;
      }
      case RecordType::txt: {
        TxtRecord txt;
        int pos = 0;
        bool good = true;
        while (pos < rdlen) {
          const int n = rdata[pos];
          if (pos + 1 + n > rdlen) {
            good = false;
            break;
          }
          txt.strings.emplace_back(reinterpret_cast<const char*>(rdata + pos + 1), n);
          pos += 1 + n;
        }
        if (good) {
          answer.txt.push_back(std::move(txt));
          parsed = true;
        }
        break;
      }
    }
    if (parsed) {
      found = true;
      min_ttl = std::min<std::uint32_t>(min_ttl, ns_rr_ttl(rr));
    }
  }
  std::sort(answer.mx.begin(), answer.mx.end(), [](const MxRecord& x, const MxRecord& y) {
    return x.preference != y.preference ? x.preference < y.preference : x.host < y.host;
  });
  if (found) {
    answer.status = Status::ok;
    answer.ttl = min_ttl;
  } else {
    answer.status = Status::nodata;
  }
}

// One resolve_all call: a channel, the sockets c-ares wants watched, the answers.
struct Batch {
  ares_channel channel = nullptr;
  std::unordered_map<ares_socket_t, short> sockets;  // fd → poll events
  std::vector<Answer>* answers = nullptr;
  std::size_t done = 0;
  int in_flight = 0;

  ~Batch() {
    if (channel) ares_destroy(channel);
  }
};

struct Pending {
  Batch* batch;
  std::size_t index;
};

void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
  auto* batch = static_cast<Batch*>(data);
  if (!readable && !writable) {
    batch->sockets.erase(fd);
    return;
  }
  batch->sockets[fd] = static_cast<short>((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
}

void on_reply(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* pending = static_cast<Pending*>(arg);
  Batch* batch = pending->batch;
  Answer& answer = (*batch->answers)[pending->index];
  delete pending;
  switch (status) {
    case ARES_SUCCESS:
      if (abuf) {
        parse_reply(abuf, alen, answer);
      } else {
        answer.status = Status::error;
        answer.error = "empty reply";
      }
      break;
    case ARES_ENOTFOUND:
      answer.status = Status::nxdomain;
      break;
    case ARES_ENODATA:
      answer.status = Status::nodata;
      break;
    case ARES_ETIMEOUT:
      answer.status = Status::timeout;
      break;
    case ARES_ESERVFAIL:
      answer.status = Status::servfail;
      break;
    case ARES_EREFUSED:
      answer.status = Status::refused;
      break;
    case ARES_ECONNREFUSED:  // c-ares 1.18 reports REFUSED answers (and unreachable servers) this way
      answer.status = Status::refused;
      answer.error = "refused (or no DNS server reachable)";
      break;
    default:
      answer.status = Status::error;
      answer.error = ares_strerror(status);
      break;
  }
  if (answer.status != Status::ok && answer.status != Status::error && answer.error.empty()) {
    answer.error = std::string(to_string(answer.status));
  }
  --batch->in_flight;
  ++batch->done;
}

// c-ares's own TCP writes can raise SIGPIPE when a server closes the connection; these socket functions send
// with MSG_NOSIGNAL instead, so the library never depends on the process ignoring SIGPIPE.
ares_socket_t socket_open(int domain, int type, int protocol, void*) {
  return ::socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);  // c-ares configures no custom socket
}
int socket_close(ares_socket_t fd, void*) { return ::close(fd); }
int socket_connect(ares_socket_t fd, const sockaddr* addr, ares_socklen_t len, void*) {
  return ::connect(fd, addr, len);
}
ares_ssize_t socket_recvfrom(ares_socket_t fd, void* buf, size_t len, int flags, sockaddr* from,
                             ares_socklen_t* from_len, void*) {
  return ::recvfrom(fd, buf, len, flags, from, from_len);
}
ares_ssize_t socket_sendv(ares_socket_t fd, const iovec* iov, int count, void*) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(count);
  return ::sendmsg(fd, &msg, MSG_NOSIGNAL);
}
const ares_socket_functions kSocketFunctions = {&socket_open, &socket_close, &socket_connect, &socket_recvfrom,
                                                &socket_sendv};

}  // namespace

std::vector<std::string> parse_server_list(std::string_view csv) {
  std::vector<std::string> out;
  while (!csv.empty()) {
    const auto comma = csv.find(',');
    std::string_view item = trim(csv.substr(0, comma));
    csv = comma == std::string_view::npos ? std::string_view() : csv.substr(comma + 1);
    if (item.empty()) continue;
    std::string host;
    int port = 53;
    unsigned char buf[16];
    if (item.front() == '[') {
      const auto close = item.find(']');
      if (close == std::string_view::npos) throw std::invalid_argument("bad DNS server: " + std::string(item));
      host = std::string(item.substr(1, close - 1));
      std::string_view rest = item.substr(close + 1);
      if (!rest.empty() && (rest.front() != ':' || !parse_port(rest.substr(1), port))) {
        throw std::invalid_argument("bad DNS server port: " + std::string(item));
      }
      if (inet_pton(AF_INET6, host.c_str(), buf) != 1) {
        throw std::invalid_argument("bad DNS server address: " + std::string(item));
      }
      out.push_back("[" + host + "]:" + std::to_string(port));
      continue;
    }
    const auto colon = item.find(':');
    if (colon != std::string_view::npos && item.find(':', colon + 1) != std::string_view::npos) {
      // A bare IPv6 address without a port.
      host = std::string(item);
      if (inet_pton(AF_INET6, host.c_str(), buf) != 1) {
        throw std::invalid_argument("bad DNS server address: " + std::string(item));
      }
      out.push_back("[" + host + "]:53");
      continue;
    }
    host = std::string(item.substr(0, colon));
    if (colon != std::string_view::npos && !parse_port(item.substr(colon + 1), port)) {
      throw std::invalid_argument("bad DNS server port: " + std::string(item));
    }
    if (inet_pton(AF_INET, host.c_str(), buf) != 1) {
      throw std::invalid_argument("bad DNS server address (an IP address is required): " + std::string(item));
    }
    out.push_back(host + ":" + std::to_string(port));
  }
  return out;
}

Resolver::Resolver(ResolverOptions options) : options_(std::move(options)) {
  library_init();
  std::vector<std::string> normalized;
  for (const auto& s : options_.servers) {
    for (auto& n : parse_server_list(s)) normalized.push_back(std::move(n));
  }
  options_.servers = std::move(normalized);
  if (options_.tries < 1) options_.tries = 1;
  if (options_.timeout.count() < 1) options_.timeout = std::chrono::milliseconds(1);
}

Answer Resolver::resolve(const Query& query) const { return resolve_all({query}, 1).front(); }

std::vector<Answer> Resolver::resolve_all(const std::vector<Query>& queries, int max_in_flight) const {
  std::vector<Answer> answers(queries.size());
  for (std::size_t i = 0; i < queries.size(); ++i) answers[i].query = queries[i];
  if (queries.empty()) return answers;
  if (max_in_flight < 1) max_in_flight = 1;

  Batch batch;
  batch.answers = &answers;
  ares_options opts{};
  opts.timeout = static_cast<int>(std::min<long long>(options_.timeout.count(), std::numeric_limits<int>::max()));
  opts.tries = options_.tries;
  opts.sock_state_cb = &on_socket_state;
  opts.sock_state_cb_data = &batch;
  const int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
  int rc = ares_init_options(&batch.channel, &opts, mask);
  if (rc != ARES_SUCCESS) {
    batch.channel = nullptr;
    for (auto& a : answers) {
      a.status = Status::error;
      a.error = std::string("resolver initialisation failed: ") + ares_strerror(rc);
    }
    return answers;
  }
  ares_set_socket_functions(batch.channel, &kSocketFunctions, nullptr);
  if (!options_.servers.empty()) {
    std::string csv;
    for (const auto& s : options_.servers) {
      if (!csv.empty()) csv += ',';
      csv += s;
    }
    rc = ares_set_servers_ports_csv(batch.channel, csv.c_str());
    if (rc != ARES_SUCCESS) {
      for (auto& a : answers) {
        a.status = Status::error;
        a.error = std::string("bad DNS server list: ") + ares_strerror(rc);
      }
      return answers;
    }
  }

  std::size_t next = 0;
  std::vector<pollfd> fds;
  while (batch.done < queries.size()) {
    while (batch.in_flight < max_in_flight && next < queries.size()) {
      const std::size_t i = next++;
      ++batch.in_flight;
      // The callback may run before ares_query returns (bad name, no servers): it keeps the counters right.
      ares_query(batch.channel, queries[i].name.c_str(), ns_c_in, ns_type_of(queries[i].type), &on_reply,
                 new Pending{&batch, i});
    }
    if (batch.done >= queries.size()) break;

    timeval max_wait{1, 0};
    timeval wait{};
    const timeval* tv = ares_timeout(batch.channel, &max_wait, &wait);
    const int timeout_ms = static_cast<int>(tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000);
    fds.clear();
    for (const auto& entry : batch.sockets) fds.push_back(pollfd{entry.first, entry.second, 0});
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready <= 0) {
      ares_process_fd(batch.channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts and retries
      continue;
    }
    for (const auto& p : fds) {
      if (p.revents == 0) continue;
      const bool readable = (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
      const bool writable = (p.revents & POLLOUT) != 0;
      ares_process_fd(batch.channel, readable ? p.fd : ARES_SOCKET_BAD, writable ? p.fd : ARES_SOCKET_BAD);
    }
  }
  return answers;
}

}  // namespace postroom::dns
