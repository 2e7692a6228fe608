#include "sandbox/analysis.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "spamcheck/links.h"
#include "store/message_reports_store.h"

namespace postroom::sandbox {
namespace json = boost::json;

namespace {

constexpr const char* kSpamReport = "spam";
constexpr const char* kBlacklistsReport = "blacklists";

std::optional<json::object> parse_object(const std::string& text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

}  // namespace

MessageAnalysis::MessageAnalysis(store::Database& db, const Clock& clock, MessagesService& messages,
                                 AnalysisSettings settings, std::shared_ptr<const dns::Resolver> resolver)
    : db_(db),
      clock_(clock),
      messages_(messages),
      settings_(std::move(settings)),
      spamd_(settings_.spamd),
      resolver_(std::move(resolver)) {}

void MessageAnalysis::keep(std::int64_t message_id, const std::string& kind, const std::string& report) {
  try {
    db_.write(
        [&](store::Tx& tx) { store::MessageReportsStore(tx).save_report(message_id, kind, report, clock_.now()); });
  } catch (const std::exception& e) {
    // The message went away meanwhile: the report is still the answer to this request.
    spdlog::debug("report {} of message {} not kept: {}", kind, message_id, e.what());
  }
}

std::optional<std::string> MessageAnalysis::html_of(std::int64_t account_id, std::int64_t inbox_id,
                                                    std::int64_t message_id) {
  try {
    return messages_.body(account_id, inbox_id, message_id, BodyKind::html_source).content;
  } catch (const PartMissing&) {
    return std::nullopt;
  }
}

std::string MessageAnalysis::spam_report(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id) {
  messages_.get(account_id, inbox_id, message_id);  // NotFound before anything else
  const auto stored =
      db_.read([&](store::Tx& tx) { return store::MessageReportsStore(tx).report(message_id, kSpamReport); });
  if (stored) return *stored;
  std::string body = spamcheck::to_json_text(spamd_.check(messages_.raw(account_id, inbox_id, message_id)));
  keep(message_id, kSpamReport, body);
  return body;
}

json::object MessageAnalysis::blacklists_report(std::int64_t account_id, std::int64_t inbox_id, std::int64_t message_id,
                                                bool refresh) {
  const MessageSummary message = messages_.get(account_id, inbox_id, message_id);
  if (!refresh) {
    const auto stored =
        db_.read([&](store::Tx& tx) { return store::MessageReportsStore(tx).report(message_id, kBlacklistsReport); });
    if (stored) {
      if (auto report = parse_object(*stored)) return *report;
    }
  }
  std::string client_ip;
  boost::system::error_code ec;
  const json::value envelope = json::parse(message.smtp_json, ec);
  if (!ec && envelope.is_object()) {
    if (const json::value* ip = envelope.as_object().if_contains("client_ip"); ip && ip->is_string())
      client_ip = std::string(ip->as_string());
  }
  // The From domain first (the report's "domain"), then the domains the message links to. Nothing is fetched.
  std::vector<std::string> domains;
  if (auto from = spamcheck::email_domain(message.from_email)) domains.push_back(*from);
  std::string content = html_of(account_id, inbox_id, message_id).value_or("");
  try {
    const Body text = messages_.body(account_id, inbox_id, message_id, BodyKind::text);
    content.push_back('\n');
    content.append(text.content);
  } catch (const PartMissing&) {
    // HTML only
  }
  for (std::string& domain : spamcheck::link_domains(content))
    if (std::find(domains.begin(), domains.end(), domain) == domains.end()) domains.push_back(std::move(domain));
  const spamcheck::BlacklistReport report =
      spamcheck::check_blacklists(*resolver_, settings_.lists, client_ip, domains);
  json::object out = spamcheck::to_json(report);
  keep(message_id, kBlacklistsReport, json::serialize(out));
  return out;
}

std::map<std::int64_t, json::object> MessageAnalysis::stored_blacklists(const std::vector<std::int64_t>& message_ids) {
  std::map<std::int64_t, json::object> out;
  if (message_ids.empty()) return out;
  const auto stored =
      db_.read([&](store::Tx& tx) { return store::MessageReportsStore(tx).reports(message_ids, kBlacklistsReport); });
  for (const auto& [id, text] : stored) {
    if (auto report = parse_object(text)) out.emplace(id, std::move(*report));
  }
  return out;
}

}  // namespace postroom::sandbox
