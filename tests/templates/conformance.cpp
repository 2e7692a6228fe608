// Runs the handlebars.js spec export and the mustache spec against the engine and prints pass counts per
// file; every case that is not run is listed with its reason. Exits non-zero when an eligible case fails.
//
//   templates_conformance <shared-dir> [--verbose]
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "templates/handlebars.h"

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace postroom::templates;

namespace {

struct Tally {
  int total = 0, eligible = 0, passed = 0;
  std::vector<std::string> skipped;  // "case: reason"
  std::vector<std::string> failed;
};

json::value read_json(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return json::parse(buffer.str());
}

bool contains_code(const json::value& value) {
  if (const auto* object = value.if_object()) {
    if (object->contains("!code")) return true;
    for (const auto& entry : *object) {
      if (contains_code(entry.value())) return true;
    }
  } else if (const auto* array = value.if_array()) {
    for (const auto& element : *array) {
      if (contains_code(element)) return true;
    }
  }
  return false;
}

std::string describe(const json::object& c) {
  std::string out = std::string(c.at("description").as_string()) + " - " + std::string(c.at("it").as_string());
  if (const auto* number = c.if_contains("number")) out += " #" + std::string(number->as_string());
  return out;
}

// Why a handlebars.js spec case cannot run here; empty when it can.
std::string skip_reason(const json::object& c) {
  if (const auto* helpers = c.if_contains("helpers")) {
    // A case that registers JavaScript helpers but never calls them still runs.
    std::string text(c.at("template").as_string());
    if (const auto* partials = c.if_contains("partials"); partials && partials->is_object()) {
      for (const auto& entry : partials->as_object()) {
        if (entry.value().is_string()) text += " " + std::string(entry.value().as_string());
      }
    }
    std::string used;
    for (const auto& entry : helpers->as_object()) {
      const std::string name(entry.key());
      const std::regex word("(^|[^\\w-])" + std::regex_replace(name, std::regex(R"([.^$|()\[\]{}*+?\\/])"), R"(\$&)") +
                            "($|[^\\w-])");
      if (name == "helperMissing" || name == "blockHelperMissing" || std::regex_search(text, word)) {
        used += (used.empty() ? "" : ", ") + name;
      }
    }
    if (!used.empty()) return "needs JavaScript helper(s): " + used;
  }
  if (c.contains("decorators")) return "needs a JavaScript decorator";
  if (json::serialize(c).find("!sparsearray") != std::string::npos) return "a sparse JavaScript array has no JSON form";
  if (const auto* data = c.if_contains("data"); data && contains_code(*data)) return "data holds a JavaScript function";
  if (const auto* partials = c.if_contains("partials"); partials && contains_code(*partials)) {
    return "a partial is a JavaScript function";
  }
  if (const auto* runtime = c.if_contains("runtimeOptions"); runtime && contains_code(*runtime)) {
    return "@data holds a JavaScript function";
  }
  if (const auto* options = c.if_contains("compileOptions")) {
    for (const auto& entry : options->as_object()) {
      const std::string key(entry.key());
      if (key == "trackIds" || key == "stringParams" || key == "knownHelpers") {
        return "compile option " + key + " only affects JavaScript helpers";
      }
    }
  }
  return {};
}

CompileOptions compile_options(const json::object& c) {
  CompileOptions options;
  if (const auto* object = c.if_contains("compileOptions")) {
    auto flag = [&](const char* key) {
      const auto* value = object->as_object().if_contains(key);
      return value && value->is_bool() && value->get_bool();
    };
    options.strict = flag("strict");
    options.assume_objects = flag("assumeObjects");
    options.compat = flag("compat");
    options.known_helpers_only = flag("knownHelpersOnly");
    options.ignore_standalone = flag("ignoreStandalone");
    options.explicit_partial_context = flag("explicitPartialContext");
    options.prevent_indent = flag("preventIndent");
  }
  return options;
}

bool message_matches(const json::value& expected, const std::string& message) {
  if (!expected.is_string()) return true;  // `exception: true`
  const std::string pattern(expected.as_string());
  if (pattern.size() >= 2 && pattern.front() == '/' && pattern.back() == '/') {
    return std::regex_search(message, std::regex(pattern.substr(1, pattern.size() - 2), std::regex::ECMAScript));
  }
  return message == pattern;
}

// Renders one case; returns an empty string on success, else what went wrong.
std::string run_render_case(const json::object& c, const json::value& template_source, const json::value* partials,
                            const json::value& data, const json::object* at_data, const CompileOptions& options) {
  const json::value* exception = c.if_contains("exception");
  try {
    std::map<std::string, TemplatePtr, std::less<>> compiled;
    if (partials && partials->is_object()) {
      for (const auto& entry : partials->as_object()) {
        compiled[std::string(entry.key())] = Template::compile(entry.value().as_string(), options);
      }
    }
    const TemplatePtr tmpl = Template::compile(template_source.as_string(), options);
    RenderOptions render_options;
    render_options.partials = [&compiled](std::string_view name) -> const Template* {
      const auto it = compiled.find(name);
      return it == compiled.end() ? nullptr : it->second.get();
    };
    render_options.data = at_data;
    const std::string out = tmpl->render(data, render_options);
    if (exception && !(exception->is_bool() && !exception->get_bool())) return "expected an error, got: " + out;
    const std::string expected(c.at("expected").as_string());
    if (out != expected)
      return "expected " + json::serialize(json::string(expected)) + ", got " + json::serialize(json::string(out));
    return {};
  } catch (const std::exception& error) {
    if (exception && message_matches(*exception, error.what())) return {};
    return std::string("error: ") + error.what();
  }
}

std::string run_handlebars_case(const std::string& file, const json::object& c) {
  const CompileOptions options = compile_options(c);
  if (file == "tokenizer.json") {
    const auto tokens = tokenize(c.at("template").as_string());
    json::array got;
    for (const auto& token : tokens) got.push_back(json::object{{"name", token.name}, {"text", token.text}});
    if (got != c.at("expected").as_array()) return "got " + json::serialize(got);
    return {};
  }
  if (file == "parser.json") {
    try {
      const std::string printed = print(parse(c.at("template").as_string(), options));
      if (c.contains("exception")) return "expected an error, got: " + printed;
      if (printed != c.at("expected").as_string()) return "got " + json::serialize(json::string(printed));
      return {};
    } catch (const SyntaxError& error) {
      if (const auto* exception = c.if_contains("exception"); exception && message_matches(*exception, error.what())) {
        return {};
      }
      return std::string("error: ") + error.what();
    }
  }
  const json::value empty_data = json::object();
  const json::value* data = c.if_contains("data");
  const json::object* at_data = nullptr;
  if (const auto* runtime = c.if_contains("runtimeOptions")) {
    if (const auto* value = runtime->as_object().if_contains("data"); value && value->is_object()) {
      at_data = &value->as_object();
    }
  }
  return run_render_case(c, c.at("template"), c.if_contains("partials"), data ? *data : empty_data, at_data, options);
}

// Cases of the mustache spec that handlebars.js's own spec runner skips, with its reasons.
std::string mustache_skip_reason(const std::string& file, const json::object& c) {
  const std::string name(c.at("name").as_string());
  if (file == "partials.json" && name == "Failed Lookup") {
    return "handlebars.js throws for a missing partial (skipped by handlebars.js)";
  }
  if (file == "partials.json" && name == "Standalone Indentation") {
    return "handlebars.js indents the whole partial output, not only its literal lines (skipped by handlebars.js)";
  }
  const std::string source(c.at("template").as_string());
  if (source.find("{{=") != std::string::npos) return "set-delimiter tags (skipped by handlebars.js)";
  if (const auto* partials = c.if_contains("partials")) {
    for (const auto& entry : partials->as_object()) {
      if (std::string(entry.value().as_string()).find("{{=") != std::string::npos) {
        return "set-delimiter tags in a partial (skipped by handlebars.js)";
      }
    }
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: templates_conformance <shared-dir> [--verbose]\n";
    return 2;
  }
  const fs::path shared = argv[1];
  const bool verbose = argc > 2 && std::string(argv[2]) == "--verbose";
  std::map<std::string, Tally> handlebars, mustache;

  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(shared / "testdata/handlebars-spec")) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    const std::string file = path.filename().string();
    Tally& tally = handlebars[file];
    const json::value cases = read_json(path);
    for (const auto& item : cases.as_array()) {
      const json::object& c = item.as_object();
      ++tally.total;
      if (const std::string reason = skip_reason(c); !reason.empty()) {
        tally.skipped.push_back(describe(c) + ": " + reason);
        continue;
      }
      ++tally.eligible;
      const std::string failure = run_handlebars_case(file, c);
      if (failure.empty())
        ++tally.passed;
      else
        tally.failed.push_back(describe(c) + " " + json::serialize(c.at("template")) + ": " + failure);
    }
  }

  // handlebars.js runs the mustache spec in compat mode (mustache's recursive context lookup).
  CompileOptions mustache_options;
  mustache_options.compat = true;
  for (const char* file : {"comments.json", "interpolation.json", "sections.json", "inverted.json", "partials.json"}) {
    Tally& tally = mustache[file];
    const json::value spec = read_json(shared / "testdata/mustache-spec" / file);
    for (const auto& item : spec.at("tests").as_array()) {
      const json::object& c = item.as_object();
      ++tally.total;
      if (const std::string reason = mustache_skip_reason(file, c); !reason.empty()) {
        tally.skipped.push_back(std::string(c.at("name").as_string()) + ": " + reason);
        continue;
      }
      ++tally.eligible;
      const std::string failure =
          run_render_case(c, c.at("template"), c.if_contains("partials"), c.at("data"), nullptr, mustache_options);
      if (failure.empty())
        ++tally.passed;
      else
        tally.failed.push_back(std::string(c.at("name").as_string()) + ": " + failure);
    }
  }

  bool ok = true;
  auto report = [&](const char* title, const std::map<std::string, Tally>& tallies) {
    std::cout << "\n" << title << "\n";
    std::cout << "  file                        cases  eligible  passed  skipped\n";
    Tally sum;
    for (const auto& [file, tally] : tallies) {
      std::printf("  %-26s %6d %9d %7d %8zu\n", file.c_str(), tally.total, tally.eligible, tally.passed,
                  tally.skipped.size());
      sum.total += tally.total;
      sum.eligible += tally.eligible;
      sum.passed += tally.passed;
      sum.skipped.resize(sum.skipped.size() + tally.skipped.size());
    }
    std::printf("  %-26s %6d %9d %7d %8zu\n", "total", sum.total, sum.eligible, sum.passed, sum.skipped.size());
    for (const auto& [file, tally] : tallies) {
      for (const auto& failure : tally.failed) {
        std::cout << "  FAIL " << file << ": " << failure << "\n";
        ok = false;
      }
    }
    if (verbose) {
      for (const auto& [file, tally] : tallies) {
        for (const auto& skipped : tally.skipped) std::cout << "  skip " << file << ": " << skipped << "\n";
      }
    }
  };
  report("handlebars.js spec (testdata/handlebars-spec)", handlebars);
  report("mustache spec, core files (testdata/mustache-spec)", mustache);
  std::cout << (ok ? "\nall eligible cases pass\n" : "\nsome eligible cases fail\n");
  return ok ? 0 : 1;
}
