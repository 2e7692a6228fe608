#include "core/rate_limiter.h"

#include <algorithm>

namespace postroom {

RateLimiter::Decision RateLimiter::check(const std::string& key, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (now_ms - last_sweep_ms_ > window_ms_ * 4) {
    std::erase_if(windows_, [&](const auto& entry) { return now_ms - entry.second.start_ms >= window_ms_; });
    last_sweep_ms_ = now_ms;
  }
  Window& window = windows_[key];
  if (now_ms - window.start_ms >= window_ms_) window = Window{now_ms, 0};
  if (window.count >= limit_) return {false, limit_, 0};
  ++window.count;
  return {true, limit_, std::max(0, limit_ - window.count)};
}

}  // namespace postroom
