#include "htmlcheck/feature_data.h"

#include <algorithm>
#include <boost/json.hpp>
#include <stdexcept>

// The embedded files (embedded_data.cpp): first byte and one past the last.
extern "C" {
extern const char postroom_htmlcheck_caniemail_json[];
extern const char postroom_htmlcheck_caniemail_json_end[];
extern const char postroom_htmlcheck_market_share_json[];
extern const char postroom_htmlcheck_market_share_json_end[];
}

namespace postroom::htmlcheck::data {
namespace {

namespace json = boost::json;

std::string string_or_empty(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value && value->is_string() ? std::string(value->get_string()) : std::string();
}

bool is_test_date(std::string_view version) {
  if (version.size() != 7 || version[4] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6}) {
    if (version[i] < '0' || version[i] > '9') return false;
  }
  return true;
}

// Releases no longer in common use, left out of the counted versions.
bool is_obsolete(std::string_view family, std::string_view platform, std::string_view version) {
  return family == "outlook" && platform == "windows" && version == "2003";
}

Group group_of(std::string_view platform) {
  if (platform == "ios" || platform == "android") return Group::mobile;
  if (platform == "windows" || platform == "macos" || platform == "windows-mail" || platform == "desktop-app" ||
      platform == "linux") {
    return Group::desktop;
  }
  return Group::web;  // desktop-webmail, mobile-webmail, webmail, outlook-com
}

Family family_of(std::string_view family) {
  if (family == "apple-mail") return Family::apple_mail;
  if (family == "gmail") return Family::gmail;
  if (family == "outlook") return Family::outlook;
  if (family == "yahoo") return Family::yahoo;
  return Family::other;
}

std::string client_label(std::string_view family, std::string_view platform, const std::string& family_label,
                         const std::string& platform_label) {
  if (family == "outlook" && platform == "outlook-com") return "Outlook.com";
  if (family == "outlook" && platform == "windows-mail") return "Windows Mail";
  return family_label + " " + platform_label;
}

// "a #1 #3" → 'a', {1, 3}
VersionSupport parse_value(std::string version, std::string_view text) {
  VersionSupport entry;
  entry.version = std::move(version);
  entry.numbered = !is_test_date(entry.version);
  std::size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  if (i < text.size()) entry.value = text[i];
  for (std::size_t hash = text.find('#'); hash != std::string_view::npos; hash = text.find('#', hash + 1)) {
    int number = 0;
    bool digits = false;
    for (std::size_t k = hash + 1; k < text.size() && text[k] >= '0' && text[k] <= '9' && number < 100000; ++k) {
      number = number * 10 + (text[k] - '0');
      digits = true;
    }
    if (digits) entry.notes.push_back(number);
  }
  return entry;
}

std::string_view embedded(const char* begin, const char* end) {
  return {begin,
          static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(end) - reinterpret_cast<std::uintptr_t>(begin))};
}

Data load() {
  Data data;
  const json::object caniemail = json::parse(caniemail_json()).as_object();
  const json::object shares = json::parse(market_share_json()).as_object();
  data.caniemail_last_update = string_or_empty(caniemail, "last_update_date");
  data.caniemail_api_version = string_or_empty(caniemail, "api_version");
#ifdef POSTROOM_CANIEMAIL_VERSION
  data.caniemail_package_version = POSTROOM_CANIEMAIL_VERSION;
#endif
  const json::object& source = shares.at("source").as_object();
  data.market_share_name = string_or_empty(source, "name");
  data.market_share_title = string_or_empty(source, "title");
  data.market_share_url = string_or_empty(source, "url");
  data.market_share_period = string_or_empty(source, "period");
  data.market_share_published = string_or_empty(source, "published");

  const json::object empty;
  const json::object* nicenames = caniemail.if_contains("nicenames") ? &caniemail.at("nicenames").as_object() : &empty;
  const auto nicename = [&](std::string_view kind, std::string_view key) {
    if (const json::value* names = nicenames->if_contains(kind); names && names->is_object()) {
      if (const json::value* name = names->as_object().if_contains(key); name && name->is_string()) {
        return std::string(name->get_string());
      }
    }
    return std::string(key);
  };

  // Clients: every family/platform caniemail has data for, in the order of Mailtrap's families.
  const json::array& features = caniemail.at("data").as_array();
  std::map<std::pair<std::string, std::string>, std::size_t> client_index;
  for (const json::value& feature : features) {
    const json::value* stats = feature.as_object().if_contains("stats");
    if (!stats || !stats->is_object()) continue;
    for (const auto& [family, platforms] : stats->as_object()) {
      if (!platforms.is_object()) continue;
      for (const auto& [platform, versions] : platforms.as_object()) {
        const auto key = std::make_pair(std::string(family), std::string(platform));
        if (client_index.count(key)) continue;
        client_index.emplace(key, data.clients.size());
        Client& client = data.clients.emplace_back();
        client.family = key.first;
        client.platform = key.second;
        client.family_label = nicename("family", client.family);
        client.platform_label = nicename("platform", client.platform);
        client.label = client_label(client.family, client.platform, client.family_label, client.platform_label);
        client.family_group = family_of(client.family);
        client.group = group_of(client.platform);
      }
    }
  }
  for (const json::value& entry : shares.at("clients").as_array()) {
    const json::object& share = entry.as_object();
    const auto key = std::make_pair(string_or_empty(share, "family"), string_or_empty(share, "platform"));
    const auto it = client_index.find(key);
    if (it != client_index.end()) data.clients[it->second].share = share.at("share").to_number<double>();
  }
  std::vector<std::size_t> order(data.clients.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const Client& x = data.clients[a];
    const Client& y = data.clients[b];
    if (x.family_group != y.family_group) return x.family_group < y.family_group;
    if (x.family != y.family) return x.family < y.family;
    return a < b;
  });
  std::vector<Client> sorted;
  for (std::size_t i : order) sorted.push_back(std::move(data.clients[i]));
  data.clients = std::move(sorted);
  client_index.clear();
  for (std::size_t i = 0; i < data.clients.size(); ++i) {
    client_index.emplace(std::make_pair(data.clients[i].family, data.clients[i].platform), i);
  }

  for (const json::value& value : features) {
    const json::object& object = value.as_object();
    Feature& feature = data.features.emplace_back();
    feature.slug = string_or_empty(object, "slug");
    feature.title = string_or_empty(object, "title");
    feature.description = string_or_empty(object, "description");
    feature.url = string_or_empty(object, "url");
    feature.category = string_or_empty(object, "category");
    feature.last_test_date = string_or_empty(object, "last_test_date");
    feature.notes = string_or_empty(object, "notes");
    if (const json::value* notes = object.if_contains("notes_by_num"); notes && notes->is_object()) {
      for (const auto& [number, text] : notes->as_object()) {
        if (!text.is_string()) continue;
        int n = 0;
        for (char c : number) {
          if (c < '0' || c > '9' || n > 100000) break;
          n = n * 10 + (c - '0');
        }
        feature.notes_by_num.emplace(n, std::string(text.get_string()));
      }
    }
    feature.clients.resize(data.clients.size());
    if (const json::value* stats = object.if_contains("stats"); stats && stats->is_object()) {
      for (const auto& [family, platforms] : stats->as_object()) {
        if (!platforms.is_object()) continue;
        for (const auto& [platform, versions] : platforms.as_object()) {
          if (!versions.is_object()) continue;
          std::vector<std::pair<std::string, std::string>> entries;
          for (const auto& [version, support] : versions.as_object()) {
            if (support.is_string()) entries.emplace_back(std::string(version), std::string(support.get_string()));
          }
          const auto it = client_index.find(std::make_pair(std::string(family), std::string(platform)));
          if (it != client_index.end()) feature.clients[it->second] = client_support(family, platform, entries);
        }
      }
    }
    data.feature_index.emplace(feature.slug, data.features.size() - 1);
  }
  return data;
}

}  // namespace

std::string_view group_key(Group group) {
  switch (group) {
    case Group::desktop:
      return "desktop";
    case Group::mobile:
      return "mobile";
    case Group::web:
      return "web";
  }
  return "desktop";
}

std::string_view family_key(Family family) {
  switch (family) {
    case Family::apple_mail:
      return "apple-mail";
    case Family::gmail:
      return "gmail";
    case Family::outlook:
      return "outlook";
    case Family::yahoo:
      return "yahoo";
    case Family::other:
      return "other";
  }
  return "other";
}

std::string_view family_name(Family family) {
  switch (family) {
    case Family::apple_mail:
      return "Apple Mail";
    case Family::gmail:
      return "Gmail";
    case Family::outlook:
      return "Outlook";
    case Family::yahoo:
      return "Yahoo! Mail";
    case Family::other:
      return "Other";
  }
  return "Other";
}

const Feature* Data::find(std::string_view slug) const {
  const auto it = feature_index.find(std::string(slug));
  return it == feature_index.end() ? nullptr : &features[it->second];
}

ClientSupport client_support(std::string_view family, std::string_view platform,
                             const std::vector<std::pair<std::string, std::string>>& entries) {
  std::size_t last_date = entries.size();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (is_test_date(entries[i].first)) last_date = i;
  }
  ClientSupport result;
  bool any_full = false;
  bool any_none = false;
  bool any_partial = false;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const bool dated = is_test_date(entries[i].first);
    if (dated ? i != last_date : is_obsolete(family, platform, entries[i].first)) continue;
    VersionSupport entry = parse_value(entries[i].first, entries[i].second);
    any_full |= entry.value == 'y';
    any_none |= entry.value == 'n';
    any_partial |= entry.value == 'a';
    result.versions.push_back(std::move(entry));
  }
  if (any_partial || (any_full && any_none)) {
    result.support = Support::partial;
  } else if (any_none) {
    result.support = Support::none;
  } else if (any_full) {
    result.support = Support::full;
  }
  return result;
}

const Data& get() {
  static const Data data = load();
  return data;
}

std::string_view caniemail_json() {
  return embedded(postroom_htmlcheck_caniemail_json, postroom_htmlcheck_caniemail_json_end);
}

std::string_view market_share_json() {
  return embedded(postroom_htmlcheck_market_share_json, postroom_htmlcheck_market_share_json_end);
}

}  // namespace postroom::htmlcheck::data
