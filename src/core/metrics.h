#pragma once
// A small Prometheus registry: request counters by route and status, latency and storage-time
// histograms, rendered in the text exposition format.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace postroom {

class Histogram {
 public:
  static constexpr std::array<double, 13> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,    0.25,  0.5,    1.0,   2.5,  5.0};
  void observe(double seconds);
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<std::uint64_t, kBounds.size()> buckets_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

class Metrics {
 public:
  void observe_request(std::string_view route, std::string_view method, int status, double seconds);
  void observe_storage(bool is_write, double seconds);
  // Extra gauge lines appended by the caller (storage batching, uptime, …) go after the registry's own.
  std::string render(const std::string& extra = {}) const;

 private:
  mutable std::mutex mutex_;
  struct RouteStats {
    std::map<std::string, std::map<int, std::uint64_t>, std::less<>> counts;  // method → status → requests
    Histogram seconds;
  };
  std::map<std::string, RouteStats, std::less<>> routes_;  // string_view lookups: no allocation per request
  Histogram storage_read_, storage_write_;
};

// Escapes a Prometheus label value.
std::string prometheus_label(const std::string& value);

}  // namespace postroom
