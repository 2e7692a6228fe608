#pragma once
// Connection slots of a listening server: a total limit and a per-client-IP limit (0: no limit). Shared by the
// SMTP and POP3 servers; thread-safe.
#include <map>
#include <mutex>
#include <string>

namespace postroom {

class ConnectionLimiter {
 public:
  ConnectionLimiter(int max_total, int max_per_ip) : max_total_(max_total), max_per_ip_(max_per_ip) {}

  // Reserves a slot for a connection from `ip`; false when either limit is reached.
  bool admit(const std::string& ip);
  // Gives back a slot admit() reserved.
  void release(const std::string& ip);
  int active() const;

 private:
  const int max_total_;
  const int max_per_ip_;
  mutable std::mutex mutex_;
  std::map<std::string, int> per_ip_;
  int total_ = 0;
};

}  // namespace postroom
