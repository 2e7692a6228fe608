// Reads [{template, data, partials}] as JSON on stdin and writes the engine's renderings as a JSON array on
// stdout (null where compiling or rendering fails). The other half of tests/templates/differential.py.
#include <boost/json.hpp>
#include <iostream>
#include <map>
#include <sstream>

#include "templates/handlebars.h"

using namespace postroom::templates;

int main() {
  std::stringstream input;
  input << std::cin.rdbuf();
  const boost::json::value cases = boost::json::parse(input.str());
  boost::json::array out;
  for (const auto& item : cases.as_array()) {
    const auto& c = item.as_object();
    try {
      std::map<std::string, TemplatePtr, std::less<>> partials;
      for (const auto& partial : c.at("partials").as_object()) {
        partials[std::string(partial.key())] = Template::compile(partial.value().as_string());
      }
      RenderOptions options;
      options.partials = [&partials](std::string_view name) -> const Template* {
        const auto it = partials.find(name);
        return it == partials.end() ? nullptr : it->second.get();
      };
      out.push_back(
          boost::json::string(Template::compile(c.at("template").as_string())->render(c.at("data"), options)));
    } catch (const std::exception&) {
      out.push_back(nullptr);
    }
  }
  std::cout << boost::json::serialize(out);
  return 0;
}
