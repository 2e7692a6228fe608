#pragma once
// The Email Sandbox's HTML Check: which HTML/CSS features of a message's HTML email clients do not (fully)
// support, and the market support of the whole message (Mailtrap's "HTML Check" and its algorithm).
//
//   1. Detection (html_scan.h, css_scan.h): myhtml parses the HTML; elements, attributes, the CSS of <style>
//      elements and style="" attributes, image formats, the doctype and comments map to caniemail feature slugs,
//      each with the 1-based source lines where it occurs. Only features that occur are reported.
//   2. Support data (feature_data.h): caniemail's per-client, per-version support, compiled in, and the client
//      market shares (src/htmlcheck/data/email-client-market-share.json).
//   3. Scoring: a client (family + platform, e.g. Gmail Android) takes the worst support level over all features
//      the message uses — none > partial > full; unknown counts as full. Per family (Apple Mail, Gmail, Outlook,
//      Yahoo! Mail, Other) and per platform (desktop, mobile, web), and overall, the report gives the share of
//      clients with full, partial and no support, weighted by market share (and the plain client counts, as in
//      Mailtrap's worked example). The Market Support is the overall full-support share.
//   A filter (families, platforms) restricts the clients and everything is recomputed over them.
//
// Input is bounded: HTML over 5 MiB, with more than 200,000 nodes or nested deeper than 2,048 elements is
// analyzed up to about that point and the report says so (`truncated`); analyze() does not throw on any input.
// Domain code: no HTTP here (the JSON renderers only shape the report).
#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace postroom::htmlcheck {

struct Filter {
  // "apple-mail", "gmail", "outlook", "yahoo", "other" (or "Apple Mail", "Yahoo! Mail", … any case); empty = all.
  std::vector<std::string> families;
  // "desktop", "mobile", "web"; empty = all.
  std::vector<std::string> platforms;
};

enum class Support { full, partial, none };

// One caniemail entry behind a client's support level.
struct VersionSupport {
  std::string version;     // "2016", "16.80", or a test date "2024-01"
  char value = 'u';        // caniemail's 'y', 'n', 'a' (partial) or 'u' (unknown)
  std::vector<int> notes;  // numbered notes it refers to
};

// A client that does not fully support a finding.
struct ClientIssue {
  std::string family;        // caniemail key: "outlook"
  std::string platform;      // caniemail key: "windows"
  std::string label;         // "Outlook Windows"
  std::string group;         // "desktop", "mobile" or "web"
  std::string family_group;  // "apple-mail", "gmail", "outlook", "yahoo" or "other"
  Support support = Support::none;
  std::vector<VersionSupport> versions;  // the versions counted for the client
};

struct Finding {
  std::string slug;  // caniemail slug: "css-display-flex"
  std::string title;
  std::string category;  // "html", "css", "image" or "others"
  std::string description;
  std::string url;                            // caniemail page
  std::vector<std::uint32_t> lines;           // 1-based, ascending; at most kMaxLinesPerFinding
  std::size_t line_count = 0;                 // before the cap
  Support support = Support::full;            // worst over the selected clients
  std::string notes;                          // caniemail's general notes
  std::map<int, std::string> numbered_notes;  // those the selected clients' versions refer to
  std::vector<ClientIssue> clients;           // selected clients without full support: none first, then partial
};

struct Breakdown {
  std::string key;   // "gmail" / "web" / "all"
  std::string name;  // "Gmail" / "Web" / "All"
  std::size_t clients = 0;
  std::size_t full_clients = 0;
  std::size_t partial_clients = 0;
  std::size_t none_clients = 0;
  double market_share = 0;  // percent of the selected clients' market share
  // Percent of this group's market share (or of its client count when the group has no share).
  double full = 100;
  double partial = 0;
  double none = 0;
};

struct ClientResult {
  std::string family;
  std::string platform;
  std::string label;
  std::string group;
  std::string family_group;
  double market_share = 0;  // percent of the selected clients' market share
  Support support = Support::full;
};

struct DataSource {
  std::string name;
  std::string url;
  std::string version;  // caniemail package version / market share period
  std::string date;     // caniemail last update / market share publication
  std::string license;
};

inline constexpr std::size_t kMaxLinesPerFinding = 5000;

struct Report {
  double market_support = 100;       // percent of the selected market share that fully supports every feature used
  Breakdown overall;                 // full / partial / none over all selected clients
  std::vector<Breakdown> families;   // Apple Mail, Gmail, Outlook, Yahoo! Mail, Other (those selected)
  std::vector<Breakdown> platforms;  // desktop, mobile, web (those selected)
  std::vector<ClientResult> clients;
  std::vector<Finding> findings;  // every feature found: no support first, then partial, then full; by title
  Filter filter;                  // as applied: keys, all of them when the request left a list empty
  bool truncated = false;
  std::vector<std::string> truncation_reasons;
  std::size_t bytes_analyzed = 0;
  DataSource support_data;  // caniemail
  DataSource market_data;   // client market shares
};

// Throws std::invalid_argument for an unknown family or platform, or a filter that selects no client.
Report analyze(std::string_view html, const Filter& filter = {});

// Mailtrap's GET …/messages/{id}/analyze body: {"report":{"status":"success","errors":[{"error_line":N,
// "rule_name":"…","email_clients":{"desktop":[…],"mobile":[…],"web":[…]}}]}}, one error per (feature, line) for
// the features some selected client does not fully support.
boost::json::object mailtrap_json(const Report& report);

// Everything, for the UI: market support, breakdowns, clients, findings with notes, clients and lines, filter,
// truncation and the data sources with their dates.
boost::json::object full_json(const Report& report);

std::string_view to_string(Support support);  // "full", "partial", "none"

}  // namespace postroom::htmlcheck
