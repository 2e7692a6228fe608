// Renders a template N times with the engine and prints renders per second. Used by bench/templates.sh.
//
//   templates_bench <template-file> <data.json> <iterations> [--print]
// With --print, writes one rendering to stdout instead (for the byte-for-byte comparison).
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "templates/handlebars.h"

namespace {
std::string slurp(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: templates_bench <template> <data.json> <iterations> [--print]\n";
    return 2;
  }
  using namespace postroom::templates;
  const TemplatePtr tmpl = Template::compile(slurp(argv[1]));
  const boost::json::value data = boost::json::parse(slurp(argv[2]));
  if (argc > 4 && std::string(argv[4]) == "--print") {
    std::cout << tmpl->render(data);
    return 0;
  }
  const long iterations = std::atol(argv[3]);
  std::string out;
  std::size_t bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < iterations; ++i) {
    out.clear();
    tmpl->render_to(out, data);
    bytes += out.size();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.0f renders/s (%ld renders in %.2f s, %zu bytes each)\n", iterations / seconds, iterations, seconds,
              bytes / static_cast<std::size_t>(iterations > 0 ? iterations : 1));
  return 0;
}
