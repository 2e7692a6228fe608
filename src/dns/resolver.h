#pragma once
// An asynchronous DNS resolver (c-ares underneath) with a configurable server list, for verifying sending
// domains. `resolve` is a blocking call for worker threads; `resolve_all` runs many queries concurrently with a
// bound on the number in flight. Each call uses its own channel, so one Resolver may be shared by threads.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::dns {

enum class RecordType { a, aaaa, cname, mx, txt };

enum class Status {
  ok,        // at least one record of the asked type
  nxdomain,  // the name does not exist
  nodata,    // the name exists but has no record of this type
  timeout,   // no server answered in time
  servfail,  // the server failed (SERVFAIL)
  refused,   // the server refused the query (or no server could be contacted)
  error      // anything else (malformed answer, bad name, …); see Answer::error
};

std::string_view to_string(Status status);
std::string_view to_string(RecordType type);

struct Query {
  std::string name;
  RecordType type = RecordType::a;
};

struct MxRecord {
  int preference = 0;
  std::string host;  // without the trailing dot
};

// One TXT record: its character-strings as received (each at most 255 octets).
struct TxtRecord {
  std::vector<std::string> strings;
  // The strings concatenated without separators, as RFC 7208 §3.3 (and RFC 6376 §3.6.2.2) read them.
  std::string joined() const;
};

struct Answer {
  Query query;
  Status status = Status::error;
  std::string error;                   // detail when status is not ok
  std::vector<std::string> addresses;  // A / AAAA, in text form
  std::vector<std::string> cnames;     // CNAME targets met in the answer (the chain, in order)
  std::vector<MxRecord> mx;            // sorted by preference, then host
  std::vector<TxtRecord> txt;
  std::uint32_t ttl = 0;  // the smallest TTL among the records of the asked type

  bool ok() const { return status == Status::ok; }
  // Every TXT record joined (one string per record).
  std::vector<std::string> txt_joined() const;
};

struct ResolverOptions {
  // "HOST:PORT" or "HOST" (port 53); IPv6 as "[::1]:5353". Empty: the system resolver (/etc/resolv.conf).
  std::vector<std::string> servers;
  std::chrono::milliseconds timeout{2000};  // per try
  int tries = 2;
};

// Parses "HOST:PORT[,HOST:PORT…]" (the --dns-server option). Throws std::invalid_argument on a bad entry.
std::vector<std::string> parse_server_list(std::string_view csv);

class Resolver {
 public:
  explicit Resolver(ResolverOptions options = {});

  const ResolverOptions& options() const { return options_; }

  Answer resolve(const Query& query) const;
  Answer resolve(std::string_view name, RecordType type) const { return resolve(Query{std::string(name), type}); }

  // Answers in the order of `queries`; at most `max_in_flight` (≥ 1) queries are outstanding at once.
  std::vector<Answer> resolve_all(const std::vector<Query>& queries, int max_in_flight = 64) const;

 private:
  ResolverOptions options_;
};

}  // namespace postroom::dns
