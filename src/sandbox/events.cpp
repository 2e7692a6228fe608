#include "sandbox/events.h"

#include <vector>

namespace postroom::sandbox {

const char* to_string(SandboxEvent::Type type) {
  switch (type) {
    case SandboxEvent::Type::message_created:
      return "message.created";
    case SandboxEvent::Type::message_updated:
      return "message.updated";
    case SandboxEvent::Type::message_deleted:
      return "message.deleted";
    case SandboxEvent::Type::inbox_cleaned:
      return "inbox.cleaned";
    case SandboxEvent::Type::inbox_all_read:
      return "inbox.all_read";
  }
  return "unknown";
}

std::uint64_t EventHub::subscribe(Listener listener) {
  std::lock_guard lock(mutex_);
  const std::uint64_t id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void EventHub::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  listeners_.erase(id);
}

void EventHub::publish(const SandboxEvent& event) {
  std::vector<Listener> listeners;
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    listeners.reserve(listeners_.size());
    for (const auto& [id, listener] : listeners_) listeners.push_back(listener);
  }
  changed_.notify_all();
  for (const Listener& listener : listeners) listener(event);
}

std::uint64_t EventHub::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

std::uint64_t EventHub::wait_for_change(std::uint64_t seen, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, deadline, [&] { return generation_ != seen || closed_; });
  return generation_;
}

void EventHub::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

bool EventHub::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

}  // namespace postroom::sandbox
