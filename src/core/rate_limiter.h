#pragma once
// Fixed-window request counting per key (an API token). In-process: with several nodes each node limits
// on its own, which bounds the total at nodes × limit.
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
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
  Decision check(std::string_view key, std::int64_t now_ms);

 private:
  struct Window {
    std::int64_t start_ms = 0;
    int count = 0;
  };
  // Keys are spread over shards so concurrent requests of different tokens rarely share a lock.
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Window> windows;
    std::int64_t last_sweep_ms = 0;
  };
  static constexpr std::size_t kShards = 16;
  int limit_;
  std::int64_t window_ms_;
  std::array<Shard, kShards> shards_;
};

}  // namespace postroom
