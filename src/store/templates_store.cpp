#include "store/templates_store.h"

#include <stdexcept>

namespace postroom::store {
namespace {

constexpr const char* kColumns =
    "SELECT id, account_id, uuid, name, category, subject, body_html, body_text, version, created_at, updated_at "
    "FROM email_templates ";

email_templates::EmailTemplate template_from(const Row& row) {
  email_templates::EmailTemplate t;
  t.id = row.integer(0);
  t.account_id = row.integer(1);
  t.uuid = row.text(2);
  t.name = row.text(3);
  t.category = row.text(4);
  t.subject = row.text(5);
  t.body_html = row.text(6);
  t.body_text = row.text(7);
  t.version = row.integer(8);
  t.created_at = row.integer(9);
  t.updated_at = row.integer(10);
  return t;
}

}  // namespace

std::int64_t TemplatesStore::create(const email_templates::EmailTemplate& fields, std::int64_t now) {
  const auto row = tx_.query_one(
      "INSERT INTO email_templates (account_id, uuid, name, category, subject, body_html, body_text, version, "
      "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id",
      {fields.account_id, fields.uuid, fields.name, fields.category, fields.subject, fields.body_html, fields.body_text,
       now, now});
  if (!row) throw std::runtime_error("INSERT returned no id");
  return row->integer(0);
}

std::vector<email_templates::EmailTemplate> TemplatesStore::list(std::int64_t account_id) {
  std::vector<email_templates::EmailTemplate> out;
  for (const Row& row : tx_.query(std::string(kColumns) + "WHERE account_id = ? ORDER BY id", {account_id})) {
    out.push_back(template_from(row));
  }
  return out;
}

std::optional<email_templates::EmailTemplate> TemplatesStore::find(std::int64_t account_id, std::int64_t id) {
  const auto row = tx_.query_one(std::string(kColumns) + "WHERE account_id = ? AND id = ?", {account_id, id});
  if (!row) return std::nullopt;
  return template_from(*row);
}

std::optional<email_templates::EmailTemplate> TemplatesStore::find_by_uuid(std::int64_t account_id,
                                                                           const std::string& uuid) {
  const auto row = tx_.query_one(std::string(kColumns) + "WHERE account_id = ? AND uuid = ?", {account_id, uuid});
  if (!row) return std::nullopt;
  return template_from(*row);
}

std::int64_t TemplatesStore::count(std::int64_t account_id) {
  const auto row = tx_.query_one("SELECT COUNT(*) FROM email_templates WHERE account_id = ?", {account_id});
  return row ? row->integer(0) : 0;
}

void TemplatesStore::update(const email_templates::EmailTemplate& changed, std::int64_t now) {
  tx_.execute(
      "UPDATE email_templates SET name = ?, category = ?, subject = ?, body_html = ?, body_text = ?, "
      "version = version + 1, updated_at = ? WHERE account_id = ? AND id = ?",
      {changed.name, changed.category, changed.subject, changed.body_html, changed.body_text, now, changed.account_id,
       changed.id});
}

bool TemplatesStore::remove(std::int64_t account_id, std::int64_t id) {
  return tx_.execute("DELETE FROM email_templates WHERE account_id = ? AND id = ?", {account_id, id}) > 0;
}

}  // namespace postroom::store
