#pragma once
// The web UI's files (Vite's output), compiled into the binary by src/web/CMakeLists.txt.
#include <string_view>
#include <vector>

namespace postroom::web {

struct Asset {
  std::string_view path;          // "/index.html", "/assets/index-3f2a1b.js"
  std::string_view content_type;  // for the Content-Type header
  std::string_view bytes;
  std::string_view gzip;  // a gzip-compressed variant; empty when none (small or already compressed files)
};

// Every file, sorted by path.
const std::vector<Asset>& assets();

}  // namespace postroom::web
