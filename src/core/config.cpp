#include "core/config.h"

#include <charconv>
#include <stdexcept>

namespace postroom {

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

HostPort parse_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("expected HOST:PORT, got '" + text + "'");
  HostPort out;
  out.host = text.substr(0, colon);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host.empty()) out.host = "127.0.0.1";
  const std::string port = text.substr(colon + 1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || value > 65535)
    throw std::invalid_argument("invalid port in '" + text + "'");
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

std::vector<HostPort> parse_host_port_list(const std::string& text) {
  std::vector<HostPort> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(parse_host_port(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string Config::database_url() const {
  if (!database.empty()) return database;
  return "sqlite:" + data_dir + "/postroom.db";
}

std::string Config::effective_public_url() const {
  if (!public_url.empty()) {
    std::string url = public_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
  }
  const HostPort hp = parse_host_port(http);
  const std::string host = (hp.host == "0.0.0.0" || hp.host == "::") ? "127.0.0.1" : hp.host;
  return "http://" + HostPort{host, hp.port}.to_string();
}

}  // namespace postroom
