#pragma once
// Wall-clock time as Unix seconds, behind an interface so tests can move time (token grace periods).
#include <atomic>
#include <cstdint>
#include <string>

namespace postroom {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now() const = 0;  // seconds since the Unix epoch
};

class SystemClock final : public Clock {
 public:
  std::int64_t now() const override;
};

// A clock tests set by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start) : now_(start) {}
  std::int64_t now() const override { return now_.load(); }
  void advance(std::int64_t seconds) { now_ += seconds; }

 private:
  std::atomic<std::int64_t> now_;
};

// "2026-04-29T14:21:57.000Z", the format the Mailtrap API uses for timestamps.
std::string iso8601(std::int64_t unix_seconds);
// Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)"; returns false on anything else.
bool parse_iso8601(const std::string& text, std::int64_t& unix_seconds);

}  // namespace postroom
