#include "store/sending_store.h"

#include <algorithm>
#include <boost/json.hpp>
#include <stdexcept>

namespace postroom::store {
namespace {

namespace json = boost::json;
using sending::SentMessage;
using sending::Suppression;

constexpr const char* kMessageColumns =
    "SELECT m.id, m.uuid, m.account_id, m.domain_id, m.domain_name, m.stream, m.status, m.subject, m.from_email, "
    "m.mail_from, m.to_email, m.recipient_kind, m.category, m.custom_variables, m.template_id, m.template_variables, "
    "m.client_ip, m.rfc_message_id, m.body_id, m.created_at, m.attempts, m.next_attempt_at, m.last_response, "
    "m.bounce_category, m.sending_ip, m.recipient_mx, m.email_service_provider, m.opens_count, m.clicks_count, "
    "m.updated_at FROM sent_messages m ";

SentMessage message_from(const Row& row) {
  SentMessage m;
  m.id = row.integer(0);
  m.uuid = row.text(1);
  m.account_id = row.integer(2);
  m.domain_id = row.integer(3);
  m.domain_name = row.text(4);
  m.stream = sending::parse_stream(row.text(5)).value_or(sending::Stream::transactional);
  m.status = row.text(6);
  m.subject = row.text(7);
  m.from = row.text(8);
  m.mail_from = row.text(9);
  m.to = row.text(10);
  m.recipient_kind = row.text(11);
  m.category = row.text(12);
  m.custom_variables = row.optional_text(13);
  m.template_id = row.optional_integer(14);
  m.template_variables = row.optional_text(15);
  m.client_ip = row.text(16);
  m.rfc_message_id = row.text(17);
  m.body_id = row.integer(18);
  m.created_at = row.integer(19);
  m.attempts = static_cast<int>(row.integer(20));
  m.next_attempt_at = row.optional_integer(21);
  m.last_response = row.text(22);
  m.bounce_category = row.text(23);
  m.sending_ip = row.text(24);
  m.recipient_mx = row.text(25);
  m.email_service_provider = row.text(26);
  m.opens_count = row.integer(27);
  m.clicks_count = row.integer(28);
  m.updated_at = row.integer(29);
  return m;
}

// Columns the filters may name; anything else never reaches SQL.
bool known_column(const std::string& column) {
  static const std::vector<std::string> columns = {"to_email",      "from_email",   "subject",
                                                   "status",        "category",     "stream",
                                                   "client_ip",     "sending_ip",   "email_service_provider",
                                                   "last_response", "recipient_mx", "domain_id",
                                                   "opens_count",   "clicks_count", "bounce_category"};
  return std::find(columns.begin(), columns.end(), column) != columns.end();
}

std::string like_pattern(const std::string& value) {
  std::string out = "%";
  for (char c : value) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out + "%";
}

std::string placeholders(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

// WHERE clause (after "m.account_id = ?") for a query; appends its parameters.
std::string where_clause(const LogQuery& query, Params& params) {
  std::string sql;
  for (const auto& c : query.text) {
    if (!known_column(c.column)) throw std::invalid_argument("unknown email log column");
    const std::string col = "m." + c.column;
    if (c.op == "empty") {
      sql += " AND " + col + " = ''";
      continue;
    }
    if (c.op == "not_empty") {
      sql += " AND " + col + " <> ''";
      continue;
    }
    if (c.values.empty()) continue;
    const bool negate = c.op.find("not_") != std::string::npos;
    const bool ci = c.op.starts_with("ci_");
    if (c.op.find("contain") != std::string::npos) {
      std::string any;
      for (const auto& v : c.values) {
        any += any.empty() ? "" : " OR ";
        any += "LOWER(" + col + ") LIKE ? ESCAPE '\\'";
        params.push_back(like_pattern(v));
      }
      sql += negate ? " AND NOT (" + any + ")" : " AND (" + any + ")";
      continue;
    }
    const std::string lhs = ci ? "LOWER(" + col + ")" : col;
    sql += " AND " + lhs + (negate ? " NOT IN (" : " IN (") + placeholders(c.values.size()) + ")";
    for (const auto& v : c.values) {
      if (c.column == "domain_id") {
        try {
          params.push_back(std::int64_t{std::stoll(v)});
        } catch (const std::exception&) {
          params.push_back(std::int64_t{-1});
        }
      } else {
        std::string value = v;
        if (ci)
          std::transform(value.begin(), value.end(), value.begin(), [](unsigned char ch) { return std::tolower(ch); });
        params.push_back(value);
      }
    }
  }
  for (const auto& c : query.numbers) {
    if (!known_column(c.column)) throw std::invalid_argument("unknown email log column");
    const char* op = c.op == "greater_than" ? " > ?" : c.op == "less_than" ? " < ?" : " = ?";
    sql += " AND m." + c.column + op;
    params.push_back(c.value);
  }
  for (const auto& e : query.events) {
    if (e.event_types.empty()) continue;
    sql += std::string(e.include ? " AND EXISTS" : " AND NOT EXISTS") +
           " (SELECT 1 FROM message_events e WHERE e.message_id = m.id AND e.event_type IN (" +
           placeholders(e.event_types.size()) + "))";
    for (const auto& t : e.event_types) params.push_back(t);
  }
  if (query.sent_after) {
    sql += " AND m.created_at >= ?";
    params.push_back(*query.sent_after);
  }
  if (query.sent_before) {
    sql += " AND m.created_at <= ?";
    params.push_back(*query.sent_before);
  }
  if (query.before_id) {
    sql += " AND m.id < ?";
    params.push_back(*query.before_id);
  }
  return sql;
}

std::string string_or(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

Suppression suppression_from(const Row& row) {
  Suppression s;
  s.id = row.text(0);
  s.account_id = row.integer(1);
  s.domain_id = row.optional_integer(2);
  s.domain_name = row.text(3);
  s.email = row.text(4);
  s.type = row.text(5);
  s.sending_stream = row.text(6);
  s.created_at = row.integer(7);
  const json::value details = json::parse(row.text(8));
  const json::object& o = details.as_object();
  s.message_bounce_category = string_or(o, "message_bounce_category");
  s.message_category = string_or(o, "message_category");
  s.message_client_ip = string_or(o, "message_client_ip");
  s.message_esp_response = string_or(o, "message_esp_response");
  s.message_esp_server_type = string_or(o, "message_esp_server_type");
  s.message_outgoing_ip = string_or(o, "message_outgoing_ip");
  s.message_recipient_mx_name = string_or(o, "message_recipient_mx_name");
  s.message_sender_email = string_or(o, "message_sender_email");
  s.message_subject = string_or(o, "message_subject");
  if (const auto* v = o.if_contains("message_created_at"); v && v->is_int64()) s.message_created_at = v->get_int64();
  return s;
}

constexpr const char* kSuppressionColumns =
    "SELECT uuid, account_id, domain_id, domain_name, email, type, sending_stream, created_at, details FROM "
    "suppressions ";

}  // namespace

std::int64_t SendingStore::add_body(std::int64_t account_id, const std::string& raw_zstd, std::int64_t size,
                                    std::int64_t now) {
  return tx_.insert_returning_id(
      "INSERT INTO sent_bodies (account_id, raw, size, created_at) VALUES (?, ?, ?, ?) RETURNING id",
      {account_id, Blob{raw_zstd}, size, now});
}

std::optional<std::string> SendingStore::body(std::int64_t body_id) {
  const auto row = tx_.query_one("SELECT raw FROM sent_bodies WHERE id = ?", {body_id});
  if (!row) return std::nullopt;
  return row->text(0);
}

std::int64_t SendingStore::add_message(const SentMessage& m) {
  return tx_.insert_returning_id(
      "INSERT INTO sent_messages (uuid, account_id, domain_id, domain_name, stream, status, subject, from_email, "
      "mail_from, to_email, recipient_kind, category, custom_variables, template_id, template_variables, client_ip, "
      "rfc_message_id, body_id, created_at, attempts, next_attempt_at, last_response, bounce_category, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {m.uuid,
       m.account_id,
       m.domain_id,
       m.domain_name,
       std::string(sending::to_string(m.stream)),
       m.status,
       m.subject,
       m.from,
       m.mail_from,
       m.to,
       m.recipient_kind,
       m.category,
       nullable(m.custom_variables),
       nullable(m.template_id),
       nullable(m.template_variables),
       m.client_ip,
       m.rfc_message_id,
       m.body_id,
       m.created_at,
       std::int64_t{m.attempts},
       nullable(m.next_attempt_at),
       m.last_response,
       m.bounce_category,
       m.updated_at});
}

std::optional<SentMessage> SendingStore::find(std::int64_t account_id, const std::string& uuid) {
  const auto row =
      tx_.query_one(std::string(kMessageColumns) + "WHERE m.account_id = ? AND m.uuid = ?", {account_id, uuid});
  if (!row) return std::nullopt;
  return message_from(*row);
}

std::optional<SentMessage> SendingStore::find_by_id(std::int64_t id) {
  const auto row = tx_.query_one(std::string(kMessageColumns) + "WHERE m.id = ?", {id});
  if (!row) return std::nullopt;
  return message_from(*row);
}

std::vector<SentMessage> SendingStore::list(std::int64_t account_id, const LogQuery& query) {
  Params params{account_id};
  const std::string where = where_clause(query, params);
  params.push_back(std::int64_t{query.limit});
  std::vector<SentMessage> out;
  for (const Row& row : tx_.query(
           std::string(kMessageColumns) + "WHERE m.account_id = ?" + where + " ORDER BY m.id DESC LIMIT ?", params))
    out.push_back(message_from(row));
  return out;
}

std::int64_t SendingStore::count(std::int64_t account_id, LogQuery query) {
  query.before_id.reset();
  Params params{account_id};
  const std::string where = where_clause(query, params);
  const auto row = tx_.query_one("SELECT COUNT(*) FROM sent_messages m WHERE m.account_id = ?" + where, params);
  return row ? row->integer(0) : 0;
}

void SendingStore::save_delivery_state(const SentMessage& m) {
  tx_.execute(
      "UPDATE sent_messages SET status = ?, attempts = ?, next_attempt_at = ?, last_response = ?, bounce_category = "
      "?, sending_ip = ?, recipient_mx = ?, email_service_provider = ?, updated_at = ? WHERE id = ?",
      {m.status, std::int64_t{m.attempts}, nullable(m.next_attempt_at), m.last_response, m.bounce_category,
       m.sending_ip, m.recipient_mx, m.email_service_provider, m.updated_at, m.id});
}

void SendingStore::set_status(std::int64_t id, const std::string& status, std::int64_t now) {
  tx_.execute("UPDATE sent_messages SET status = ?, updated_at = ? WHERE id = ?", {status, now, id});
}

std::vector<DueDelivery> SendingStore::due_deliveries(std::int64_t limit, std::int64_t after_id) {
  std::vector<DueDelivery> out;
  for (const Row& row : tx_.query("SELECT id, next_attempt_at FROM sent_messages WHERE next_attempt_at IS NOT NULL "
                                  "AND id > ? ORDER BY id LIMIT ?",
                                  {after_id, limit}))
    out.push_back({row.integer(0), row.integer(1)});
  return out;
}

void SendingStore::add_event(const sending::MessageEvent& e, std::int64_t account_id) {
  tx_.execute(
      "INSERT INTO message_events (message_id, account_id, event_type, created_at, details) VALUES (?, ?, ?, ?, ?)",
      {e.message_id, account_id, e.event_type, e.created_at, e.details});
}

std::vector<sending::MessageEvent> SendingStore::events(std::int64_t message_id) {
  std::vector<sending::MessageEvent> out;
  for (const Row& row : tx_.query(
           "SELECT id, message_id, event_type, created_at, details FROM message_events WHERE message_id = ? ORDER "
           "BY id",
           {message_id}))
    out.push_back({row.integer(0), row.integer(1), row.text(2), row.integer(3), row.text(4)});
  return out;
}

void SendingStore::add_suppression(const Suppression& s) {
  json::object details{{"message_bounce_category", s.message_bounce_category},
                       {"message_category", s.message_category},
                       {"message_client_ip", s.message_client_ip},
                       {"message_esp_response", s.message_esp_response},
                       {"message_esp_server_type", s.message_esp_server_type},
                       {"message_outgoing_ip", s.message_outgoing_ip},
                       {"message_recipient_mx_name", s.message_recipient_mx_name},
                       {"message_sender_email", s.message_sender_email},
                       {"message_subject", s.message_subject}};
  if (s.message_created_at) details["message_created_at"] = *s.message_created_at;
  tx_.execute(
      "INSERT INTO suppressions (uuid, account_id, domain_id, domain_name, email, type, sending_stream, created_at, "
      "details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {s.id, s.account_id, nullable(s.domain_id), s.domain_name, s.email, s.type, s.sending_stream, s.created_at,
       json::serialize(details)});
}

std::vector<Suppression> SendingStore::suppressions(std::int64_t account_id, const std::optional<std::string>& email,
                                                    std::optional<std::int64_t> created_after,
                                                    std::optional<std::int64_t> created_before, int limit) {
  std::string sql = std::string(kSuppressionColumns) + "WHERE account_id = ?";
  Params params{account_id};
  if (email) {
    sql += " AND email = ?";
    params.push_back(*email);
  }
  if (created_after) {
    sql += " AND created_at >= ?";
    params.push_back(*created_after);
  }
  if (created_before) {
    sql += " AND created_at <= ?";
    params.push_back(*created_before);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  params.push_back(std::int64_t{limit});
  std::vector<Suppression> out;
  for (const Row& row : tx_.query(sql, params)) out.push_back(suppression_from(row));
  return out;
}

std::optional<Suppression> SendingStore::find_suppression(std::int64_t account_id, const std::string& uuid) {
  const auto row =
      tx_.query_one(std::string(kSuppressionColumns) + "WHERE account_id = ? AND uuid = ?", {account_id, uuid});
  if (!row) return std::nullopt;
  return suppression_from(*row);
}

bool SendingStore::remove_suppression(std::int64_t account_id, const std::string& uuid) {
  return tx_.execute("DELETE FROM suppressions WHERE account_id = ? AND uuid = ?", {account_id, uuid}) > 0;
}

bool SendingStore::has_suppression(std::int64_t account_id, const std::string& email, const std::string& sending_stream,
                                   std::optional<std::int64_t> domain_id) {
  return tx_
      .query_one(
          "SELECT 1 FROM suppressions WHERE account_id = ? AND email = ? AND sending_stream = ? AND "
          "COALESCE(domain_id, 0) = ?",
          {account_id, email, sending_stream, domain_id.value_or(0)})
      .has_value();
}

std::optional<Suppression> SendingStore::blocking(std::int64_t account_id, std::int64_t domain_id,
                                                  const std::string& email, sending::Stream stream) {
  const auto row = tx_.query_one(
      std::string(kSuppressionColumns) +
          "WHERE account_id = ? AND email = ? AND (domain_id IS NULL OR domain_id = ?) AND (sending_stream = 'any' OR "
          "sending_stream = ?) ORDER BY id LIMIT 1",
      {account_id, email, domain_id, std::string(sending::to_string(stream))});
  if (!row) return std::nullopt;
  return suppression_from(*row);
}

std::vector<std::string> SendingStore::user_emails(std::int64_t account_id) {
  std::vector<std::string> out;
  for (const Row& row : tx_.query(
           "SELECT DISTINCT LOWER(u.email) FROM users u JOIN account_accesses a ON a.specifier_type = 'User' AND "
           "a.specifier_id = u.id WHERE a.account_id = ? OR (a.account_id IS NULL AND a.organization_id = (SELECT "
           "organization_id FROM accounts WHERE id = ?))",
           {account_id, account_id}))
    out.push_back(row.text(0));
  return out;
}

}  // namespace postroom::store
