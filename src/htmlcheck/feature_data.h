#pragma once
// The support data behind the HTML Check, compiled into the library (embedded_data.cpp) and parsed once:
// caniemail's features (npm `caniemail`, MIT, data/caniemail.json) and the email client market shares
// (data/email-client-market-share.json, with its published source and mapping assumptions).
//
// A client is a caniemail family + platform (gmail/android). Which of a client's version entries count — the
// "versions in common use" of the Mailtrap algorithm:
//   - entries keyed by a test date (YYYY-MM) are re-tests of one continuously updated client (a webmail, an
//     auto-updating app): only the most recent one counts;
//   - entries keyed by a version number are separate releases people still run (Outlook 2007…2021 on Windows,
//     macOS and iOS Mail versions, Samsung Email…): all count, except Outlook 2003 (out of support since 2014).
// The client's support for a feature over the counted entries: all "y" → full; all "n" → none; any "a" or a
// mix of "y" and "n" → partial (Mailtrap: "at least one of the versions of this client doesn't support it").
// "u" (unknown) entries are ignored; a client with no known entry, or absent from a feature's data, is
// `unknown` and counts as full support when scoring (no evidence against it).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace postroom::htmlcheck::data {

enum class Support : std::uint8_t { full, partial, none, unknown };
enum class Group : std::uint8_t { desktop, mobile, web };
// Mailtrap's five families; everything but the first four is "other".
enum class Family : std::uint8_t { apple_mail, gmail, outlook, yahoo, other };

std::string_view group_key(Group group);      // "desktop", "mobile", "web"
std::string_view family_key(Family family);   // "apple-mail", "gmail", "outlook", "yahoo", "other"
std::string_view family_name(Family family);  // "Apple Mail", "Gmail", "Outlook", "Yahoo! Mail", "Other"

struct Client {
  std::string family;          // caniemail family key: "gmail"
  std::string platform;        // caniemail platform key: "android"
  std::string family_label;    // caniemail nice name: "Gmail"
  std::string platform_label;  // "Android"
  std::string label;           // "Gmail Android"
  Family family_group = Family::other;
  Group group = Group::desktop;
  double share = 0;  // market share weight, in percent of all opens
};

struct VersionSupport {
  std::string version;
  char value = 'u';        // 'y', 'n', 'a' or 'u' as in caniemail
  std::vector<int> notes;  // note numbers ("a #1 #3" → 1, 3)
  bool numbered = false;   // keyed by a version number rather than a test date
};

struct ClientSupport {
  Support support = Support::unknown;
  std::vector<VersionSupport> versions;  // the counted entries, in caniemail's order
};

struct Feature {
  std::string slug;
  std::string title;
  std::string description;
  std::string url;
  std::string category;  // html, css, image, others
  std::string last_test_date;
  std::string notes;  // general notes (may be empty)
  std::map<int, std::string> notes_by_num;
  std::vector<ClientSupport> clients;  // indexed like Data::clients
};

struct Data {
  std::vector<Client> clients;
  std::vector<Feature> features;
  std::unordered_map<std::string, std::size_t> feature_index;

  std::string caniemail_last_update;
  std::string caniemail_api_version;
  std::string caniemail_package_version;

  std::string market_share_name;
  std::string market_share_title;
  std::string market_share_url;
  std::string market_share_period;
  std::string market_share_published;

  const Feature* find(std::string_view slug) const;
};

// Parsed on first use (thread-safe), then shared read-only.
const Data& get();

// The embedded files as compiled in.
std::string_view caniemail_json();
std::string_view market_share_json();

// The counted entries of one client's caniemail stats and the support they add up to (exposed for tests).
ClientSupport client_support(std::string_view family, std::string_view platform,
                             const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace postroom::htmlcheck::data
