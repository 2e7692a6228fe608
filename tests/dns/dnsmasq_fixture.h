#pragma once
// Starts dnsmasq on a free loopback port with the given records (dnsmasq options), for tests. Never touches
// any other address, and never forwards: --no-resolv with --local for the test domains.
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace postroom::testing {

inline int free_loopback_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      const int port = ntohs(addr.sin_port);
      ::close(fd);
      int udp = ::socket(AF_INET, SOCK_DGRAM, 0);  // the UDP port must be free too
      addr.sin_port = htons(static_cast<uint16_t>(port));
      const bool ok = ::bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      ::close(udp);
      if (ok) return port;
      continue;
    }
    ::close(fd);
  }
  throw std::runtime_error("no free loopback port");
}

class Dnsmasq {
 public:
  explicit Dnsmasq(const std::vector<std::string>& records) : port_(free_loopback_port()) {
    std::vector<std::string> args = {"dnsmasq",
                                     "--keep-in-foreground",
                                     "--conf-file=/dev/null",
                                     "--pid-file=",
                                     "--port=" + std::to_string(port_),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--log-facility=-",
                                     "--quiet-dhcp"};
    args.insert(args.end(), records.begin(), records.end());
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the test
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("dnsmasq", argv.data());
      ::_exit(127);
    }
    // Wait until it answers TCP connections on the port.
    for (int i = 0; i < 100; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(port_));
      const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      ::close(fd);
      if (up) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("dnsmasq exited at start");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();
    throw std::runtime_error("dnsmasq did not start");
  }
  ~Dnsmasq() { stop(); }
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  int port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }
  int port_;
  pid_t pid_ = -1;
};

}  // namespace postroom::testing
