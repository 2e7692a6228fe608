// libFuzzer target for the Handlebars engine: any input either compiles or throws SyntaxError; whatever
// compiles renders against fixed data (with itself as every partial) or throws RenderError, within the caps.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "templates/handlebars.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace postroom::templates;
  static const boost::json::value context = boost::json::parse(
      R"({"a":1,"b":"<x>","list":[1,{"c":[true,false]},"s"],"obj":{"k":"v","0":null},"e":[],"z":0})");
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  (void)tokenize(source);
  TemplatePtr tmpl;
  try {
    tmpl = Template::compile(source);
  } catch (const SyntaxError&) {
    return 0;
  }
  (void)print(tmpl->program());
  (void)tmpl->variables();
  RenderOptions options;
  options.max_output_bytes = 1 << 20;
  options.max_depth = 32;
  options.partials = [&tmpl](std::string_view) -> const Template* { return tmpl.get(); };
  try {
    (void)tmpl->render(context, options);
  } catch (const RenderError&) {
  }
  return 0;
}
