#include "core/metrics.h"

#include <cstdio>

namespace postroom {

void Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) buckets_[i].fetch_add(1, std::memory_order_relaxed);
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

static std::string number(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", value);
  return buf;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  const std::uint64_t count = count_.load();
  for (std::size_t i = 0; i < kBounds.size(); ++i)
    out += name + "_bucket{" + labels + sep + "le=\"" + number(kBounds[i]) + "\"} " +
           std::to_string(buckets_[i].load()) + "\n";
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(count) + "\n";
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + number(static_cast<double>(sum_micros_.load()) / 1e6) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count) + "\n";
}

std::string prometheus_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void Metrics::observe_request(std::string_view route, std::string_view method, int status, double seconds) {
  RouteStats* stats = nullptr;
  {
    std::shared_lock lock(routes_mutex_);
    if (auto it = routes_.find(route); it != routes_.end()) stats = it->second.get();
  }
  if (!stats) {
    std::unique_lock lock(routes_mutex_);
    auto& slot = routes_[std::string(route)];
    if (!slot) slot = std::make_unique<RouteStats>();
    stats = slot.get();
  }
  stats->seconds.observe(seconds);
  std::lock_guard lock(stats->mutex);
  auto method_it = stats->counts.find(method);
  if (method_it == stats->counts.end())
    method_it = stats->counts.emplace(std::string(method), std::map<int, std::uint64_t>{}).first;
  ++method_it->second[status];
}

void Metrics::observe_storage(bool is_write, double seconds) {
  (is_write ? storage_write_ : storage_read_).observe(seconds);
}

std::string Metrics::render(const std::string& extra) const {
  std::shared_lock lock(routes_mutex_);
  std::string out;
  out += "# HELP postroom_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE postroom_http_requests_total counter\n";
  for (const auto& [route, stats] : routes_) {
    std::lock_guard counts_lock(stats->mutex);
    for (const auto& [method, statuses] : stats->counts) {
      for (const auto& [status, count] : statuses) {
        out += "postroom_http_requests_total{route=\"" + prometheus_label(route) + "\",method=\"" +
               prometheus_label(method) + "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(count) +
               "\n";
      }
    }
  }
  out += "# HELP postroom_http_request_duration_seconds Time from request read to response ready, by route.\n";
  out += "# TYPE postroom_http_request_duration_seconds histogram\n";
  for (const auto& [route, stats] : routes_)
    stats->seconds.render(out, "postroom_http_request_duration_seconds", "route=\"" + prometheus_label(route) + "\"");
  out += "# HELP postroom_storage_duration_seconds Storage job duration (writes include the commit).\n";
  out += "# TYPE postroom_storage_duration_seconds histogram\n";
  storage_read_.render(out, "postroom_storage_duration_seconds", "kind=\"read\"");
  storage_write_.render(out, "postroom_storage_duration_seconds", "kind=\"write\"");
  out += extra;
  return out;
}

}  // namespace postroom
