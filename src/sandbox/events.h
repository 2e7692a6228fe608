#pragma once
// Sandbox change notifications inside one process: the live stream and the wait endpoint listen here, the
// capture path and the messages API publish. (Several nodes on one PostgreSQL each see their own arrivals.)
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace postroom::sandbox {

struct SandboxEvent {
  enum class Type { message_created, message_updated, message_deleted, inbox_cleaned, inbox_all_read };
  Type type = Type::message_created;
  std::int64_t account_id = 0;
  std::int64_t inbox_id = 0;
  std::int64_t message_id = 0;  // 0 for inbox_cleaned
};

const char* to_string(SandboxEvent::Type type);

class EventHub {
 public:
  using Listener = std::function<void(const SandboxEvent&)>;

  // Listeners run on the publishing thread and must not block.
  std::uint64_t subscribe(Listener listener);
  void unsubscribe(std::uint64_t id);
  void publish(const SandboxEvent& event);

  // A counter that grows with every event; waiters compare it to what they saw last.
  std::uint64_t generation() const;
  // Waits until the generation differs from `seen`, the deadline passes or the hub closes. Returns the
  // generation then.
  std::uint64_t wait_for_change(std::uint64_t seen, std::chrono::steady_clock::time_point deadline);
  // Wakes every waiter for good (shutdown).
  void close();
  bool closed() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t generation_ = 0;
  bool closed_ = false;
  std::uint64_t next_listener_ = 1;
  std::map<std::uint64_t, Listener> listeners_;
};

}  // namespace postroom::sandbox
