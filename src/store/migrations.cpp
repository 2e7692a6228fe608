// Versioned schema migrations for both backends. Each migration is a list of statements written once in
// portable SQL; {ID} and {BLOB} expand to each dialect's spelling. Append new versions; never edit old ones.
#include <stdexcept>
#include <string>
#include <vector>

#include "store/migrations.h"

namespace postroom::store {
namespace {

struct Migration {
  int version;
  const char* name;
  std::vector<const char*> statements;
};

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
      {1,
       "accounts, access and tokens",
       {
           "CREATE TABLE organizations (id {ID}, name TEXT NOT NULL, created_at BIGINT NOT NULL)",
           "CREATE TABLE accounts (id {ID}, organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE "
           "CASCADE, name TEXT NOT NULL, created_at BIGINT NOT NULL)",
           "CREATE INDEX accounts_by_organization ON accounts(organization_id)",
           "CREATE TABLE users (id {ID}, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, password_hash TEXT, "
           "created_at BIGINT NOT NULL)",
           // A specifier (User, Invite or ApiToken) granted permissions in one account, or in a whole
           // organization when account_id is NULL.
           "CREATE TABLE account_accesses (id {ID}, organization_id BIGINT NOT NULL REFERENCES organizations(id) "
           "ON DELETE CASCADE, account_id BIGINT REFERENCES accounts(id) ON DELETE CASCADE, specifier_type TEXT "
           "NOT NULL, specifier_id BIGINT NOT NULL, created_at BIGINT NOT NULL)",
           "CREATE INDEX account_accesses_by_account ON account_accesses(account_id)",
           "CREATE INDEX account_accesses_by_specifier ON account_accesses(specifier_type, specifier_id)",
           "CREATE TABLE permissions (id {ID}, account_access_id BIGINT NOT NULL REFERENCES account_accesses(id) ON "
           "DELETE CASCADE, resource_type TEXT NOT NULL, resource_id BIGINT NOT NULL, access_level BIGINT NOT "
           "NULL, UNIQUE (account_access_id, resource_type, resource_id))",
           "CREATE INDEX permissions_by_resource ON permissions(resource_type, resource_id)",
           "CREATE TABLE api_tokens (id {ID}, account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE, "
           "name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, last_4_digits TEXT NOT NULL, created_by TEXT NOT "
           "NULL, expires_at BIGINT, reset_at BIGINT, created_at BIGINT NOT NULL)",
           "CREATE INDEX api_tokens_by_account ON api_tokens(account_id)",
           "CREATE TABLE projects (id {ID}, account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE, "
           "name TEXT NOT NULL, created_at BIGINT NOT NULL)",
           "CREATE INDEX projects_by_account ON projects(account_id)",
           "CREATE TABLE inboxes (id {ID}, project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE, "
           "account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE, name TEXT NOT NULL, "
           "smtp_username TEXT NOT NULL UNIQUE, smtp_password TEXT NOT NULL, created_at BIGINT NOT NULL)",
           "CREATE INDEX inboxes_by_project ON inboxes(project_id)",
           "CREATE TABLE usage_counters (account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE, "
           "metric TEXT NOT NULL, period_start BIGINT NOT NULL, value BIGINT NOT NULL, PRIMARY KEY (account_id, "
           "metric, period_start))",
           "CREATE TABLE installation (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
       }},
      {2,
       "email sandbox",
       {
           "ALTER TABLE inboxes ADD COLUMN status TEXT NOT NULL DEFAULT 'active'",
           // The sandbox's own email address is <email_username>@<inbox domain>; NULL until first enabled.
           "ALTER TABLE inboxes ADD COLUMN email_username TEXT",
           "ALTER TABLE inboxes ADD COLUMN email_username_enabled BIGINT NOT NULL DEFAULT 0",
           // Per-sandbox limits; NULL means the installation default from configuration.
           "ALTER TABLE inboxes ADD COLUMN max_messages BIGINT",
           "ALTER TABLE inboxes ADD COLUMN max_message_size BIGINT",
           "ALTER TABLE inboxes ADD COLUMN sent_messages_count BIGINT NOT NULL DEFAULT 0",
           "ALTER TABLE inboxes ADD COLUMN forwarded_messages_count BIGINT NOT NULL DEFAULT 0",
           "ALTER TABLE inboxes ADD COLUMN last_message_sent_at BIGINT",
           "CREATE UNIQUE INDEX inboxes_by_email_username ON inboxes(email_username)",
           // One captured message. The raw bytes (zstd) are the truth; the other columns are the summary
           // parsed once on arrival. JSON columns hold lists (addresses, headers, envelope).
           "CREATE TABLE sandbox_messages (id {ID}, inbox_id BIGINT NOT NULL REFERENCES inboxes(id) ON DELETE "
           "CASCADE, account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE, subject TEXT NOT NULL, "
           "from_email TEXT NOT NULL, from_name TEXT NOT NULL, to_email TEXT NOT NULL, to_name TEXT NOT NULL, "
           "recipients_json TEXT NOT NULL, headers_json TEXT NOT NULL, smtp_json TEXT NOT NULL, "
           "message_id_header TEXT NOT NULL, sent_at BIGINT NOT NULL, created_at BIGINT NOT NULL, "
           "updated_at BIGINT NOT NULL, is_read BIGINT NOT NULL DEFAULT 0, email_size BIGINT NOT NULL, "
           "html_body_size BIGINT, text_body_size BIGINT, attachments_count BIGINT NOT NULL DEFAULT 0, "
           "template_id BIGINT, template_variables TEXT, raw_zstd {BLOB} NOT NULL)",
           "CREATE INDEX sandbox_messages_by_inbox ON sandbox_messages(inbox_id, id)",
           "CREATE INDEX sandbox_messages_by_account ON sandbox_messages(account_id, created_at)",
           "CREATE TABLE sandbox_attachments (id {ID}, message_id BIGINT NOT NULL REFERENCES sandbox_messages(id) "
           "ON DELETE CASCADE, inbox_id BIGINT NOT NULL, part_index BIGINT NOT NULL, filename TEXT NOT NULL, "
           "attachment_type TEXT NOT NULL, content_type TEXT NOT NULL, content_id TEXT, transfer_encoding TEXT NOT "
           "NULL, attachment_size BIGINT NOT NULL, created_at BIGINT NOT NULL)",
           "CREATE INDEX sandbox_attachments_by_message ON sandbox_attachments(message_id)",
           // Full-text search over subject, addresses, headers and bodies: FTS5 on SQLite (the rowid is the
           // message id; SQLite 3.40 has no contentless delete, so the table keeps its text), a tsvector with a
           // GIN index on PostgreSQL.
           "[sqlite] CREATE VIRTUAL TABLE sandbox_messages_fts USING fts5(subject, addresses, headers, body, "
           "tokenize='unicode61 remove_diacritics 2')",
           "[postgres] CREATE TABLE sandbox_messages_fts (message_id BIGINT PRIMARY KEY REFERENCES "
           "sandbox_messages(id) ON DELETE CASCADE, document tsvector NOT NULL)",
           "[postgres] CREATE INDEX sandbox_messages_fts_document ON sandbox_messages_fts USING GIN (document)",
       }},
      {3,
       "email templates",
       {
           // `version` grows with every change so compiled templates can be cached by (id, version).
           "CREATE TABLE email_templates (id {ID}, account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE "
           "CASCADE, uuid TEXT NOT NULL UNIQUE, name TEXT NOT NULL, category TEXT NOT NULL, subject TEXT NOT NULL, "
           "body_html TEXT NOT NULL, body_text TEXT NOT NULL, version BIGINT NOT NULL, created_at BIGINT NOT NULL, "
           "updated_at BIGINT NOT NULL)",
           "CREATE INDEX email_templates_by_account ON email_templates(account_id)",
       }},
      {4,
       "sandbox message counts",
       {
           // Kept in step by the messages store so FIFO eviction needs no scan of the sandbox per arrival.
           "ALTER TABLE inboxes ADD COLUMN messages_count BIGINT NOT NULL DEFAULT 0",
           "UPDATE inboxes SET messages_count = (SELECT COUNT(*) FROM sandbox_messages m WHERE m.inbox_id = "
           "inboxes.id)",
       }},
      {5,
       "sending domains",
       {
           // Deleted domains stay (deleted_at set) so history keeps their name; only live ones must be unique.
           // dns_checks holds the last check of each record by key: {"spf":{"value","status","reason","found"}}.
           "CREATE TABLE sending_domains (id {ID}, account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE "
           "CASCADE, domain_name TEXT NOT NULL, demo BIGINT NOT NULL DEFAULT 0, verification_token TEXT NOT NULL, "
           "dns_checks TEXT NOT NULL DEFAULT '{}', dns_verified BIGINT NOT NULL DEFAULT 0, dns_verified_at BIGINT, "
           "dns_checked_at BIGINT, dns_lost BIGINT NOT NULL DEFAULT 0, compliance_status TEXT NOT NULL, "
           "compliance_approved BIGINT NOT NULL DEFAULT 0, settings TEXT NOT NULL DEFAULT '{}', api_token_id BIGINT, "
           "created_at BIGINT NOT NULL, deleted_at BIGINT)",
           "CREATE UNIQUE INDEX sending_domains_live_name ON sending_domains(account_id, domain_name) WHERE "
           "deleted_at IS NULL",
           "CREATE INDEX sending_domains_by_check ON sending_domains(dns_checked_at)",
           "CREATE TABLE dkim_keys (id {ID}, domain_id BIGINT NOT NULL REFERENCES sending_domains(id) ON DELETE "
           "CASCADE, selector TEXT NOT NULL, algorithm TEXT NOT NULL, public_txt TEXT NOT NULL, private_sealed TEXT "
           "NOT NULL, state TEXT NOT NULL, created_at BIGINT NOT NULL)",
           "CREATE INDEX dkim_keys_by_domain ON dkim_keys(domain_id)",
           "CREATE TABLE company_info (account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE, "
           "fields TEXT NOT NULL, updated_at BIGINT NOT NULL)",
       }},
      {6,
       "live sending",
       {
           // Bodies are zstd-compressed RFC 5322 bytes without the DKIM signature (added at delivery), shared by
           // every recipient copy that reads the same bytes.
           "CREATE TABLE sent_bodies (id {ID}, account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE, "
           "raw {BLOB} NOT NULL, size BIGINT NOT NULL, created_at BIGINT NOT NULL)",
           // One row per recipient copy: the email logs' message and the durable delivery queue in one (rows
           // with status 'enqueued' and a next_attempt_at are due for delivery).
           "CREATE TABLE sent_messages (id {ID}, uuid TEXT NOT NULL UNIQUE, account_id BIGINT NOT NULL REFERENCES "
           "accounts(id) ON DELETE CASCADE, domain_id BIGINT NOT NULL, domain_name TEXT NOT NULL, stream TEXT NOT "
           "NULL, status TEXT NOT NULL, subject TEXT NOT NULL, from_email TEXT NOT NULL, mail_from TEXT NOT NULL, "
           "to_email TEXT NOT NULL, recipient_kind TEXT NOT NULL, category TEXT NOT NULL, custom_variables TEXT, "
           "template_id BIGINT, template_variables TEXT, client_ip TEXT NOT NULL, rfc_message_id TEXT NOT NULL, "
           "body_id BIGINT NOT NULL REFERENCES sent_bodies(id), created_at BIGINT NOT NULL, attempts BIGINT NOT "
           "NULL DEFAULT 0, next_attempt_at BIGINT, last_response TEXT NOT NULL DEFAULT '', bounce_category TEXT "
           "NOT NULL DEFAULT '', sending_ip TEXT NOT NULL DEFAULT '', recipient_mx TEXT NOT NULL DEFAULT '', "
           "email_service_provider TEXT NOT NULL DEFAULT '', opens_count BIGINT NOT NULL DEFAULT 0, clicks_count "
           "BIGINT NOT NULL DEFAULT 0, updated_at BIGINT NOT NULL)",
           "CREATE INDEX sent_messages_by_account ON sent_messages(account_id, id)",
           "CREATE INDEX sent_messages_due ON sent_messages(next_attempt_at) WHERE next_attempt_at IS NOT NULL",
           "CREATE INDEX sent_messages_by_body ON sent_messages(body_id)",
           "CREATE TABLE message_events (id {ID}, message_id BIGINT NOT NULL REFERENCES sent_messages(id) ON DELETE "
           "CASCADE, account_id BIGINT NOT NULL, event_type TEXT NOT NULL, created_at BIGINT NOT NULL, details TEXT "
           "NOT NULL)",
           "CREATE INDEX message_events_by_message ON message_events(message_id, id)",
           "CREATE INDEX message_events_by_account_type ON message_events(account_id, event_type)",
           "CREATE TABLE suppressions (id {ID}, uuid TEXT NOT NULL UNIQUE, account_id BIGINT NOT NULL REFERENCES "
           "accounts(id) ON DELETE CASCADE, domain_id BIGINT, domain_name TEXT NOT NULL, email TEXT NOT NULL, type "
           "TEXT NOT NULL, sending_stream TEXT NOT NULL, created_at BIGINT NOT NULL, details TEXT NOT NULL)",
           "CREATE INDEX suppressions_by_email ON suppressions(account_id, email)",
       }},
      {7,
       "sandbox forwarding and message reports",
       {
           // A sandbox's forwarding targets: confirmed addresses (manual or automatic forwarding) and, for
           // automatic forwarding, domains proven by a TXT record. Only a hash of an address's confirmation token
           // is kept; a domain's TXT value is public anyway.
           "CREATE TABLE forward_rules (id {ID}, account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE "
           "CASCADE, inbox_id BIGINT NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE, kind TEXT NOT NULL, purpose "
           "TEXT NOT NULL, value TEXT NOT NULL, status TEXT NOT NULL, token_hash TEXT, verification_value TEXT, "
           "confirmation_sent_at BIGINT, confirmed_at BIGINT, created_at BIGINT NOT NULL, UNIQUE (inbox_id, kind, "
           "purpose, value))",
           "CREATE INDEX forward_rules_by_token ON forward_rules(token_hash)",
           // Reports that cost a round trip to compute (spamd, DNS blocklists), kept with the message.
           "CREATE TABLE message_reports (message_id BIGINT NOT NULL REFERENCES sandbox_messages(id) ON DELETE "
           "CASCADE, kind TEXT NOT NULL, report TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (message_id, "
           "kind))",
       }},
      {8,
       "web UI sessions",
       {
           // Browser sign-ins. Only a hash of the session cookie is kept, like API tokens; expires_at slides
           // forward with use (at most one write per hour per session).
           "CREATE TABLE ui_sessions (id {ID}, session_hash TEXT NOT NULL UNIQUE, user_id BIGINT NOT NULL "
           "REFERENCES users(id) ON DELETE CASCADE, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, "
           "last_seen_at BIGINT NOT NULL)",
           "CREATE INDEX ui_sessions_by_user ON ui_sessions(user_id)",
           "CREATE INDEX ui_sessions_by_expiry ON ui_sessions(expires_at)",
       }},
      {9,
       "contentless search index",
       {
           // SQLite only. The FTS5 table of migration 2 kept its own uncompressed copy of every message's text,
           // written again at every capture. Now the index is contentless and the text it was built from is kept
           // zstd-packed (store/search_text.h) in a table that cascades with its message; that table's delete
           // trigger gives FTS5 the text back to take the message's words out. The tokenizer is unicode61 with
           // a fast path for ASCII text (store/sqlite/fts_tokenizer.h): the same tokens. Search rows of messages
           // that no longer exist (left by account deletion, which never removed them) are not carried over.
           "[sqlite] CREATE TABLE sandbox_messages_search (message_id INTEGER PRIMARY KEY REFERENCES "
           "sandbox_messages(id) ON DELETE CASCADE, subject TEXT NOT NULL, addresses TEXT NOT NULL, text_zstd BLOB "
           "NOT NULL)",
           "[sqlite] CREATE VIRTUAL TABLE sandbox_messages_words USING fts5(subject, addresses, headers, body, "
           "content='', columnsize=0, tokenize='postroom_unicode61 remove_diacritics 2')",
           "[sqlite] INSERT INTO sandbox_messages_search (message_id, subject, addresses, text_zstd) SELECT rowid, "
           "COALESCE(subject, ''), COALESCE(addresses, ''), postroom_pack_search_text(COALESCE(headers, ''), "
           "COALESCE(body, '')) FROM sandbox_messages_fts WHERE rowid IN (SELECT id FROM sandbox_messages)",
           "[sqlite] INSERT INTO sandbox_messages_words (rowid, subject, addresses, headers, body) SELECT message_id, "
           "subject, addresses, postroom_search_text(text_zstd, 0), postroom_search_text(text_zstd, 1) FROM "
           "sandbox_messages_search",
           "[sqlite] DROP TABLE sandbox_messages_fts",
           "[sqlite] CREATE TRIGGER sandbox_messages_search_delete AFTER DELETE ON sandbox_messages_search BEGIN "
           "INSERT INTO sandbox_messages_words (sandbox_messages_words, rowid, subject, addresses, headers, body) "
           "VALUES ('delete', old.message_id, old.subject, old.addresses, postroom_search_text(old.text_zstd, 0), "
           "postroom_search_text(old.text_zstd, 1)); END",
       }},
      {10,
       "search text packed with LZ4",
       {
           // SQLite only. New rows pack the search text with LZ4 (store/search_text.h); rows packed with zstd stay
           // as they are and are still read, so the column gets a name that says neither. The delete trigger is
           // rewritten by the rename.
           "[sqlite] ALTER TABLE sandbox_messages_search RENAME COLUMN text_zstd TO text_packed",
       }},
      {11,
       "word index without positions",
       {
           // SQLite only. The index records which messages hold a word, not where (detail=none): the positions
           // were most of the work of indexing a message, and its tokenizer gives each word of a column once
           // (store/sqlite/fts_tokenizer.h). Phrases are checked on the packed text instead
           // (store/sqlite/fts_phrase.h). The index is rebuilt from that text, and the delete trigger that writes
           // to it is made again.
           "[sqlite] DROP TRIGGER sandbox_messages_search_delete",
           "[sqlite] DROP TABLE sandbox_messages_words",
           "[sqlite] CREATE VIRTUAL TABLE sandbox_messages_words USING fts5(subject, addresses, headers, body, "
           "content='', columnsize=0, detail=none, tokenize='postroom_words remove_diacritics 2')",
           "[sqlite] INSERT INTO sandbox_messages_words (rowid, subject, addresses, headers, body) SELECT message_id, "
           "subject, addresses, postroom_search_text(text_packed, 0), postroom_search_text(text_packed, 1) FROM "
           "sandbox_messages_search",
           "[sqlite] CREATE TRIGGER sandbox_messages_search_delete AFTER DELETE ON sandbox_messages_search BEGIN "
           "INSERT INTO sandbox_messages_words (sandbox_messages_words, rowid, subject, addresses, headers, body) "
           "VALUES ('delete', old.message_id, old.subject, old.addresses, postroom_search_text(old.text_packed, 0), "
           "postroom_search_text(old.text_packed, 1)); END",
       }},
  };
  return all;
}

// Expands one statement for `dialect`; empty when the statement is marked "[sqlite] " or "[postgres] " for the
// other dialect (full-text search differs between the two).
std::string expand(const char* statement, Dialect dialect) {
  std::string sql = statement;
  for (const auto& [marker, only] :
       {std::pair{"[sqlite] ", Dialect::sqlite}, std::pair{"[postgres] ", Dialect::postgres}}) {
    if (sql.starts_with(marker)) {
      if (dialect != only) return {};
      sql.erase(0, std::string_view(marker).size());
    }
  }
  auto replace = [&](const std::string& from, const std::string& to) {
    for (auto pos = sql.find(from); pos != std::string::npos; pos = sql.find(from, pos + to.size()))
      sql.replace(pos, from.size(), to);
  };
  replace("{ID}", dialect == Dialect::sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY");
  replace("{BLOB}", dialect == Dialect::sqlite ? "BLOB" : "BYTEA");
  return sql;
}

}  // namespace

int schema_version(Database& db) {
  return db.read([](Tx& tx) {
    const auto row = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    return row ? static_cast<int>(row->integer(0)) : 0;
  });
}

int migrate(Database& db) { return migrate_up_to(db, 1 << 30); }

int migrate_up_to(Database& db, int up_to_version) {
  db.write([](Tx& tx) {
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at BIGINT NOT NULL)");
  });
  return db.write([up_to_version](Tx& tx) {
    // Several nodes may start at once against one PostgreSQL database: serialize their migrations.
    if (tx.dialect() == Dialect::postgres) tx.query("SELECT pg_advisory_xact_lock(7355608)");
    const auto row = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    const int current = row ? static_cast<int>(row->integer(0)) : 0;
    int applied = 0;
    for (const Migration& m : migrations()) {
      if (m.version <= current || m.version > up_to_version) continue;
      for (const char* statement : m.statements) {
        const std::string sql = expand(statement, tx.dialect());
        if (!sql.empty()) tx.execute(sql);
      }
      tx.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                 {std::int64_t{m.version}, std::string(m.name), std::int64_t{0}});
      ++applied;
    }
    return applied;
  });
}

}  // namespace postroom::store
