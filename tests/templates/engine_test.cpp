// Unit tests of the Handlebars engine: tokenizer, parser (positions, errors), renderer, limits, analysis, and
// the examples of the product documentation's Handlebars guide.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "templates/handlebars.h"

namespace json = boost::json;
using namespace postroom::templates;

namespace {

std::string render(std::string_view source, std::string_view data = "{}", const RenderOptions& options = {}) {
  return Template::compile(source)->render(json::parse(data), options);
}

SyntaxError syntax_error(std::string_view source) {
  try {
    Template::compile(source);
  } catch (const SyntaxError& error) {
    return error;
  }
  ADD_FAILURE() << "no syntax error for " << source;
  return SyntaxError("none", {});
}

}  // namespace

TEST(TemplatesTokenizer, NamesTokensLikeHandlebars) {
  const auto tokens = tokenize("a {{#each items as |item|}}{{item.name}}{{/each}}");
  std::vector<std::string> names;
  for (const auto& token : tokens) names.push_back(token.name);
  EXPECT_EQ(names, (std::vector<std::string>{"CONTENT", "OPEN_BLOCK", "ID", "ID", "OPEN_BLOCK_PARAMS", "ID",
                                             "CLOSE_BLOCK_PARAMS", "CLOSE", "OPEN", "ID", "SEP", "ID", "CLOSE",
                                             "OPEN_ENDBLOCK", "ID", "CLOSE"}));
}

TEST(TemplatesTokenizer, RecordsLineAndColumn) {
  const auto tokens = tokenize("ab\n  {{x}}");
  ASSERT_EQ(tokens.size(), 4u);
  EXPECT_EQ(tokens[1].name, "OPEN");
  EXPECT_EQ(tokens[1].start.line, 2);
  EXPECT_EQ(tokens[1].start.column, 2);
}

TEST(TemplatesParser, SyntaxErrorsCarryLineAndColumn) {
  const SyntaxError unclosed = syntax_error("Hello\n  {{name}");
  EXPECT_EQ(unclosed.line, 2);
  EXPECT_EQ(unclosed.column, 9);
  EXPECT_NE(unclosed.reason.find("Parse error on line 2"), std::string::npos);

  const SyntaxError mismatch = syntax_error("{{#if a}}\n{{/each}}");
  EXPECT_EQ(mismatch.reason, "if doesn't match each");
  EXPECT_EQ(mismatch.line, 1);
  EXPECT_EQ(mismatch.column, 1);

  const SyntaxError invalid_path = syntax_error("x {{a/../b}}");
  EXPECT_EQ(invalid_path.reason, "Invalid path: a/..");
  EXPECT_EQ(invalid_path.column, 5);
}

TEST(TemplatesParser, PrintsTheTreeLikeHandlebars) {
  EXPECT_EQ(print(parse("{{#if a}}x{{else}}y{{/if}}")),
            "BLOCK:\n  PATH:if [PATH:a]\n  PROGRAM:\n    CONTENT[ 'x' ]\n  {{^}}\n    CONTENT[ 'y' ]\n");
}

TEST(TemplatesParser, RejectsPathologicalNesting) {
  std::string source;
  for (int i = 0; i < 1000; ++i) source += "{{#a}}";
  EXPECT_THROW(Template::compile(source), SyntaxError);
  std::string sexpr = "{{a ";
  for (int i = 0; i < 1000; ++i) sexpr += "(a ";
  EXPECT_THROW(Template::compile(sexpr), SyntaxError);
}

TEST(TemplatesRender, EscapesExactlyLikeHandlebars) {
  EXPECT_EQ(render("{{v}}", R"({"v":"& < > \" ' ` ="})"), "&amp; &lt; &gt; &quot; &#x27; &#x60; &#x3D;");
  EXPECT_EQ(render("{{{v}}}|{{&v}}", R"({"v":"<b>"})"), "<b>|<b>");
}

TEST(TemplatesRender, PathsParentsRootAndLiteralSegments) {
  const std::string data = R"({"a":{"b":"deep"},"weird key":"w","list":[{"n":1},{"n":2}],"top":"T"})";
  EXPECT_EQ(render("{{a.b}} {{a/b}} {{[weird key]}}", data), "deep deep w");
  EXPECT_EQ(render("{{#each list}}{{n}}{{../top}}{{@root.top}}{{/each}}", data), "1TT2TT");
  EXPECT_EQ(render("{{#with a}}{{this.b}}{{./b}}{{/with}}", data), "deepdeep");
}

TEST(TemplatesRender, TruthinessFollowsHandlebars) {
  EXPECT_EQ(render("{{#if v}}y{{else}}n{{/if}}", R"({"v":[]})"), "n");
  EXPECT_EQ(render("{{#if v}}y{{else}}n{{/if}}", R"({"v":0})"), "n");
  EXPECT_EQ(render("{{#if v includeZero=true}}y{{else}}n{{/if}}", R"({"v":0})"), "y");
  EXPECT_EQ(render("{{#if v}}y{{else}}n{{/if}}", R"({"v":{}})"), "y");
  EXPECT_EQ(render("{{#if v}}y{{else if w}}w{{else}}n{{/if}}", R"({"w":"x"})"), "w");
  EXPECT_EQ(render("{{^v}}none{{/v}}", R"({"v":[]})"), "none");
  EXPECT_EQ(render("[{{missing}}{{missing.deeper}}]"), "[]");
}

TEST(TemplatesRender, EachOverArraysAndObjects) {
  EXPECT_EQ(render("{{#each l}}{{@index}}{{@first}}{{@last}}{{this}};{{/each}}", R"({"l":["a","b"]})"),
            "0truefalsea;1falsetrueb;");
  // Object.keys order: integer-like keys first, ascending.
  EXPECT_EQ(render("{{#each o}}{{@key}}={{.}},{{/each}}", R"({"o":{"b":1,"2":2,"a":3,"1":4}})"), "1=4,2=2,b=1,a=3,");
  EXPECT_EQ(render("{{#each l as |item i|}}{{i}}:{{item.n}} {{/each}}", R"({"l":[{"n":"x"},{"n":"y"}]})"), "0:x 1:y ");
  EXPECT_EQ(render("{{#each l}}x{{else}}empty{{/each}}", R"({"l":[]})"), "empty");
}

TEST(TemplatesRender, LookupLogCommentsWhitespaceAndRawBlocks) {
  EXPECT_EQ(render("{{lookup m k}}", R"({"m":{"x":"found"},"k":"x"})"), "found");
  EXPECT_EQ(render("a{{log 'hi'}}b{{! c }}{{!-- {{d}} --}}e"), "abe");
  EXPECT_EQ(render("a  {{~v~}}  b", R"({"v":"V"})"), "aVb");
  EXPECT_EQ(render("<ul>\n  {{#each l}}\n  <li>{{.}}</li>\n  {{/each}}\n</ul>", R"({"l":[1,2]})"),
            "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>");
  EXPECT_EQ(render("{{{{raw}}}}{{not parsed}}{{{{/raw}}}}", R"({"raw":true})"), "{{not parsed}}");
}

TEST(TemplatesRender, PartialsWithParametersAndPartialBlocks) {
  const TemplatePtr card = Template::compile("[{{title}}|{{> @partial-block}}]");
  const TemplatePtr greeting = Template::compile("Hi {{name}}");
  RenderOptions options;
  options.partials = [&](std::string_view name) -> const Template* {
    if (name == "card") return card.get();
    if (name == "greeting") return greeting.get();
    return nullptr;
  };
  EXPECT_EQ(render("{{> greeting}}", R"({"name":"Ann"})", options), "Hi Ann");
  EXPECT_EQ(render("{{> greeting user}}", R"({"user":{"name":"Bob"}})", options), "Hi Bob");
  EXPECT_EQ(render("{{> greeting name='Cy'}}", "{}", options), "Hi Cy");
  EXPECT_EQ(render("{{#> card title='T'}}body {{x}}{{/card}}", R"({"x":1})", options), "[T|body 1]");
  EXPECT_EQ(render("{{#> missing}}fallback{{/missing}}", "{}", options), "fallback");
  EXPECT_THROW(render("{{> nope}}", "{}", options), RenderError);
}

TEST(TemplatesRender, RecursivePartialsHitTheDepthCap) {
  const TemplatePtr self = Template::compile("x{{> self}}");
  RenderOptions options;
  options.partials = [&](std::string_view) -> const Template* { return self.get(); };
  std::string out = "kept";
  EXPECT_THROW(self->render_to(out, json::object(), options), RenderError);
  EXPECT_EQ(out, "kept");  // never half-renders
}

TEST(TemplatesRender, OutputSizeIsCapped) {
  RenderOptions options;
  options.max_output_bytes = 1000;
  json::array many;
  for (int i = 0; i < 500; ++i) many.push_back(i);
  EXPECT_THROW(
      Template::compile("{{#each l}}{{#each ../l}}xx{{/each}}{{/each}}")->render(json::object{{"l", many}}, options),
      RenderError);
}

TEST(TemplatesRender, SilentLoopsOverLoopsHitTheStepCap) {
  RenderOptions options;
  options.max_steps = 100'000;
  json::array many;
  for (int i = 0; i < 1000; ++i) many.push_back(i);
  EXPECT_THROW(
      Template::compile("{{#each l}}{{#each ../l}}{{/each}}{{/each}}")->render(json::object{{"l", many}}, options),
      RenderError);
  EXPECT_EQ(Template::compile("{{#each l}}{{/each}}")->render(json::object{{"l", many}}, options), "");
}

TEST(TemplatesRender, StrictModeReportsMissingVariables) {
  CompileOptions strict;
  strict.strict = true;
  const TemplatePtr tmpl = Template::compile("Hi {{user.name}}", strict);
  EXPECT_EQ(tmpl->render(json::parse(R"({"user":{"name":"A"}})")), "Hi A");
  try {
    tmpl->render(json::parse(R"({"user":{}})"));
    FAIL() << "expected a strict-mode error";
  } catch (const RenderError& error) {
    EXPECT_NE(std::string(error.what()).find("\"name\" not defined"), std::string::npos);
  }
}

TEST(TemplatesAnalysis, ListsVariablesAndPartials) {
  const TemplatePtr tmpl = Template::compile(
      "{{user.name}} {{#each order.items as |item|}}{{item.sku}}{{name}}{{../currency}}{{/each}}"
      "{{#with company}}{{title}}{{/with}}{{#if flag}}{{/if}}{{> footer}}{{@index}}");
  EXPECT_EQ(tmpl->variables(), (std::vector<std::string>{"company", "company.title", "currency", "flag", "order.items",
                                                         "order.items.[].name", "order.items.[].sku", "user.name"}));
  EXPECT_EQ(tmpl->partial_names(), std::vector<std::string>{"footer"});
}

TEST(TemplatesAnalysis, ReportsVariablesTheTestDataLacks) {
  const TemplatePtr tmpl =
      Template::compile("{{user.name}} {{#each items}}{{sku}}{{price}}{{/each}}{{#if coupon}}{{coupon.code}}{{/if}}");
  EXPECT_EQ(tmpl->missing_variables(json::parse(R"({"user":{"name":"A"},"items":[{"sku":1,"price":2},{"sku":3}]})")),
            (std::vector<std::string>{"coupon", "coupon.code", "items.[].price"}));
  EXPECT_EQ(tmpl->missing_variables(json::parse(R"({"user":{"name":"A"},"items":[],"coupon":{"code":"X"}})")),
            std::vector<std::string>{});
}

// ---- The product documentation's Handlebars guide ----

namespace {

// The fenced code blocks of the "Handlebars Guide" page, in order.
std::vector<std::string> guide_blocks() {
  std::ifstream in(std::string(POSTROOM_SHARED_DIR) + "/reference/mailtrap-docs.md");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string docs = buffer.str();
  const std::size_t start = docs.find("# Handlebars Guide");
  const std::size_t end = docs.find("### Testing templates with Handlebars", start);
  std::vector<std::string> blocks;
  std::istringstream lines(docs.substr(start, end - start));
  std::string line, block;
  bool inside = false;
  while (std::getline(lines, line)) {
    if (line.rfind("```", 0) == 0) {
      if (inside) blocks.push_back(block);
      block.clear();
      inside = !inside;
    } else if (inside) {
      block += (block.empty() ? "" : "\n") + line;
    }
  }
  return blocks;
}

// The guide's outputs are hand-indented; compare line contents, ignoring indentation and blank lines.
std::string normalized(const std::string& text) {
  std::istringstream lines(text);
  std::string line, out;
  while (std::getline(lines, line)) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    out += line.substr(first, line.find_last_not_of(" \t") - first + 1) + "\n";
  }
  return out;
}

}  // namespace

TEST(TemplatesGuide, BasicReplacementRendersByteForByte) {
  const auto blocks = guide_blocks();
  ASSERT_GE(blocks.size(), 26u);
  EXPECT_EQ(render(blocks[0], blocks[1]), blocks[2]);
}

TEST(TemplatesGuide, ConditionalsEachWithAndTheOrderConfirmation) {
  const auto blocks = guide_blocks();
  ASSERT_GE(blocks.size(), 26u);
  // if / else, both branches
  EXPECT_EQ(render(blocks[3], blocks[4]), blocks[5] + "\n");
  json::value unsubscribed = json::parse(blocks[4]);
  unsubscribed.at("user").at("isSubscribed") = false;
  EXPECT_EQ(Template::compile(blocks[3])->render(unsubscribed), blocks[6] + "\n");
  // unless / else, both branches
  EXPECT_EQ(normalized(render(blocks[7], blocks[8])), normalized(blocks[9]));
  json::value subscribed = json::parse(blocks[8]);
  subscribed.at("user").at("isSubscribed") = true;
  EXPECT_EQ(Template::compile(blocks[7])->render(subscribed), blocks[10] + "\n");
  // each, with and without else
  EXPECT_EQ(render(blocks[11], blocks[12]), blocks[13] + "\n");
  EXPECT_EQ(normalized(render(blocks[14], blocks[15])), normalized(blocks[16]));
  // with, with and without else
  EXPECT_EQ(normalized(render(blocks[17], blocks[18])), normalized(blocks[19]));
  EXPECT_EQ(normalized(render(blocks[20], blocks[21])), normalized(blocks[22]));
  // the order confirmation
  EXPECT_EQ(normalized(render(blocks[23], blocks[24])), normalized(blocks[25]));
}

TEST(TemplatesGuide, SubjectLinesWithSpecialCharacters) {
  const std::string data = R"({"subject":"Tom & Jerry's <deal> \"now\""})";
  EXPECT_EQ(render("{{{subject}}}", data), "Tom & Jerry's <deal> \"now\"");
  EXPECT_EQ(render("{{subject}}", data), "Tom &amp; Jerry&#x27;s &lt;deal&gt; &quot;now&quot;");
}
