#include "store/messages_store.h"

#include <stdexcept>

#include "store/search_text.h"

namespace postroom::store {

using sandbox::AttachmentSummary;
using sandbox::MessageSummary;
using sandbox::SearchTerm;

namespace {

constexpr const char* kMessageColumns =
    "id, inbox_id, account_id, subject, from_email, from_name, to_email, to_name, recipients_json, headers_json, "
    "smtp_json, message_id_header, sent_at, created_at, updated_at, is_read, email_size, html_body_size, "
    "text_body_size, attachments_count, template_id, template_variables";

MessageSummary message_from(const Row& row) {
  MessageSummary m;
  m.id = row.integer(0);
  m.inbox_id = row.integer(1);
  m.account_id = row.integer(2);
  m.subject = row.text(3);
  m.from_email = row.text(4);
  m.from_name = row.text(5);
  m.to_email = row.text(6);
  m.to_name = row.text(7);
  m.recipients_json = row.text(8);
  m.headers_json = row.text(9);
  m.smtp_json = row.text(10);
  m.message_id_header = row.text(11);
  m.sent_at = row.integer(12);
  m.created_at = row.integer(13);
  m.updated_at = row.integer(14);
  m.is_read = row.integer(15) != 0;
  m.email_size = row.integer(16);
  m.html_body_size = row.optional_integer(17);
  m.text_body_size = row.optional_integer(18);
  m.attachments_count = row.integer(19);
  m.template_id = row.optional_integer(20);
  m.template_variables = row.optional_text(21);
  return m;
}

constexpr const char* kAttachmentColumns =
    "a.id, a.message_id, a.inbox_id, a.part_index, a.filename, a.attachment_type, a.content_type, a.content_id, "
    "a.transfer_encoding, a.attachment_size, a.created_at";

AttachmentSummary attachment_from(const Row& row) {
  AttachmentSummary a;
  a.id = row.integer(0);
  a.message_id = row.integer(1);
  a.inbox_id = row.integer(2);
  a.part_index = row.integer(3);
  a.filename = row.text(4);
  a.attachment_type = row.text(5);
  a.content_type = row.text(6);
  a.content_id = row.optional_text(7).value_or("");
  a.transfer_encoding = row.text(8);
  a.size = row.integer(9);
  a.created_at = row.integer(10);
  return a;
}

// A LIKE pattern matching `text` anywhere, with LIKE's wildcards escaped (ESCAPE '\').
std::string contains_pattern(const std::string& text) {
  std::string out = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('%');
  return out;
}

// Appends the SQL condition for one search term, with its parameters.
void append_term(const SearchTerm& term, Dialect dialect, std::string& sql, Params& params) {
  const char* like = " LIKE ? ESCAPE '\\'";
  std::string condition;
  auto column_like = [&](const char* column) {
    params.emplace_back(contains_pattern(term.text));
    return std::string("LOWER(") + column + ")" + like;
  };
  switch (term.field) {
    case SearchTerm::Field::any: {
      condition = "(" + column_like("subject") + " OR " + column_like("to_email") + " OR " + column_like("to_name");
      if (dialect == Dialect::sqlite) {
        // The messages holding every word of the term, then, for two words or more, those holding them in a row
        // (store/sqlite/fts_phrase.h). The word count is a constant: SQLite evaluates it once.
        condition +=
            " OR (id IN (SELECT rowid FROM sandbox_messages_words WHERE sandbox_messages_words MATCH "
            "postroom_all_words(?)) AND (postroom_word_count(?) < 2 OR EXISTS (SELECT 1 FROM sandbox_messages_search "
            "AS s WHERE s.message_id = sandbox_messages.id AND postroom_has_phrase(s.subject, s.addresses, "
            "s.text_packed, ?))))";
        for (int i = 0; i < 3; ++i) params.emplace_back(term.text);
      } else {
        condition +=
            " OR id IN (SELECT message_id FROM sandbox_messages_fts WHERE document @@ phraseto_tsquery('simple', ?))";
        params.emplace_back(term.text);
      }
      condition += ")";
      break;
    }
    case SearchTerm::Field::from:
      condition = "(" + column_like("from_email") + " OR " + column_like("from_name") + ")";
      break;
    case SearchTerm::Field::to:
      condition = column_like("recipients_json");
      break;
    case SearchTerm::Field::subject:
      condition = column_like("subject");
      break;
    case SearchTerm::Field::has_attachment:
      condition = "attachments_count > 0";
      break;
    case SearchTerm::Field::is_unread:
      condition = "is_read = 0";
      break;
    case SearchTerm::Field::is_read:
      condition = "is_read <> 0";
      break;
  }
  sql += term.negated ? " AND NOT " + condition : " AND " + condition;
}

std::string in_list(std::size_t count) {
  std::string out = "(";
  for (std::size_t i = 0; i < count; ++i) out += i ? ", ?" : "?";
  return out + ")";
}

}  // namespace

std::int64_t MessagesStore::insert(const MessageSummary& m, const std::string& raw_zstd,
                                   const std::vector<AttachmentSummary>& attachments, const SearchDocument& document) {
  const std::int64_t id = insert_message(m, raw_zstd, attachments);
  index(id, document);
  return id;
}

std::int64_t MessagesStore::insert_message(const MessageSummary& m, const std::string& raw_zstd,
                                           const std::vector<AttachmentSummary>& attachments) {
  const std::int64_t id = tx_.insert_returning_id(
      "INSERT INTO sandbox_messages (inbox_id, account_id, subject, from_email, from_name, to_email, to_name, "
      "recipients_json, headers_json, smtp_json, message_id_header, sent_at, created_at, updated_at, is_read, "
      "email_size, html_body_size, text_body_size, attachments_count, template_id, template_variables, raw_zstd) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {m.inbox_id,
       m.account_id,
       m.subject,
       m.from_email,
       m.from_name,
       m.to_email,
       m.to_name,
       m.recipients_json,
       m.headers_json,
       m.smtp_json,
       m.message_id_header,
       m.sent_at,
       m.created_at,
       m.updated_at,
       std::int64_t{m.is_read ? 1 : 0},
       m.email_size,
       nullable(m.html_body_size),
       nullable(m.text_body_size),
       m.attachments_count,
       nullable(m.template_id),
       nullable(m.template_variables),
       Blob{raw_zstd}});
  for (const AttachmentSummary& a : attachments) {
    tx_.execute(
        "INSERT INTO sandbox_attachments (message_id, inbox_id, part_index, filename, attachment_type, content_type, "
        "content_id, transfer_encoding, attachment_size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, m.inbox_id, a.part_index, a.filename, a.attachment_type, a.content_type, a.content_id, a.transfer_encoding,
         a.size, a.created_at});
  }
  return id;
}

void MessagesStore::index(std::int64_t id, SearchDocument document) {
  if (tx_.dialect() == Dialect::sqlite) {
    // The words go into the contentless index; the text they came from is kept packed for their removal.
    if (document.packed_text.empty()) document.packed_text = pack_search_text(document.headers, document.body);
    tx_.execute("INSERT INTO sandbox_messages_search (message_id, subject, addresses, text_packed) VALUES (?, ?, ?, ?)",
                {id, document.subject, document.addresses, Blob{std::move(document.packed_text)}});
    Params params;  // moved in: an initializer list would copy the body once more
    params.reserve(5);
    params.emplace_back(id);
    params.emplace_back(std::move(document.subject));
    params.emplace_back(std::move(document.addresses));
    params.emplace_back(std::move(document.headers));
    params.emplace_back(std::move(document.body));
    tx_.execute("INSERT INTO sandbox_messages_words (rowid, subject, addresses, headers, body) VALUES (?, ?, ?, ?, ?)",
                params);
  } else {
    // Weighted like the FTS columns: subject and addresses rank above headers and body. Kept below
    // PostgreSQL's 1 MB tsvector limit by the caller's truncation.
    tx_.execute(
        "INSERT INTO sandbox_messages_fts (message_id, document) VALUES (?, setweight(to_tsvector('simple', ?), "
        "'A') || setweight(to_tsvector('simple', ?), 'B') || setweight(to_tsvector('simple', ?), 'C') || "
        "setweight(to_tsvector('simple', ?), 'D'))",
        {id, document.subject, document.addresses, document.headers, document.body});
  }
}

std::vector<std::int64_t> MessagesStore::evict_beyond(std::int64_t inbox_id, std::int64_t keep,
                                                      std::optional<std::int64_t> count) {
  std::vector<std::int64_t> ids;
  // The kept count makes the common case (under the limit) one primary-key read instead of an index walk.
  if (!count) {
    const auto row = tx_.query_one("SELECT messages_count FROM inboxes WHERE id = ?", {inbox_id});
    if (!row) return ids;
    count = row->integer(0);
  }
  if (*count <= keep) return ids;
  for (const Row& row : tx_.query("SELECT id FROM sandbox_messages WHERE inbox_id = ? ORDER BY id ASC LIMIT ?",
                                  {inbox_id, std::min<std::int64_t>(*count - keep, 100000)}))
    ids.push_back(row.integer(0));
  delete_ids(ids);
  tx_.execute("UPDATE inboxes SET messages_count = messages_count - ? WHERE id = ?",
              {static_cast<std::int64_t>(ids.size()), inbox_id});
  return ids;
}

void MessagesStore::delete_ids(const std::vector<std::int64_t>& ids) {
  for (std::size_t start = 0; start < ids.size(); start += 500) {
    const std::size_t count = std::min<std::size_t>(500, ids.size() - start);
    Params params(ids.begin() + static_cast<std::ptrdiff_t>(start),
                  ids.begin() + static_cast<std::ptrdiff_t>(start + count));
    tx_.execute("DELETE FROM sandbox_messages WHERE id IN " + in_list(count), params);
  }
}

std::vector<MessagesStore::Deleted> MessagesStore::delete_created_before(std::int64_t cutoff, int limit) {
  std::vector<Deleted> deleted;
  std::vector<std::int64_t> ids;
  for (const Row& row :
       tx_.query("SELECT account_id, inbox_id, id FROM sandbox_messages WHERE created_at < ? ORDER BY id LIMIT ?",
                 {cutoff, std::int64_t{limit}})) {
    deleted.push_back({row.integer(0), row.integer(1), row.integer(2)});
    ids.push_back(row.integer(2));
  }
  delete_ids(ids);
  for (const Deleted& gone : deleted)
    tx_.execute("UPDATE inboxes SET messages_count = messages_count - 1 WHERE id = ?", {gone.inbox_id});
  return deleted;
}

std::vector<MessageSummary> MessagesStore::list(std::int64_t account_id, std::int64_t inbox_id,
                                                const sandbox::SearchQuery& query,
                                                std::optional<std::int64_t> before_id,
                                                std::optional<std::int64_t> after_id, int limit, int offset,
                                                bool oldest_first) {
  std::string sql =
      std::string("SELECT ") + kMessageColumns + " FROM sandbox_messages WHERE account_id = ? AND inbox_id = ?";
  Params params{account_id, inbox_id};
  if (before_id) {
    sql += " AND id < ?";
    params.emplace_back(*before_id);
  }
  if (after_id) {
    sql += " AND id > ?";
    params.emplace_back(*after_id);
  }
  for (const SearchTerm& term : query.terms) append_term(term, tx_.dialect(), sql, params);
  sql += oldest_first ? " ORDER BY id ASC LIMIT ? OFFSET ?" : " ORDER BY id DESC LIMIT ? OFFSET ?";
  params.emplace_back(std::int64_t{limit});
  params.emplace_back(std::int64_t{offset});
  std::vector<MessageSummary> out;
  for (const Row& row : tx_.query(sql, params)) out.push_back(message_from(row));
  return out;
}

std::optional<MessageSummary> MessagesStore::find(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id) {
  const auto row = tx_.query_one(std::string("SELECT ") + kMessageColumns +
                                     " FROM sandbox_messages WHERE account_id = ? AND inbox_id = ? AND id = ?",
                                 {account_id, inbox_id, id});
  if (!row) return std::nullopt;
  return message_from(*row);
}

std::optional<MessagesStore::StoredRaw> MessagesStore::raw(std::int64_t account_id, std::int64_t inbox_id,
                                                           std::int64_t id) {
  const auto row = tx_.query_one(
      "SELECT raw_zstd, email_size, subject FROM sandbox_messages WHERE account_id = ? AND inbox_id = ? AND id = ?",
      {account_id, inbox_id, id});
  if (!row) return std::nullopt;
  return StoredRaw{row->text(0), row->integer(1), row->text(2)};
}

bool MessagesStore::set_read(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id, bool is_read,
                             std::int64_t now) {
  return tx_.execute(
             "UPDATE sandbox_messages SET is_read = ?, updated_at = ? WHERE account_id = ? AND inbox_id = ? AND id = ?",
             {std::int64_t{is_read ? 1 : 0}, now, account_id, inbox_id, id}) > 0;
}

bool MessagesStore::remove(std::int64_t account_id, std::int64_t inbox_id, std::int64_t id) {
  const bool removed = tx_.execute("DELETE FROM sandbox_messages WHERE account_id = ? AND inbox_id = ? AND id = ?",
                                   {account_id, inbox_id, id}) > 0;
  if (removed) {
    tx_.execute("UPDATE inboxes SET messages_count = messages_count - 1 WHERE id = ?", {inbox_id});
  }
  return removed;
}

std::vector<AttachmentSummary> MessagesStore::attachments(std::int64_t account_id, std::int64_t inbox_id,
                                                          std::int64_t message_id,
                                                          const std::optional<std::string>& attachment_type) {
  std::string sql = std::string("SELECT ") + kAttachmentColumns +
                    " FROM sandbox_attachments a JOIN sandbox_messages m ON m.id = a.message_id "
                    "WHERE m.account_id = ? AND m.inbox_id = ? AND a.message_id = ?";
  Params params{account_id, inbox_id, message_id};
  if (attachment_type) {
    sql += " AND a.attachment_type = ?";
    params.emplace_back(*attachment_type);
  }
  sql += " ORDER BY a.id";
  std::vector<AttachmentSummary> out;
  for (const Row& row : tx_.query(sql, params)) out.push_back(attachment_from(row));
  return out;
}

std::optional<AttachmentSummary> MessagesStore::attachment(std::int64_t account_id, std::int64_t inbox_id,
                                                           std::int64_t message_id, std::int64_t id) {
  const auto row = tx_.query_one(std::string("SELECT ") + kAttachmentColumns +
                                     " FROM sandbox_attachments a JOIN sandbox_messages m ON m.id = a.message_id "
                                     "WHERE m.account_id = ? AND m.inbox_id = ? AND a.message_id = ? AND a.id = ?",
                                 {account_id, inbox_id, message_id, id});
  if (!row) return std::nullopt;
  return attachment_from(*row);
}

std::optional<sandbox::InboxLimits> MessagesStore::inbox_limits(std::int64_t inbox_id) {
  const auto row =
      tx_.query_one("SELECT account_id, max_messages, max_message_size FROM inboxes WHERE id = ?", {inbox_id});
  if (!row) return std::nullopt;
  return sandbox::InboxLimits{row->integer(0), row->optional_integer(1).value_or(0),
                              row->optional_integer(2).value_or(0)};
}

void MessagesStore::count_arrival(std::int64_t inbox_id, std::int64_t now) {
  tx_.execute(
      "UPDATE inboxes SET sent_messages_count = sent_messages_count + 1, messages_count = messages_count + 1, "
      "last_message_sent_at = ? WHERE id = ?",
      {now, inbox_id});
}

std::int64_t MessagesStore::count_arrivals(std::int64_t inbox_id, std::int64_t arrivals, std::int64_t now) {
  const auto row = tx_.query_one(
      "UPDATE inboxes SET sent_messages_count = sent_messages_count + ?, messages_count = messages_count + ?, "
      "last_message_sent_at = ? WHERE id = ? RETURNING messages_count",
      {arrivals, arrivals, now, inbox_id});
  return row ? row->integer(0) : 0;
}

}  // namespace postroom::store
