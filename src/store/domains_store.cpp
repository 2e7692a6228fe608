#include "store/domains_store.h"

#include <boost/json.hpp>

namespace postroom::store {
namespace {

namespace json = boost::json;
using domains::SendingDomain;

constexpr const char* kColumns =
    "SELECT id, account_id, domain_name, demo, verification_token, dns_checks, dns_verified, dns_verified_at, "
    "dns_checked_at, dns_lost, compliance_status, compliance_approved, settings, api_token_id, created_at, "
    "deleted_at FROM sending_domains ";

std::string string_or(const json::object& o, const char* key, std::string fallback = {}) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : fallback;
}
bool bool_or(const json::object& o, const char* key, bool fallback) {
  const auto* v = o.if_contains(key);
  return v && v->is_bool() ? v->get_bool() : fallback;
}

std::string settings_json(const SendingDomain& d) {
  json::array bcc;
  for (const auto& email : d.auto_bcc.emails) bcc.emplace_back(email);
  json::object o{{"open_tracking_enabled", d.open_tracking_enabled},
                 {"click_tracking_enabled", d.click_tracking_enabled},
                 {"custom_domain_tracking_enabled", d.custom_domain_tracking_enabled},
                 {"auto_unsubscribe_link_enabled", d.auto_unsubscribe_link_enabled},
                 {"bulk_unsubscribe_footer_enabled", d.bulk_unsubscribe_footer_enabled},
                 {"health_alerts_enabled", d.health_alerts_enabled},
                 {"critical_alerts_enabled", d.critical_alerts_enabled},
                 {"inbound_enabled", d.inbound_enabled},
                 {"auto_bcc_emails", std::move(bcc)},
                 {"auto_bcc_header_name", d.auto_bcc.header_name},
                 {"auto_bcc_header_value", d.auto_bcc.header_value}};
  if (d.alert_recipient_email) o["alert_recipient_email"] = *d.alert_recipient_email;
  return json::serialize(o);
}

void read_settings(const std::string& text, SendingDomain& d) {
  const json::value parsed = json::parse(text);
  const json::object& o = parsed.as_object();
  d.open_tracking_enabled = bool_or(o, "open_tracking_enabled", d.open_tracking_enabled);
  d.click_tracking_enabled = bool_or(o, "click_tracking_enabled", d.click_tracking_enabled);
  d.custom_domain_tracking_enabled = bool_or(o, "custom_domain_tracking_enabled", d.custom_domain_tracking_enabled);
  d.auto_unsubscribe_link_enabled = bool_or(o, "auto_unsubscribe_link_enabled", d.auto_unsubscribe_link_enabled);
  d.bulk_unsubscribe_footer_enabled = bool_or(o, "bulk_unsubscribe_footer_enabled", d.bulk_unsubscribe_footer_enabled);
  d.health_alerts_enabled = bool_or(o, "health_alerts_enabled", d.health_alerts_enabled);
  d.critical_alerts_enabled = bool_or(o, "critical_alerts_enabled", d.critical_alerts_enabled);
  d.inbound_enabled = bool_or(o, "inbound_enabled", d.inbound_enabled);
  if (const auto* v = o.if_contains("alert_recipient_email"); v && v->is_string())
    d.alert_recipient_email = std::string(v->get_string());
  if (const auto* v = o.if_contains("auto_bcc_emails"); v && v->is_array()) {
    for (const auto& email : v->get_array())
      if (email.is_string()) d.auto_bcc.emails.emplace_back(email.get_string());
  }
  d.auto_bcc.header_name = string_or(o, "auto_bcc_header_name");
  d.auto_bcc.header_value = string_or(o, "auto_bcc_header_value");
}

std::string checks_json(const SendingDomain& d) {
  json::object o;
  for (const auto& r : d.dns_records) {
    o[r.key] = json::object{
        {"value", r.value}, {"status", domains::to_string(r.status)}, {"reason", r.reason}, {"found", r.found}};
  }
  return json::serialize(o);
}

// The stored checks, as records carrying only key, value and the result (the service adds the rest).
std::vector<domains::DnsRecord> read_checks(const std::string& text) {
  std::vector<domains::DnsRecord> out;
  const json::value parsed = json::parse(text);
  for (const auto& [key, value] : parsed.as_object()) {
    if (!value.is_object()) continue;
    const json::object& o = value.get_object();
    domains::DnsRecord r;
    r.key = std::string(key);
    r.value = string_or(o, "value");
    r.status = domains::parse_record_status(string_or(o, "status")).value_or(domains::RecordStatus::unchecked);
    r.reason = string_or(o, "reason");
    r.found = string_or(o, "found");
    out.push_back(std::move(r));
  }
  return out;
}

SendingDomain domain_from(const Row& row) {
  SendingDomain d;
  d.id = row.integer(0);
  d.account_id = row.integer(1);
  d.domain_name = row.text(2);
  d.demo = row.integer(3) != 0;
  d.verification_token = row.text(4);
  d.dns_records = read_checks(row.text(5));
  d.dns_verified = row.integer(6) != 0;
  d.dns_verified_at = row.optional_integer(7);
  d.dns_checked_at = row.optional_integer(8);
  d.dns_lost = row.integer(9) != 0;
  d.compliance_status = row.text(10);
  d.compliance_approved = row.integer(11) != 0;
  read_settings(row.text(12), d);
  d.api_token_id = row.optional_integer(13);
  d.created_at = row.integer(14);
  d.deleted_at = row.optional_integer(15);
  return d;
}

std::vector<SendingDomain> domains_from(const Rows& rows) {
  std::vector<SendingDomain> out;
  out.reserve(rows.size());
  for (const Row& row : rows) out.push_back(domain_from(row));
  return out;
}

}  // namespace

std::int64_t DomainsStore::create(const SendingDomain& d) {
  return tx_.insert_returning_id(
      "INSERT INTO sending_domains (account_id, domain_name, demo, verification_token, dns_checks, dns_verified, "
      "dns_verified_at, dns_checked_at, compliance_status, compliance_approved, settings, created_at) VALUES (?, ?, "
      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {d.account_id, d.domain_name, std::int64_t{d.demo}, d.verification_token, checks_json(d),
       std::int64_t{d.dns_verified}, nullable(d.dns_verified_at), nullable(d.dns_checked_at), d.compliance_status,
       std::int64_t{d.compliance_approved}, settings_json(d), d.created_at});
}

std::vector<SendingDomain> DomainsStore::list(std::int64_t account_id) {
  return domains_from(
      tx_.query(std::string(kColumns) + "WHERE account_id = ? AND deleted_at IS NULL ORDER BY id", {account_id}));
}

std::optional<SendingDomain> DomainsStore::find(std::int64_t account_id, std::int64_t id) {
  const auto row =
      tx_.query_one(std::string(kColumns) + "WHERE account_id = ? AND id = ? AND deleted_at IS NULL", {account_id, id});
  if (!row) return std::nullopt;
  return domain_from(*row);
}

std::optional<SendingDomain> DomainsStore::find_for_update(std::int64_t account_id, std::int64_t id) {
  // SQLite serializes writers already; PostgreSQL needs the row lock.
  const std::string lock = tx_.dialect() == Dialect::postgres ? " FOR UPDATE" : "";
  const auto row = tx_.query_one(
      std::string(kColumns) + "WHERE account_id = ? AND id = ? AND deleted_at IS NULL" + lock, {account_id, id});
  if (!row) return std::nullopt;
  return domain_from(*row);
}

std::optional<SendingDomain> DomainsStore::find_any(std::int64_t account_id, std::int64_t id) {
  const auto row = tx_.query_one(std::string(kColumns) + "WHERE account_id = ? AND id = ?", {account_id, id});
  if (!row) return std::nullopt;
  return domain_from(*row);
}

std::optional<SendingDomain> DomainsStore::find_by_name(std::int64_t account_id, const std::string& domain_name) {
  const auto row =
      tx_.query_one(std::string(kColumns) + "WHERE account_id = ? AND domain_name = ? AND deleted_at IS NULL",
                    {account_id, domain_name});
  if (!row) return std::nullopt;
  return domain_from(*row);
}

bool DomainsStore::has_demo(std::int64_t account_id) {
  return tx_.query_one("SELECT id FROM sending_domains WHERE account_id = ? AND demo = 1", {account_id}).has_value();
}

std::vector<SendingDomain> DomainsStore::due_for_check(std::int64_t unverified_before, std::int64_t verified_before,
                                                       int limit) {
  return domains_from(tx_.query(
      std::string(kColumns) +
          "WHERE deleted_at IS NULL AND demo = 0 AND (dns_checked_at IS NULL OR (dns_verified = 0 AND "
          "dns_checked_at < ?) OR (dns_verified = 1 AND dns_checked_at < ?)) ORDER BY COALESCE(dns_checked_at, 0), "
          "id LIMIT ?",
      {unverified_before, verified_before, std::int64_t{limit}}));
}

void DomainsStore::save_settings(const SendingDomain& d) {
  tx_.execute("UPDATE sending_domains SET settings = ? WHERE account_id = ? AND id = ?",
              {settings_json(d), d.account_id, d.id});
}

void DomainsStore::save_checks(const SendingDomain& d) {
  tx_.execute(
      "UPDATE sending_domains SET dns_checks = ?, dns_verified = ?, dns_verified_at = ?, dns_checked_at = ?, "
      "dns_lost = ?, compliance_status = ? WHERE account_id = ? AND id = ?",
      {checks_json(d), std::int64_t{d.dns_verified}, nullable(d.dns_verified_at), nullable(d.dns_checked_at),
       std::int64_t{d.dns_lost}, d.compliance_status, d.account_id, d.id});
}

void DomainsStore::set_api_token(std::int64_t domain_id, std::int64_t token_id) {
  tx_.execute("UPDATE sending_domains SET api_token_id = ? WHERE id = ?", {token_id, domain_id});
}

void DomainsStore::set_compliance(std::int64_t account_id, std::int64_t id, const std::string& status, bool approved) {
  tx_.execute(
      "UPDATE sending_domains SET compliance_status = ?, compliance_approved = ? WHERE account_id = ? AND id = ?",
      {status, std::int64_t{approved}, account_id, id});
}

bool DomainsStore::mark_deleted(std::int64_t account_id, std::int64_t id, std::int64_t now) {
  return tx_.execute("UPDATE sending_domains SET deleted_at = ? WHERE account_id = ? AND id = ? AND deleted_at IS NULL",
                     {now, account_id, id}) > 0;
}

std::int64_t DomainsStore::add_key(const domains::DkimKey& key) {
  return tx_.insert_returning_id(
      "INSERT INTO dkim_keys (domain_id, selector, algorithm, public_txt, private_sealed, state, created_at) VALUES "
      "(?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {key.domain_id, key.selector, key.algorithm, key.public_txt, key.private_sealed, key.state, key.created_at});
}

std::vector<domains::DkimKey> DomainsStore::keys(std::int64_t domain_id) {
  std::vector<domains::DkimKey> out;
  for (const Row& row : tx_.query(
           "SELECT id, domain_id, selector, algorithm, public_txt, private_sealed, state, created_at FROM dkim_keys "
           "WHERE domain_id = ? ORDER BY id",
           {domain_id})) {
    out.push_back({.id = row.integer(0),
                   .domain_id = row.integer(1),
                   .selector = row.text(2),
                   .algorithm = row.text(3),
                   .public_txt = row.text(4),
                   .private_sealed = row.text(5),
                   .state = row.text(6),
                   .created_at = row.integer(7)});
  }
  return out;
}

bool DomainsStore::change_key_state(std::int64_t key_id, const std::string& from, const std::string& to) {
  return tx_.execute("UPDATE dkim_keys SET state = ? WHERE id = ? AND state = ?", {to, key_id, from}) > 0;
}

std::optional<domains::CompanyInfo> DomainsStore::company_info(std::int64_t account_id) {
  const auto row = tx_.query_one("SELECT fields FROM company_info WHERE account_id = ?", {account_id});
  if (!row) return std::nullopt;
  const json::value parsed = json::parse(row->text(0));
  const json::object& o = parsed.as_object();
  domains::CompanyInfo info;
  info.name = string_or(o, "name");
  info.address = string_or(o, "address");
  info.city = string_or(o, "city");
  info.country = string_or(o, "country");
  info.zip_code = string_or(o, "zip_code");
  info.website_url = string_or(o, "website_url");
  info.info_level = string_or(o, "info_level");
  auto optional = [&o](const char* key) -> std::optional<std::string> {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
  };
  info.phone = optional("phone");
  info.privacy_policy_url = optional("privacy_policy_url");
  info.terms_of_service_url = optional("terms_of_service_url");
  return info;
}

void DomainsStore::save_company_info(std::int64_t account_id, const domains::CompanyInfo& info, std::int64_t now) {
  json::object o{{"name", info.name},
                 {"address", info.address},
                 {"city", info.city},
                 {"country", info.country},
                 {"zip_code", info.zip_code},
                 {"website_url", info.website_url},
                 {"info_level", info.info_level}};
  if (info.phone) o["phone"] = *info.phone;
  if (info.privacy_policy_url) o["privacy_policy_url"] = *info.privacy_policy_url;
  if (info.terms_of_service_url) o["terms_of_service_url"] = *info.terms_of_service_url;
  tx_.execute(
      "INSERT INTO company_info (account_id, fields, updated_at) VALUES (?, ?, ?) ON CONFLICT (account_id) DO "
      "UPDATE SET fields = excluded.fields, updated_at = excluded.updated_at",
      {account_id, json::serialize(o), now});
}

}  // namespace postroom::store
