#include "core/connection_limiter.h"

namespace postroom {

bool ConnectionLimiter::admit(const std::string& ip) {
  std::lock_guard lock(mutex_);
  if (max_total_ > 0 && total_ >= max_total_) return false;
  int& from_ip = per_ip_[ip];
  if (max_per_ip_ > 0 && from_ip >= max_per_ip_) {
    if (from_ip == 0) per_ip_.erase(ip);
    return false;
  }
  ++from_ip;
  ++total_;
  return true;
}

void ConnectionLimiter::release(const std::string& ip) {
  std::lock_guard lock(mutex_);
  --total_;
  if (auto it = per_ip_.find(ip); it != per_ip_.end() && --it->second <= 0) per_ip_.erase(it);
}

int ConnectionLimiter::active() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace postroom
