#include "core/rate_limiter.h"

#include <algorithm>

namespace postroom {

RateLimiter::Decision RateLimiter::check(std::string_view key, std::int64_t now_ms) {
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(shard.mutex);
  if (now_ms - shard.last_sweep_ms > window_ms_ * 4) {
    std::erase_if(shard.windows, [&](const auto& entry) { return now_ms - entry.second.start_ms >= window_ms_; });
    shard.last_sweep_ms = now_ms;
  }
  auto it = shard.windows.find(std::string(key));
  if (it == shard.windows.end()) it = shard.windows.emplace(std::string(key), Window{}).first;
  Window& window = it->second;
  if (now_ms - window.start_ms >= window_ms_) window = Window{now_ms, 0};
  if (window.count >= limit_) return {false, limit_, 0};
  ++window.count;
  return {true, limit_, std::max(0, limit_ - window.count)};
}

}  // namespace postroom
