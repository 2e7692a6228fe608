#include "htmlcheck/html_check.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <set>
#include <stdexcept>

#include "htmlcheck/feature_data.h"
#include "htmlcheck/html_scan.h"

namespace postroom::htmlcheck {
namespace {

namespace json = boost::json;

std::string normalize(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == ' ' || c == '_') c = '-';
    if (c == '!' || c == '\t') continue;
    out += c;
  }
  while (!out.empty() && out.front() == '-') out.erase(out.begin());
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

data::Family parse_family(const std::string& text) {
  const std::string key = normalize(text);
  if (key == "apple-mail" || key == "apple" || key == "applemail") return data::Family::apple_mail;
  if (key == "gmail") return data::Family::gmail;
  if (key == "outlook") return data::Family::outlook;
  if (key == "yahoo" || key == "yahoo-mail") return data::Family::yahoo;
  if (key == "other") return data::Family::other;
  throw std::invalid_argument("unknown email client family \"" + text +
                              "\": use apple-mail, gmail, outlook, yahoo or other");
}

data::Group parse_group(const std::string& text) {
  const std::string key = normalize(text);
  if (key == "desktop") return data::Group::desktop;
  if (key == "mobile") return data::Group::mobile;
  if (key == "web" || key == "webmail") return data::Group::web;
  throw std::invalid_argument("unknown email client platform \"" + text + "\": use desktop, mobile or web");
}

Support worse(Support a, Support b) { return static_cast<int>(a) >= static_cast<int>(b) ? a : b; }

Support from_data(data::Support support) {
  switch (support) {
    case data::Support::partial:
      return Support::partial;
    case data::Support::none:
      return Support::none;
    default:
      return Support::full;  // unknown counts as full: no evidence against the client
  }
}

// Adds one client with its weight to a breakdown's tallies; percentages are filled by finish().
struct Tally {
  Breakdown breakdown;
  double weight = 0;
  double weights[3] = {0, 0, 0};

  void add(Support support, double share) {
    ++breakdown.clients;
    weight += share;
    weights[static_cast<int>(support)] += share;
    if (support == Support::full) ++breakdown.full_clients;
    if (support == Support::partial) ++breakdown.partial_clients;
    if (support == Support::none) ++breakdown.none_clients;
  }

  Breakdown finish(double total_weight) {
    if (breakdown.clients == 0) return breakdown;
    breakdown.market_share = total_weight > 0 ? 100.0 * weight / total_weight : 0;
    if (weight > 0) {
      breakdown.full = 100.0 * weights[0] / weight;
      breakdown.partial = 100.0 * weights[1] / weight;
      breakdown.none = 100.0 * weights[2] / weight;
    } else {  // no market share known for the group: count clients
      const double n = static_cast<double>(breakdown.clients);
      breakdown.full = 100.0 * static_cast<double>(breakdown.full_clients) / n;
      breakdown.partial = 100.0 * static_cast<double>(breakdown.partial_clients) / n;
      breakdown.none = 100.0 * static_cast<double>(breakdown.none_clients) / n;
    }
    return breakdown;
  }
};

std::string group_name(data::Group group) {
  switch (group) {
    case data::Group::desktop:
      return "Desktop";
    case data::Group::mobile:
      return "Mobile";
    case data::Group::web:
      return "Web";
  }
  return "Desktop";
}

double rounded(double value) { return std::round(value * 100.0) / 100.0; }

json::object breakdown_json(const Breakdown& b) {
  return {{"key", b.key},
          {"name", b.name},
          {"market_share", rounded(b.market_share)},
          {"full", rounded(b.full)},
          {"partial", rounded(b.partial)},
          {"none", rounded(b.none)},
          {"clients",
           {{"total", b.clients}, {"full", b.full_clients}, {"partial", b.partial_clients}, {"none", b.none_clients}}}};
}

// "Outlook Windows 2013, 2016": the client and, when it has numbered releases, those not fully supporting it.
std::string issue_label(const ClientIssue& issue) {
  std::string versions;
  for (const VersionSupport& v : issue.versions) {
    const bool dated = v.version.size() == 7 && v.version[4] == '-';
    if (dated || v.value == 'y' || v.value == 'u') continue;
    versions += versions.empty() ? " " : ", ";
    versions += v.version;
  }
  return issue.label + versions;
}

}  // namespace

std::string_view to_string(Support support) {
  switch (support) {
    case Support::full:
      return "full";
    case Support::partial:
      return "partial";
    case Support::none:
      return "none";
  }
  return "full";
}

Report analyze(std::string_view html, const Filter& filter) {
  const data::Data& support_data = data::get();

  std::set<data::Family> families;
  std::set<data::Group> groups;
  for (const std::string& f : filter.families) families.insert(parse_family(f));
  for (const std::string& p : filter.platforms) groups.insert(parse_group(p));
  if (families.empty()) {
    families = {data::Family::apple_mail, data::Family::gmail, data::Family::outlook, data::Family::yahoo,
                data::Family::other};
  }
  if (groups.empty()) groups = {data::Group::desktop, data::Group::mobile, data::Group::web};

  std::vector<std::size_t> selected;
  for (std::size_t i = 0; i < support_data.clients.size(); ++i) {
    const data::Client& client = support_data.clients[i];
    if (families.count(client.family_group) && groups.count(client.group)) selected.push_back(i);
  }
  if (selected.empty()) {
    throw std::invalid_argument(
        "the filter selects no email client: check at least one family and one platform it has");
  }

  Report report;
  for (data::Family f : families) report.filter.families.emplace_back(data::family_key(f));
  for (data::Group g : groups) report.filter.platforms.emplace_back(data::group_key(g));
  report.support_data = {"caniemail", "https://www.caniemail.com", support_data.caniemail_package_version,
                         support_data.caniemail_last_update, "MIT"};
  report.market_data = {support_data.market_share_name + ": " + support_data.market_share_title,
                        support_data.market_share_url, support_data.market_share_period,
                        support_data.market_share_published, ""};

  HtmlScan scan = scan_html(html);
  report.truncated = scan.truncated;
  report.truncation_reasons = std::move(scan.truncation_reasons);
  report.bytes_analyzed = scan.bytes_analyzed;

  // Each selected client's worst support over the features used.
  std::vector<Support> client_support(support_data.clients.size(), Support::full);
  for (auto& [slug, lines] : scan.features) {
    const data::Feature* feature = support_data.find(slug);
    if (!feature) continue;
    Finding finding;
    finding.slug = feature->slug;
    finding.title = feature->title;
    finding.category = feature->category;
    finding.description = feature->description;
    finding.url = feature->url;
    finding.notes = feature->notes;
    finding.line_count = lines.size();
    if (lines.size() > kMaxLinesPerFinding) lines.resize(kMaxLinesPerFinding);
    finding.lines = std::move(lines);
    std::set<int> note_numbers;
    for (std::size_t i : selected) {
      const data::ClientSupport& cs = feature->clients[i];
      for (const data::VersionSupport& v : cs.versions) note_numbers.insert(v.notes.begin(), v.notes.end());
      const Support support = from_data(cs.support);
      client_support[i] = worse(client_support[i], support);
      finding.support = worse(finding.support, support);
      if (support == Support::full) continue;
      const data::Client& client = support_data.clients[i];
      ClientIssue& issue = finding.clients.emplace_back();
      issue.family = client.family;
      issue.platform = client.platform;
      issue.label = client.label;
      issue.group = std::string(data::group_key(client.group));
      issue.family_group = std::string(data::family_key(client.family_group));
      issue.support = support;
      for (const data::VersionSupport& v : cs.versions) issue.versions.push_back({v.version, v.value, v.notes});
    }
    std::stable_sort(finding.clients.begin(), finding.clients.end(), [](const ClientIssue& a, const ClientIssue& b) {
      return static_cast<int>(a.support) > static_cast<int>(b.support);
    });
    for (int n : note_numbers) {
      if (const auto it = feature->notes_by_num.find(n); it != feature->notes_by_num.end()) {
        finding.numbered_notes.emplace(n, it->second);
      }
    }
    report.findings.push_back(std::move(finding));
  }
  std::stable_sort(report.findings.begin(), report.findings.end(), [](const Finding& a, const Finding& b) {
    if (a.support != b.support) return static_cast<int>(a.support) > static_cast<int>(b.support);
    return a.title < b.title;
  });

  // Weighted shares: overall, per family, per platform.
  double total = 0;
  for (std::size_t i : selected) total += support_data.clients[i].share;
  Tally overall;
  overall.breakdown.key = "all";
  overall.breakdown.name = "All";
  std::map<data::Family, Tally> by_family;
  std::map<data::Group, Tally> by_group;
  for (std::size_t i : selected) {
    const data::Client& client = support_data.clients[i];
    const Support support = client_support[i];
    overall.add(support, client.share);
    by_family[client.family_group].add(support, client.share);
    by_group[client.group].add(support, client.share);
    report.clients.push_back({client.family, client.platform, client.label, std::string(data::group_key(client.group)),
                              std::string(data::family_key(client.family_group)),
                              total > 0 ? 100.0 * client.share / total : 0, support});
  }
  report.overall = overall.finish(total);
  report.market_support = report.overall.full;
  for (auto& [family, tally] : by_family) {
    tally.breakdown.key = std::string(data::family_key(family));
    tally.breakdown.name = std::string(data::family_name(family));
    report.families.push_back(tally.finish(total));
  }
  for (auto& [group, tally] : by_group) {
    tally.breakdown.key = std::string(data::group_key(group));
    tally.breakdown.name = group_name(group);
    report.platforms.push_back(tally.finish(total));
  }
  return report;
}

json::object mailtrap_json(const Report& report) {
  struct Error {
    std::uint32_t line;
    const Finding* finding;
  };
  std::vector<Error> errors;
  for (const Finding& finding : report.findings) {
    if (finding.clients.empty()) continue;
    for (std::uint32_t line : finding.lines) errors.push_back({line, &finding});
  }
  std::stable_sort(errors.begin(), errors.end(), [](const Error& a, const Error& b) {
    if (a.line != b.line) return a.line < b.line;
    return a.finding->title < b.finding->title;
  });
  // The client lists depend on the finding only: build each once.
  std::map<const Finding*, json::object> clients;
  json::array list;
  list.reserve(errors.size());
  for (const Error& error : errors) {
    auto it = clients.find(error.finding);
    if (it == clients.end()) {
      json::array desktop, mobile, web;
      for (const ClientIssue& issue : error.finding->clients) {
        json::array& group = issue.group == "desktop" ? desktop : issue.group == "mobile" ? mobile : web;
        group.emplace_back(issue_label(issue));
      }
      it = clients
               .emplace(error.finding,
                        json::object{
                            {"desktop", std::move(desktop)}, {"mobile", std::move(mobile)}, {"web", std::move(web)}})
               .first;
    }
    list.emplace_back(
        json::object{{"error_line", error.line}, {"rule_name", error.finding->title}, {"email_clients", it->second}});
  }
  return {{"report", {{"status", "success"}, {"errors", std::move(list)}}}};
}

json::object full_json(const Report& report) {
  json::array families, platforms, clients, findings;
  for (const Breakdown& b : report.families) families.emplace_back(breakdown_json(b));
  for (const Breakdown& b : report.platforms) platforms.emplace_back(breakdown_json(b));
  for (const ClientResult& c : report.clients) {
    clients.emplace_back(json::object{{"family", c.family},
                                      {"platform", c.platform},
                                      {"label", c.label},
                                      {"group", c.group},
                                      {"family_group", c.family_group},
                                      {"market_share", rounded(c.market_share)},
                                      {"support", to_string(c.support)}});
  }
  for (const Finding& f : report.findings) {
    json::array lines(f.lines.begin(), f.lines.end());
    json::object numbered;
    for (const auto& [n, text] : f.numbered_notes) numbered[std::to_string(n)] = text;
    json::array issues;
    json::array desktop, mobile, web;
    for (const ClientIssue& issue : f.clients) {
      json::array versions;
      for (const VersionSupport& v : issue.versions) {
        versions.emplace_back(json::object{{"version", v.version},
                                           {"support", std::string(1, v.value)},
                                           {"notes", json::array(v.notes.begin(), v.notes.end())}});
      }
      issues.emplace_back(json::object{{"family", issue.family},
                                       {"platform", issue.platform},
                                       {"label", issue.label},
                                       {"group", issue.group},
                                       {"family_group", issue.family_group},
                                       {"support", to_string(issue.support)},
                                       {"versions", std::move(versions)}});
      json::array& group = issue.group == "desktop" ? desktop : issue.group == "mobile" ? mobile : web;
      group.emplace_back(issue_label(issue));
    }
    json::object finding{
        {"slug", f.slug},
        {"title", f.title},
        {"category", f.category},
        {"description", f.description},
        {"url", f.url},
        {"support", to_string(f.support)},
        {"lines", std::move(lines)},
        {"line_count", f.line_count},
        {"notes", f.notes},
        {"numbered_notes", std::move(numbered)},
        {"clients", std::move(issues)},
        {"email_clients", {{"desktop", std::move(desktop)}, {"mobile", std::move(mobile)}, {"web", std::move(web)}}}};
    findings.emplace_back(std::move(finding));
  }
  json::array filter_families(report.filter.families.begin(), report.filter.families.end());
  json::array filter_platforms(report.filter.platforms.begin(), report.filter.platforms.end());
  json::array reasons(report.truncation_reasons.begin(), report.truncation_reasons.end());
  return {
      {"status", "success"},
      {"market_support", rounded(report.market_support)},
      {"overall", breakdown_json(report.overall)},
      {"families", std::move(families)},
      {"platforms", std::move(platforms)},
      {"clients", std::move(clients)},
      {"findings", std::move(findings)},
      {"filter", {{"families", std::move(filter_families)}, {"platforms", std::move(filter_platforms)}}},
      {"truncated", report.truncated},
      {"truncation_reasons", std::move(reasons)},
      {"bytes_analyzed", report.bytes_analyzed},
      {"data_sources",
       {{"support",
         {{"name", report.support_data.name},
          {"url", report.support_data.url},
          {"version", report.support_data.version},
          {"date", report.support_data.date},
          {"license", report.support_data.license}}},
        {"market_share",
         {{"name", report.market_data.name},
          {"url", report.market_data.url},
          {"period", report.market_data.version},
          {"date", report.market_data.date}}}}},
  };
}

}  // namespace postroom::htmlcheck
