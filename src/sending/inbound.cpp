#include "sending/inbound.h"

#include <spdlog/spdlog.h>

#include <regex>

#include "core/errors.h"
#include "mime/dsn.h"
#include "mime/raw_headers.h"
#include "mime/text.h"

namespace postroom::sending {
namespace {

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// The first VERP return path of ours quoted anywhere in a report (ARF reports carry the original message).
std::optional<std::string> verp_id_in(std::string_view raw) {
  static const std::regex verp(R"(b-([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})@)");
  std::match_results<std::string_view::const_iterator> match;
  const std::string_view window = raw.substr(0, std::min<std::size_t>(raw.size(), 1 << 20));
  if (!std::regex_search(window.begin(), window.end(), match, verp)) return std::nullopt;
  return mime::text::ascii_lower(match[1].str());
}

}  // namespace

InboundAddress classify_inbound_address(std::string_view local_part) {
  const std::string local = mime::text::ascii_lower(local_part);
  if (local.starts_with("b-") && is_uuid(std::string_view(local).substr(2)))
    return {InboundAddress::Kind::bounce, local.substr(2)};
  if (local.starts_with("unsubscribe+") && is_uuid(std::string_view(local).substr(12)))
    return {InboundAddress::Kind::unsubscribe, local.substr(12)};
  if (local == "fbl") return {InboundAddress::Kind::complaint, {}};
  return {};
}

smtp::SessionPolicy InboundMail::session_policy(const smtp::ConnectionInfo&) {
  smtp::SessionPolicy policy;
  policy.auth_enabled = false;
  policy.auth_required = false;
  return policy;
}

smtp::AuthResult InboundMail::authenticate(const smtp::AuthAttempt&) {
  return smtp::AuthResult::reject({503, "5.5.1", "AUTH not available"});
}

smtp::Reply InboundMail::mail_from(smtp::Transaction& transaction) {
  transaction.max_message_size = max_message_size_;
  return smtp::Reply::ok();
}

smtp::Reply InboundMail::rcpt_to(smtp::Transaction&, const smtp::Address& recipient) {
  const InboundAddress address = classify_inbound_address(recipient.local_part);
  switch (address.kind) {
    case InboundAddress::Kind::none:
      return {550, "5.1.1", "No such user here"};
    case InboundAddress::Kind::complaint:
      return smtp::Reply::ok();
    case InboundAddress::Kind::bounce:
    case InboundAddress::Kind::unsubscribe:
      if (!sending_.find_for_unsubscribe(address.message_id)) return {550, "5.1.1", "No such user here"};
      return smtp::Reply::ok();
  }
  return {550, "5.1.1", "No such user here"};
}

void InboundMail::bounce(const std::string& message_id, std::string_view raw) {
  auto dsn = mime::parse_dsn(raw);
  if (!dsn) dsn = mime::parse_plain_bounce(raw);
  if (!dsn || dsn->recipients.empty()) {
    spdlog::info("inbound: mail to the return path of {} is not a bounce; ignored", message_id);
    return;
  }
  // One recipient per delivery: the report's first failed (else delayed) group is ours.
  const mime::DsnRecipient* chosen = nullptr;
  for (const auto& r : dsn->recipients)
    if (r.action == "failed") {
      chosen = &r;
      break;
    }
  if (!chosen)
    for (const auto& r : dsn->recipients)
      if (r.action == "delayed") {
        chosen = &r;
        break;
      }
  if (!chosen) return;  // delivered / relayed / expanded: nothing went wrong
  const auto reply = mime::parse_diagnostic_code(chosen->diagnostic_code);
  const std::string enhanced = reply.enhanced.empty() ? chosen->status : reply.enhanced;
  const std::string text = reply.text.empty() ? chosen->diagnostic_code : reply.text;
  const Classification c = classifier_.classify(reply.code, enhanced, text, chosen->remote_mta);
  const bool permanent = chosen->action == "failed" && (c.permanent || enhanced.starts_with("5."));
  const auto* category = find_bounce_category(c.category);
  const std::string response =
      (reply.code ? std::to_string(reply.code) + " " : std::string()) + (enhanced.empty() ? "" : enhanced + " ") + text;
  sending_.record_async_bounce(message_id, permanent, c.category,
                               permanent && (c.suppress || (category && category->suppress)), enhanced, response,
                               chosen->remote_mta.empty() ? dsn->reporting_mta : chosen->remote_mta);
}

void InboundMail::complaint(std::string_view raw) {
  const auto id = verp_id_in(raw);
  if (!id) {
    spdlog::info("inbound: complaint report without one of our return paths; ignored");
    return;
  }
  std::string feedback_type = "abuse";
  static const std::regex type(R"(Feedback-Type:\s*([A-Za-z-]+))", std::regex::icase);
  std::match_results<std::string_view::const_iterator> match;
  const std::string_view window = raw.substr(0, std::min<std::size_t>(raw.size(), 1 << 20));
  if (std::regex_search(window.begin(), window.end(), match, type))
    feedback_type = mime::text::ascii_lower(match[1].str());
  try {
    sending_.record_complaint(*id, feedback_type);
  } catch (const NotFound&) {
    spdlog::info("inbound: complaint about unknown message {}; ignored", *id);
  }
}

smtp::Reply InboundMail::deliver(const smtp::Transaction& transaction, std::string message) {
  try {
    for (const auto& recipient : transaction.recipients) {
      const InboundAddress address = classify_inbound_address(recipient.local_part);
      switch (address.kind) {
        case InboundAddress::Kind::bounce:
          bounce(address.message_id, message);
          break;
        case InboundAddress::Kind::unsubscribe:
          sending_.unsubscribe(address.message_id, "mailto:" + transaction.mail_from.text());
          break;
        case InboundAddress::Kind::complaint:
          complaint(message);
          break;
        case InboundAddress::Kind::none:
          break;
      }
    }
  } catch (const NotFound&) {
    return {550, "5.1.1", "No such user here"};
  } catch (const std::exception& e) {
    spdlog::error("inbound mail failed: {}", e.what());
    return {451, "4.3.0", "Temporary failure; try again later"};
  }
  return {250, "2.0.0", "Ok"};
}

}  // namespace postroom::sending
