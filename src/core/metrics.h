#pragma once
// A small Prometheus registry: request counters by route and status, latency and storage-time
// histograms, rendered in the text exposition format.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace postroom {

// Lock-free: observations from many threads only touch atomics.
class Histogram {
 public:
  static constexpr std::array<double, 13> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,    0.25,  0.5,    1.0,   2.5,  5.0};
  void observe(double seconds);
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size()> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

class Metrics {
 public:
  void observe_request(std::string_view route, std::string_view method, int status, double seconds);
  void observe_storage(bool is_write, double seconds);
  // Extra gauge lines appended by the caller (storage batching, uptime, …) go after the registry's own.
  std::string render(const std::string& extra = {}) const;

 private:
  struct RouteStats {
    std::mutex mutex;                                                         // guards counts
    std::map<std::string, std::map<int, std::uint64_t>, std::less<>> counts;  // method → status → requests
    Histogram seconds;
  };
  // Routes are added once and never removed: lookups take the shared lock only.
  mutable std::shared_mutex routes_mutex_;
  std::map<std::string, std::unique_ptr<RouteStats>, std::less<>> routes_;
  Histogram storage_read_, storage_write_;
};

// Escapes a Prometheus label value.
std::string prometheus_label(const std::string& value);

}  // namespace postroom
