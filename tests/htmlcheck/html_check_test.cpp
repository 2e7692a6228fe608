// The HTML Check (src/htmlcheck): detection with line numbers, the support data, scoring by Mailtrap's algorithm
// (checked against numbers worked out by hand from the embedded caniemail data), filters, the JSON shapes, a real
// message from the shared corpus, and hostile input.
#include "htmlcheck/html_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "htmlcheck/feature_data.h"
#include "htmlcheck/feature_map.h"
#include "mime/message.h"

using namespace postroom::htmlcheck;
namespace json = boost::json;

namespace {

const Finding* find(const Report& report, std::string_view slug) {
  for (const Finding& f : report.findings) {
    if (f.slug == slug) return &f;
  }
  return nullptr;
}

std::vector<std::uint32_t> lines_of(const Report& report, std::string_view slug) {
  const Finding* f = find(report, slug);
  return f ? f->lines : std::vector<std::uint32_t>{};
}

std::set<std::string> slugs(const Report& report) {
  std::set<std::string> out;
  for (const Finding& f : report.findings) out.insert(f.slug);
  return out;
}

const Breakdown& family(const Report& report, std::string_view key) {
  for (const Breakdown& b : report.families) {
    if (b.key == key) return b;
  }
  throw std::runtime_error("no family " + std::string(key));
}

using Lines = std::vector<std::uint32_t>;

}  // namespace

// ---- detection ----------------------------------------------------------------------------------------------

TEST(HtmlCheckDetection, ElementsAttributesAndCssWithLines) {
  const std::string html =
      "<!DOCTYPE html>\n"                                                                     // 1
      "<html lang=\"en\">\n"                                                                  // 2
      "<head>\n"                                                                              // 3
      "<style>\n"                                                                             // 4
      "  .btn:hover { color: red; }\n"                                                        // 5
      "  @media (prefers-color-scheme: dark) {\n"                                             // 6
      "    .card > p { display: flex !important; }\n"                                         // 7
      "  }\n"                                                                                 // 8
      "  /* note */ div.a.b, td + td { border-radius: 4px }\n"                                // 9
      "</style>\n"                                                                            // 10
      "</head>\n"                                                                             // 11
      "<body>\n"                                                                              // 12
      "<!--[if mso]><table><tr><td style=\"display:grid\">x</td></tr></table><![endif]-->\n"  // 13
      "<table width=\"600\" cellpadding=\"0\" role=\"presentation\">\n"                       // 14
      "<tr><td valign=\"top\" style=\"padding: 1em;\n"                                        // 15
      "  background-image: url('hero.webp')\">\n"                                             // 16
      "<a href=\"#top\">top</a> <a href=\"MAILTO:x@example.com\">mail</a>\n"                  // 17
      "<img src=\"data:image/png;base64,AAAA\" srcset=\"a.avif 1x, b.gif 2x\" alt=\"\">\n"    // 18
      "<svg width=\"10\" height=\"10\"><rect width=\"5\" height=\"5\"/></svg>\n"              // 19
      "</td></tr></table>\n"                                                                  // 20
      "</body>\n"                                                                             // 21
      "</html>\n";
  const Report report = analyze(html);
  EXPECT_FALSE(report.truncated);
  EXPECT_EQ(lines_of(report, "html-doctype"), Lines{1});
  EXPECT_EQ(lines_of(report, "html-lang"), Lines{2});
  EXPECT_EQ(lines_of(report, "html-style"), Lines{4});
  EXPECT_EQ(lines_of(report, "css-pseudo-class-hover"), Lines{5});
  EXPECT_EQ(lines_of(report, "css-selector-class"), (Lines{5, 7, 9}));
  EXPECT_EQ(lines_of(report, "css-at-media"), Lines{6});
  EXPECT_EQ(lines_of(report, "css-at-media-prefers-color-scheme"), Lines{6});
  EXPECT_EQ(lines_of(report, "css-selector-child"), Lines{7});
  EXPECT_EQ(lines_of(report, "css-display-flex"), Lines{7});
  EXPECT_EQ(lines_of(report, "css-important"), Lines{7});
  EXPECT_EQ(lines_of(report, "css-comments"), Lines{9});
  EXPECT_EQ(lines_of(report, "css-selector-chaining"), Lines{9});  // .a.b, not div.a
  EXPECT_EQ(lines_of(report, "css-selector-grouping"), Lines{9});
  EXPECT_EQ(lines_of(report, "css-selector-adjacent-sibling"), Lines{9});
  EXPECT_EQ(lines_of(report, "css-border-radius"), Lines{9});
  EXPECT_EQ(lines_of(report, "css-unit-px"), Lines{9});
  EXPECT_EQ(lines_of(report, "html-body"), Lines{12});
  EXPECT_EQ(lines_of(report, "html-comments"), Lines{13});
  // Inside a conditional comment nothing is analyzed: display:grid does not count.
  EXPECT_EQ(find(report, "css-display-grid"), nullptr);
  EXPECT_EQ(lines_of(report, "html-table"), Lines{14});
  EXPECT_EQ(lines_of(report, "html-width"), Lines{14});  // not the <svg> attributes
  EXPECT_EQ(lines_of(report, "html-cellpadding"), Lines{14});
  EXPECT_EQ(lines_of(report, "html-role"), Lines{14});
  EXPECT_EQ(lines_of(report, "html-valign"), Lines{15});
  EXPECT_EQ(lines_of(report, "css-padding"), Lines{15});
  EXPECT_EQ(lines_of(report, "css-unit-em"), Lines{15});
  // A style attribute spanning lines: each declaration on its own line.
  EXPECT_EQ(lines_of(report, "css-background-image"), Lines{16});
  EXPECT_EQ(lines_of(report, "image-webp"), Lines{16});
  EXPECT_EQ(lines_of(report, "html-anchor-links"), Lines{17});
  EXPECT_EQ(lines_of(report, "html-mailto-links"), Lines{17});
  EXPECT_EQ(lines_of(report, "image-png"), Lines{18});
  EXPECT_EQ(lines_of(report, "image-base64"), Lines{18});
  EXPECT_EQ(lines_of(report, "image-avif"), Lines{18});
  EXPECT_EQ(lines_of(report, "image-gif"), Lines{18});
  EXPECT_EQ(lines_of(report, "html-srcset"), Lines{18});
  EXPECT_EQ(lines_of(report, "html-svg"), Lines{19});
  EXPECT_EQ(lines_of(report, "html-height"), Lines{});
}

TEST(HtmlCheckDetection, LinesDeepIntoALargeDocument) {
  // ~300 KB with CR LF line ends: positions stay exact to the last line.
  std::string html = "<!DOCTYPE html>\r\n<html><head><style>\r\n.a:hover{color:red}\r\n</style></head>\r\n<body>\r\n";
  Lines tables, radius;
  for (std::uint32_t i = 0; i < 2000; ++i) {
    tables.push_back(6 + 2 * i);
    radius.push_back(7 + 2 * i);
    html +=
        "<table role=\"presentation\" cellpadding=\"0\"><tr><td style=\"padding:1em;\r\n border-radius:4px\">"
        "<a href=\"#a\">x</a><img src=\"i" +
        std::to_string(i) + ".webp\" srcset=\"a.avif 2x\"></td></tr></table>\r\n";
  }
  html += "<!-- end --></body></html>";
  const Report report = analyze(html);
  EXPECT_FALSE(report.truncated);
  EXPECT_EQ(lines_of(report, "html-table"), tables);
  EXPECT_EQ(lines_of(report, "css-border-radius"), radius);
  EXPECT_EQ(lines_of(report, "image-webp"), radius);
  EXPECT_EQ(lines_of(report, "html-comments"), Lines{4006});
  EXPECT_EQ(lines_of(report, "css-pseudo-class-hover"), Lines{3});
}

TEST(HtmlCheckDetection, OnlyWhatOccurs) {
  // No <html>, <head> or <body> in the source: the parser implies them, the check does not report them.
  const Report report = analyze("<p>Hello <b>world</b></p>");
  EXPECT_EQ(slugs(report), (std::set<std::string>{"html-p"}));
  EXPECT_EQ(lines_of(report, "html-p"), Lines{1});
}

TEST(HtmlCheckDetection, DoctypesAndFormControls) {
  EXPECT_TRUE(slugs(analyze("<!doctype HTML >")).count("html-doctype"));
  EXPECT_FALSE(slugs(analyze("<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" "
                             "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">"))
                   .count("html-doctype"));
  const Report form = analyze(
      "<form><input><input type=CHECKBOX><input type=hidden><input type=radio><input type=reset>\n"
      "<input type=submit><button>go</button><button type=reset>r</button><button type=button>b</button>\n"
      "<select><option>1</select><textarea required></textarea></form>");
  for (const char* slug : {"html-form", "html-input-text", "html-input-checkbox", "html-input-hidden",
                           "html-input-radio", "html-input-reset"}) {
    EXPECT_EQ(lines_of(form, slug), Lines{1}) << slug;
  }
  for (const char* slug : {"html-select", "html-textarea", "html-required"}) {
    EXPECT_EQ(lines_of(form, slug), Lines{3}) << slug;
  }
  EXPECT_EQ(lines_of(form, "html-input-submit"), Lines{2});
  EXPECT_EQ(lines_of(form, "html-button-submit"), Lines{2});  // <button> without a type submits
  EXPECT_EQ(lines_of(form, "html-button-reset"), Lines{2});
}

TEST(HtmlCheckDetection, CssValuesFunctionsAndAtRules) {
  const Report report = analyze(
      "<style>\n"
      "@import url(x.css);\n"                                                                                   // 2
      "@font-face { font-family: X; src: url(x.woff2) }\n"                                                      // 3
      "@-webkit-keyframes spin { from { transform: rotate(0deg) } to { opacity: .5 } }\n"                       // 4
      "@supports (display: grid) { .g { display: inline-grid } }\n"                                             // 5
      "@media (hover: hover) and (orientation: landscape), (-webkit-min-device-pixel-ratio: 2) {}\n"            // 6
      ":root { --gap: 4px } .v { margin: var(--gap) calc(1rem + 2vw) }\n"                                       // 7
      "a::before, a:after, input::-webkit-input-placeholder, li:nth-child(2n+1) {}\n"                           // 8
      "p:not(.x) {} ul:has(> li) {} * {} [data-x] {} h1 ~ p {} .a .b {}\n"                                      // 9
      ".c { width: fit-content; color: rgb(0 0 0); background: linear-gradient(red, blue), url(\"i.svg\") }\n"  // 10
      ".d { font-family: system-ui, sans-serif; color: initial; -webkit-mask-image: none; flex-flow: column wrap "
      "}\n"                           // 11
      ".e { & .f { color: red } }\n"  // 12
      "</style>");
  EXPECT_EQ(lines_of(report, "css-at-import"), Lines{2});
  EXPECT_EQ(lines_of(report, "css-at-font-face"), Lines{3});
  EXPECT_EQ(find(report, "image-svg") ? lines_of(report, "image-svg") : Lines{}, Lines{10});  // not the woff2
  EXPECT_EQ(lines_of(report, "css-at-keyframes"), Lines{4});
  EXPECT_EQ(lines_of(report, "css-transform"), Lines{4});
  EXPECT_EQ(lines_of(report, "css-opacity"), Lines{4});
  EXPECT_EQ(lines_of(report, "css-at-supports"), Lines{5});
  EXPECT_EQ(lines_of(report, "css-display-grid"), Lines{5});  // the rule, not the condition only
  EXPECT_EQ(lines_of(report, "css-at-media-hover"), Lines{6});
  EXPECT_EQ(lines_of(report, "css-at-media-orientation"), Lines{6});
  EXPECT_EQ(lines_of(report, "css-at-media-device-pixel-ratio"), Lines{6});
  EXPECT_EQ(lines_of(report, "css-variables"), Lines{7});
  EXPECT_EQ(lines_of(report, "css-unit-calc"), Lines{7});
  EXPECT_EQ(lines_of(report, "css-unit-rem"), Lines{7});
  EXPECT_EQ(lines_of(report, "css-unit-vw"), Lines{7});
  EXPECT_EQ(lines_of(report, "css-pseudo-element-before"), Lines{8});
  EXPECT_EQ(lines_of(report, "css-pseudo-element-after"), Lines{8});
  EXPECT_EQ(lines_of(report, "css-pseudo-element-placeholder"), Lines{8});
  EXPECT_EQ(lines_of(report, "css-pseudo-class-nth-child"), Lines{8});
  EXPECT_EQ(lines_of(report, "css-pseudo-class-not"), Lines{9});
  EXPECT_EQ(lines_of(report, "css-pseudo-class-has"), Lines{9});
  EXPECT_EQ(lines_of(report, "css-selector-universal"), Lines{9});
  EXPECT_EQ(lines_of(report, "css-selector-attribute"), Lines{9});
  EXPECT_EQ(lines_of(report, "css-selector-general-sibling"), Lines{9});
  EXPECT_EQ(lines_of(report, "css-selector-descendant"), (Lines{9, 12}));
  EXPECT_EQ(lines_of(report, "css-intrinsic-size"), Lines{10});
  EXPECT_EQ(lines_of(report, "css-rgb"), Lines{10});
  EXPECT_EQ(lines_of(report, "css-linear-gradient"), Lines{10});
  EXPECT_EQ(lines_of(report, "css-sytem-ui"), Lines{11});
  EXPECT_EQ(lines_of(report, "css-unit-initial"), Lines{11});
  EXPECT_EQ(lines_of(report, "css-mask-image"), Lines{11});
  EXPECT_EQ(lines_of(report, "css-flex-direction"), Lines{11});
  EXPECT_EQ(lines_of(report, "css-flex-wrap"), Lines{11});
  EXPECT_EQ(lines_of(report, "css-nesting"), Lines{12});
}

TEST(HtmlCheckDetection, StyleAttributeEntitiesAndCrLf) {
  // Entities are decoded before the CSS is read; CR LF counts one line.
  const Report report = analyze("<p>a</p>\r\n<p style=\"font-family:&quot;Arial&quot;;\r\n text-align:center\">b</p>");
  EXPECT_EQ(lines_of(report, "html-p"), (Lines{1, 2}));
  EXPECT_EQ(lines_of(report, "css-text-align"), Lines{3});
}

// ---- support data ---------------------------------------------------------------------------------------------

TEST(HtmlCheckData, EveryCaniemailSlugIsDetectedOrExplained) {
  const data::Data& d = data::get();
  ASSERT_GE(d.features.size(), 300u);
  std::set<std::string> known;
  for (const data::Feature& f : d.features) known.insert(f.slug);
  std::set<std::string> covered;
  for (std::string_view slug : features::detectable_slugs()) {
    EXPECT_TRUE(known.count(std::string(slug))) << "not a caniemail slug: " << slug;
    covered.insert(std::string(slug));
  }
  for (const auto& [slug, reason] : features::undetected_slugs()) {
    EXPECT_FALSE(reason.empty());
    covered.insert(std::string(slug));
  }
  for (const std::string& slug : known) EXPECT_TRUE(covered.count(slug)) << "neither detected nor explained: " << slug;
}

TEST(HtmlCheckData, MarketSharesCoverEveryClient) {
  const data::Data& d = data::get();
  double total = 0;
  for (const data::Client& c : d.clients) {
    EXPECT_GT(c.share, 0) << c.family << "/" << c.platform;
    total += c.share;
  }
  EXPECT_NEAR(total, 100.0, 0.01);
  EXPECT_EQ(d.market_share_period, "2021-12");
  EXPECT_FALSE(d.caniemail_last_update.empty());
  EXPECT_EQ(d.caniemail_package_version, "1.0.5");
}

TEST(HtmlCheckData, CountedVersions) {
  // Dated entries: only the latest test counts.
  auto cs = data::client_support("gmail", "desktop-webmail", {{"2019-02", "n"}, {"2020-02", "y"}});
  EXPECT_EQ(cs.support, data::Support::full);
  ASSERT_EQ(cs.versions.size(), 1u);
  EXPECT_EQ(cs.versions[0].version, "2020-02");
  // Releases: all count; a mix of y and n is partial; notes are kept.
  cs = data::client_support("apple-mail", "ios", {{"12.4", "n #3"}, {"15.0", "y"}});
  EXPECT_EQ(cs.support, data::Support::partial);
  EXPECT_EQ(cs.versions[0].notes, std::vector<int>{3});
  // Outlook 2003 no longer counts; unknown entries are ignored.
  cs = data::client_support("outlook", "windows", {{"2003", "y"}, {"2007", "n"}, {"2010", "u"}, {"2013", "n"}});
  EXPECT_EQ(cs.support, data::Support::none);
  EXPECT_EQ(cs.versions.size(), 3u);
  EXPECT_EQ(data::client_support("outlook", "windows", {{"2016", "u"}}).support, data::Support::unknown);
  EXPECT_EQ(data::client_support("yahoo", "ios", {{"2019-02", "a #1 #2"}}).support, data::Support::partial);
  EXPECT_EQ(data::client_support("yahoo", "ios", {{"2019-02", "a #1 #2"}}).versions[0].notes, (std::vector<int>{1, 2}));
}

// ---- scoring --------------------------------------------------------------------------------------------------

// By hand from caniemail 1.0.5 and the market share file: <wbr> is html-wbr; for Gmail
//   desktop-webmail {2019-02: n, 2020-02: y}  → latest test y  → full     weight 7.6
//   ios             {2019-02: n}              → none                     weight 7.6
//   android         {2019-02: "a #1"}         → partial                  weight 9.6
//   mobile-webmail  {2020-02: y}              → full                     weight 7.6
// Gmail total 32.4: full 15.2/32.4, partial 9.6/32.4, none 7.6/32.4.
TEST(HtmlCheckScore, OneFeatureGmailOnly) {
  const Report report = analyze("<wbr>", Filter{{"gmail"}, {}});
  ASSERT_EQ(slugs(report), (std::set<std::string>{"html-wbr"}));
  EXPECT_NEAR(report.market_support, 100.0 * 15.2 / 32.4, 1e-9);  // 46.91%
  EXPECT_NEAR(report.overall.partial, 100.0 * 9.6 / 32.4, 1e-9);  // 29.63%
  EXPECT_NEAR(report.overall.none, 100.0 * 7.6 / 32.4, 1e-9);     // 23.46%
  EXPECT_EQ(report.overall.clients, 4u);
  EXPECT_EQ(report.overall.full_clients, 2u);
  EXPECT_EQ(report.overall.partial_clients, 1u);
  EXPECT_EQ(report.overall.none_clients, 1u);
  ASSERT_EQ(report.families.size(), 1u);
  EXPECT_EQ(report.families[0].name, "Gmail");
  EXPECT_NEAR(report.families[0].market_share, 100.0, 1e-9);
  // Per platform: web = desktop-webmail + mobile-webmail, both full; mobile = iOS none, Android partial.
  ASSERT_EQ(report.platforms.size(), 2u);
  EXPECT_EQ(report.platforms[0].key, "mobile");
  EXPECT_NEAR(report.platforms[0].partial, 100.0 * 9.6 / 17.2, 1e-9);
  EXPECT_NEAR(report.platforms[0].none, 100.0 * 7.6 / 17.2, 1e-9);
  EXPECT_NEAR(report.platforms[0].market_share, 100.0 * 17.2 / 32.4, 1e-9);
  EXPECT_EQ(report.platforms[1].key, "web");
  EXPECT_NEAR(report.platforms[1].full, 100.0, 1e-9);

  const Finding& wbr = report.findings.at(0);
  EXPECT_EQ(wbr.support, Support::none);
  ASSERT_EQ(wbr.clients.size(), 2u);
  EXPECT_EQ(wbr.clients[0].label, "Gmail iOS");  // no support first
  EXPECT_EQ(wbr.clients[0].support, Support::none);
  EXPECT_EQ(wbr.clients[1].label, "Gmail Android");
  EXPECT_EQ(wbr.clients[1].support, Support::partial);
  ASSERT_EQ(wbr.numbered_notes.count(1), 1u);  // Android's "a #1"
}

// Worst level per client: adding dir="rtl" (Gmail mobile webmail: partial) turns that client from full to
// partial; html-p is fully supported everywhere in Gmail.
TEST(HtmlCheckScore, WorstLevelOverFeatures) {
  const Report report = analyze("<p dir=\"rtl\">a<wbr>b</p>", Filter{{"Gmail"}, {}});
  EXPECT_EQ(slugs(report), (std::set<std::string>{"html-dir", "html-p", "html-wbr"}));
  EXPECT_NEAR(report.market_support, 100.0 * 7.6 / 32.4, 1e-9);
  EXPECT_NEAR(report.overall.partial, 100.0 * 17.2 / 32.4, 1e-9);
  EXPECT_NEAR(report.overall.none, 100.0 * 7.6 / 32.4, 1e-9);
  EXPECT_EQ(find(report, "html-p")->support, Support::full);
  EXPECT_TRUE(find(report, "html-p")->clients.empty());
}

TEST(HtmlCheckScore, EmptyHtmlIsFullySupported) {
  for (const std::string html : {"", "   \n", "<!-- -->"}) {
    const Report report = analyze(html);
    EXPECT_NEAR(report.market_support, 100.0, 1e-9);
    EXPECT_EQ(report.overall.none_clients, 0u);
    const json::object mailtrap = mailtrap_json(report);
    EXPECT_EQ(json::serialize(mailtrap), R"({"report":{"status":"success","errors":[]}})");
  }
}

TEST(HtmlCheckScore, FiltersRecomputeAndValidate) {
  const std::string html = "<div style=\"display:flex\">x</div>";
  const Report all = analyze(html);
  EXPECT_EQ(all.families.size(), 5u);
  EXPECT_EQ(all.platforms.size(), 3u);
  EXPECT_EQ(all.clients.size(), data::get().clients.size());

  // Only mobile clients: Apple Mail keeps iOS, Outlook keeps iOS/Android; no desktop or web client remains.
  const Report mobile = analyze(html, Filter{{"apple-mail", "outlook"}, {"mobile"}});
  ASSERT_EQ(mobile.platforms.size(), 1u);
  EXPECT_EQ(mobile.platforms[0].key, "mobile");
  for (const ClientResult& c : mobile.clients) {
    EXPECT_EQ(c.group, "mobile");
    EXPECT_TRUE(c.family == "apple-mail" || c.family == "outlook") << c.family;
  }
  EXPECT_EQ(mobile.clients.size(), 3u);
  EXPECT_NE(mobile.market_support, all.market_support);
  // Apple Mail has no web client: with Gmail also selected, unchecking web changes nothing for Apple Mail.
  const Report with_web = analyze(html, Filter{{"apple-mail", "gmail"}, {"desktop", "mobile", "web"}});
  const Report without_web = analyze(html, Filter{{"apple-mail", "gmail"}, {"desktop", "mobile"}});
  EXPECT_EQ(family(with_web, "apple-mail").full, family(without_web, "apple-mail").full);
  EXPECT_EQ(family(with_web, "apple-mail").clients, family(without_web, "apple-mail").clients);

  EXPECT_THROW(analyze(html, Filter{{"hotmail"}, {}}), std::invalid_argument);
  EXPECT_THROW(analyze(html, Filter{{}, {"tablet"}}), std::invalid_argument);
  // Apple Mail only, web only: nothing left to score.
  try {
    analyze(html, Filter{{"apple-mail"}, {"web"}});
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("selects no email client"), std::string::npos);
  }
  EXPECT_EQ(analyze(html, Filter{{"Yahoo! Mail", "OTHER"}, {"Web"}}).filter.families,
            (std::vector<std::string>{"yahoo", "other"}));
}

// ---- JSON -----------------------------------------------------------------------------------------------------

TEST(HtmlCheckJson, MailtrapShape) {
  const Report report = analyze("<p style=\"display:flex\">\n<wbr><wbr></p>\n<p style=\"display:flex\">x</p>",
                                Filter{{"gmail", "outlook"}, {}});
  const json::object body = mailtrap_json(report);
  ASSERT_EQ(body.size(), 1u);
  const json::object& r = body.at("report").as_object();
  EXPECT_EQ(r.at("status"), "success");
  const json::array& errors = r.at("errors").as_array();
  // One error per (rule, line): display:flex on lines 1 and 3, <wbr> twice on line 2 is one error.
  std::vector<std::pair<std::int64_t, std::string>> pairs;
  for (const json::value& e : errors) {
    const json::object& o = e.as_object();
    ASSERT_EQ(o.size(), 3u);
    pairs.emplace_back(o.at("error_line").to_number<std::int64_t>(), std::string(o.at("rule_name").as_string()));
    const json::object& clients = o.at("email_clients").as_object();
    ASSERT_TRUE(clients.at("desktop").is_array());
    ASSERT_TRUE(clients.at("mobile").is_array());
    ASSERT_TRUE(clients.at("web").is_array());
  }
  EXPECT_EQ(pairs, (std::vector<std::pair<std::int64_t, std::string>>{
                       {1, "display:flex"}, {2, "<wbr> element"}, {3, "display:flex"}}));
  // <wbr>: Gmail iOS (none) and Android (partial) on mobile.
  const json::object& wbr = errors[1].as_object().at("email_clients").as_object();
  EXPECT_EQ(json::serialize(wbr.at("mobile")), R"(["Gmail iOS","Gmail Android"])");
  // display:flex is not supported by Outlook on Windows 2007-2019: the versions are named.
  const json::array& desktop = errors[0].as_object().at("email_clients").at("desktop").as_array();
  bool outlook_windows = false;
  for (const json::value& label : desktop) {
    if (label.as_string().starts_with("Outlook Windows 2007, 2010")) outlook_windows = true;
  }
  EXPECT_TRUE(outlook_windows) << json::serialize(desktop);
}

TEST(HtmlCheckJson, FullShape) {
  const Report report = analyze("<wbr>", Filter{{"gmail"}, {}});
  const json::object full = full_json(report);
  EXPECT_EQ(full.at("status"), "success");
  EXPECT_NEAR(full.at("market_support").as_double(), 46.91, 1e-9);
  EXPECT_EQ(full.at("families").as_array().size(), 1u);
  const json::object& finding = full.at("findings").as_array().at(0).as_object();
  EXPECT_EQ(finding.at("slug"), "html-wbr");
  EXPECT_EQ(finding.at("title"), "<wbr> element");
  EXPECT_EQ(finding.at("category"), "html");
  EXPECT_EQ(json::serialize(finding.at("lines")), "[1]");
  EXPECT_EQ(finding.at("clients").as_array().size(), 2u);
  EXPECT_TRUE(finding.at("numbered_notes").as_object().contains("1"));
  const json::object& sources = full.at("data_sources").as_object();
  EXPECT_EQ(sources.at("support").at("version"), "1.0.5");
  EXPECT_EQ(sources.at("support").at("license"), "MIT");
  EXPECT_EQ(sources.at("market_share").at("period"), "2021-12");
  EXPECT_FALSE(full.at("truncated").as_bool());
}

// ---- a real message -------------------------------------------------------------------------------------------

TEST(HtmlCheckRealMail, SharedCorpusMessage) {
  const std::string path = std::string(POSTROOM_SHARED_DIR) + "/testdata/mime/testdata/mail/ctype-bug.raw";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  std::stringstream raw;
  raw << in.rdbuf();
  const auto message = postroom::mime::parse_message(raw.str());
  ASSERT_TRUE(message.html_body);
  const std::string& html = *message.html_body;
  const Report report = analyze(html);
  EXPECT_FALSE(report.truncated);
  const auto line_of = [&](std::string_view needle) {
    const std::size_t at = html.find(needle);
    return static_cast<std::uint32_t>(std::count(html.begin(), html.begin() + static_cast<long>(at), '\n') + 1);
  };
  EXPECT_EQ(lines_of(report, "html-mailto-links"), Lines{line_of("mailto:")});
  EXPECT_EQ(lines_of(report, "html-body"), Lines{line_of("<body")});
  EXPECT_EQ(lines_of(report, "html-lists"), Lines{line_of("<ul>")});
  EXPECT_EQ(lines_of(report, "css-border"),
            (Lines{line_of("border-bottom:3px"), line_of("border:1px solid #ddd"), line_of("border-top:1px")}));
  EXPECT_TRUE(find(report, "css-background"));
  EXPECT_TRUE(find(report, "image-png"));
  EXPECT_LT(report.market_support, 100.0);
  const json::object body = mailtrap_json(report);
  EXPECT_FALSE(body.at("report").at("errors").as_array().empty());
}

// ---- hostile input --------------------------------------------------------------------------------------------

namespace {

double seconds_to_analyze(const std::string& html, Report& report) {
  const auto start = std::chrono::steady_clock::now();
  report = analyze(html);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string repeat(std::string_view unit, std::size_t times) {
  std::string out;
  out.reserve(unit.size() * times);
  for (std::size_t i = 0; i < times; ++i) out += unit;
  return out;
}

// Generous: the sanitizer build is several times slower; unbounded cases take tens of seconds.
constexpr double kBound = 10.0;

}  // namespace

TEST(HtmlCheckHostile, DeepNestingIsCut) {
  Report report;
  // Deep trees reached in different ways, including behind markup a simple pre-scanner would misread (an
  // "<!-->" comment, <title> inside <svg>, a comment opener inside <style>).
  for (const std::string prefix : {"", "<!-->", "<svg><title>", "<style><!--</style>", "<table>", "<select>"}) {
    const double seconds = seconds_to_analyze(prefix + repeat("<div>", 200'000), report);
    EXPECT_LT(seconds, kBound) << prefix;
    EXPECT_TRUE(report.truncated || prefix == "<select>") << prefix;  // <div> inside <select> is dropped
  }
  for (const std::string_view unit : {"<b><i>x", "<div></x>", "<table><tr><td>", "<li><ul>", "<template>"}) {
    const double seconds = seconds_to_analyze(repeat(unit, 200'000), report);
    EXPECT_LT(seconds, kBound) << unit;
    EXPECT_TRUE(report.truncated) << unit;
    ASSERT_FALSE(report.truncation_reasons.empty());
    EXPECT_NE(report.truncation_reasons[0].find("nested"), std::string::npos) << report.truncation_reasons[0];
  }
  // Closed elements do not count as depth.
  EXPECT_FALSE(analyze(repeat("<div><p>x</p></div>\n", 5000)).truncated);
  // Unclosed <p> and <td> close their siblings.
  EXPECT_FALSE(analyze("<table><tr>" + repeat("<td>x", 5000) + "</table>" + repeat("<p>y", 5000)).truncated);
}

TEST(HtmlCheckHostile, SizeAndTagCaps) {
  Report report;
  std::string big = repeat("<span>a</span>", 800'000);  // 11 MB, 800,000 tags
  EXPECT_LT(seconds_to_analyze(big, report), kBound);
  EXPECT_TRUE(report.truncated);
  EXPECT_EQ(report.truncation_reasons.size(), 2u);  // over 5 MiB, then over 200,000 nodes
  EXPECT_LE(report.bytes_analyzed, 5u << 20);
  EXPECT_EQ(lines_of(report, "html-span"), Lines{1});

  std::mt19937 random(7);
  std::string binary(3u << 20, '\0');
  for (char& c : binary) c = static_cast<char>(random());
  EXPECT_LT(seconds_to_analyze(binary, report), kBound);
  (void)full_json(report);
  (void)mailtrap_json(report);
}

TEST(HtmlCheckHostile, HostileCss) {
  Report report;
  const std::string braces = "<style>" + repeat("a{", 300'000) + "</style><p style=\"" + repeat("(", 100'000) + "\">";
  EXPECT_LT(seconds_to_analyze(braces, report), kBound);
  EXPECT_TRUE(find(report, "css-selector-type"));
  const std::string selectors = "<style>" + repeat(":not(", 50'000) + "</style>";
  EXPECT_LT(seconds_to_analyze(selectors, report), kBound);
  const std::string lines = "<style>\n" + repeat("a { color: red }\n", 100'000) + "</style>";
  EXPECT_LT(seconds_to_analyze(lines, report), kBound);
  const Finding* type = find(report, "css-selector-type");
  ASSERT_TRUE(type);
  EXPECT_EQ(type->line_count, 100'000u);
  EXPECT_EQ(type->lines.size(), kMaxLinesPerFinding);
}

TEST(HtmlCheckConcurrency, ParallelAnalyses) {
  const std::string html = "<table style=\"width:100%\"><tr><td><wbr><a href=\"#x\">x</a></td></tr></table>";
  const std::string expected = json::serialize(full_json(analyze(html)));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (json::serialize(full_json(analyze(html))) != expected) ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, (std::vector<int>{0, 0, 0, 0}));
}
