#pragma once
// Fixed-window request counting per key (an API token). In-process: with several nodes each node limits
// on its own, which bounds the total at nodes × limit.
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace postroom {

class RateLimiter {
 public:
  RateLimiter(int limit, int window_seconds) : limit_(limit), window_ms_(std::int64_t{window_seconds} * 1000) {}

  struct Decision {
    bool allowed;
    int limit;
    int remaining;
  };
  Decision check(const std::string& key, std::int64_t now_ms);

 private:
  struct Window {
    std::int64_t start_ms = 0;
    int count = 0;
  };
  int limit_;
  std::int64_t window_ms_;
  std::mutex mutex_;
  std::unordered_map<std::string, Window> windows_;
  std::int64_t last_sweep_ms_ = 0;
};

}  // namespace postroom
