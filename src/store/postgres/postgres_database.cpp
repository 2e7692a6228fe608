// PostgreSQL backend over libpq: a fixed pool of connections, one transaction per write job. PostgreSQL
// does its own group commit across concurrent transactions, so no batching is needed here.
#include <libpq-fe.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/connection_pool.h"
#include "store/database.h"

namespace postroom::store {
namespace {

// Type OIDs from pg_type.h (server headers are not needed for these few constants).
constexpr Oid kBoolOid = 16, kByteaOid = 17, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kOidOid = 26,
              kFloat4Oid = 700, kFloat8Oid = 701, kNumericOid = 1700;

// Rewrites portable `?` placeholders to `$1, $2, …`, leaving quoted text alone.
std::string to_postgres_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int index = 0;
  char quote = 0;
  for (char c : sql) {
    if (quote) {
      if (c == quote) quote = 0;
      out.push_back(c);
    } else if (c == '\'' || c == '"') {
      quote = c;
      out.push_back(c);
    } else if (c == '?') {
      out.push_back('$');
      out += std::to_string(++index);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string decode_bytea_hex(const char* text, int length) {
  if (length <= 0) return {};
  std::string out;
  if (length < 2 || text[0] != '\\' || text[1] != 'x') return std::string(text, static_cast<std::size_t>(length));
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 0;
  };
  out.reserve(static_cast<std::size_t>(length - 2) / 2);
  for (int i = 2; i + 1 < length; i += 2) out.push_back(static_cast<char>(nibble(text[i]) << 4 | nibble(text[i + 1])));
  return out;
}

class PgConnection final : public Tx {
 public:
  explicit PgConnection(const std::string& url) {
    conn_ = PQconnectdb(url.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string message = std::string("cannot connect to PostgreSQL: ") + PQerrorMessage(conn_);
      PQfinish(conn_);
      throw std::runtime_error(message);
    }
    exec_plain("SET client_min_messages TO warning");
  }
  ~PgConnection() override { PQfinish(conn_); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  bool healthy() const { return PQstatus(conn_) == CONNECTION_OK; }
  void reset() { PQreset(conn_); }

  void exec_plain(const char* sql) {
    PGresult* result = PQexec(conn_, sql);
    const auto status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string message = std::string(sql) + ": " + PQresultErrorMessage(result);
      PQclear(result);
      throw std::runtime_error(message);
    }
    PQclear(result);
  }

  Rows query(std::string_view sql, const Params& params) override {
    PGresult* result = run(sql, params);
    Rows rows;
    const int n_rows = PQntuples(result), n_cols = PQnfields(result);
    rows.reserve(static_cast<std::size_t>(n_rows));
    for (int r = 0; r < n_rows; ++r) {
      Row row;
      row.columns.reserve(static_cast<std::size_t>(n_cols));
      for (int c = 0; c < n_cols; ++c) row.columns.push_back(cell(result, r, c));
      rows.push_back(std::move(row));
    }
    PQclear(result);
    return rows;
  }

  std::int64_t execute(std::string_view sql, const Params& params) override {
    PGresult* result = run(sql, params);
    const char* affected = PQcmdTuples(result);
    const std::int64_t count = (affected && *affected) ? std::stoll(affected) : 0;
    PQclear(result);
    return count;
  }

  Dialect dialect() const override { return Dialect::postgres; }

 private:
  PGresult* run(std::string_view sql, const Params& params) {
    const std::string text = to_postgres_placeholders(sql);
    std::vector<std::string> storage(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0), formats(params.size(), 0);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (std::holds_alternative<std::monostate>(v)) continue;
      if (auto p = std::get_if<std::int64_t>(&v)) {
        storage[i] = std::to_string(*p);
      } else if (auto p = std::get_if<double>(&v)) {
        storage[i] = std::to_string(*p);
      } else if (auto p = std::get_if<std::string>(&v)) {
        storage[i] = *p;
      } else if (auto p = std::get_if<Blob>(&v)) {
        storage[i] = p->bytes;
        formats[i] = 1;  // binary
      }
      values[i] = storage[i].data();
      lengths[i] = static_cast<int>(storage[i].size());
    }
    PGresult* result = PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                                    lengths.data(), formats.data(), 0);
    const auto status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string message = std::string("PostgreSQL: ") + PQresultErrorMessage(result) + " in: " + text;
      PQclear(result);
      throw std::runtime_error(message);
    }
    return result;
  }

  static Value cell(PGresult* result, int r, int c) {
    if (PQgetisnull(result, r, c)) return std::monostate{};
    const char* text = PQgetvalue(result, r, c);
    const int length = PQgetlength(result, r, c);
    switch (PQftype(result, c)) {
      case kInt8Oid:
      case kInt4Oid:
      case kInt2Oid:
      case kOidOid:
        return static_cast<std::int64_t>(std::stoll(text));
      case kBoolOid:
        return static_cast<std::int64_t>(text[0] == 't' ? 1 : 0);
      case kFloat4Oid:
      case kFloat8Oid:
      case kNumericOid:
        return std::stod(text);
      case kByteaOid:
        return Blob{decode_bytea_hex(text, length)};
      default:
        return std::string(text, static_cast<std::size_t>(length));
    }
  }

  PGconn* conn_ = nullptr;
};

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(std::string url, const DatabaseOptions& options) : url_(std::move(url)) {
    const int size = std::max(1, options.pool_size);
    for (int i = 0; i < size; ++i) pool_.add(std::make_unique<PgConnection>(url_));
  }

  Dialect dialect() const override { return Dialect::postgres; }

  std::string describe() const override {
    // Never log the password: keep scheme, host and database only.
    const auto at = url_.rfind('@');
    return "postgres://" + (at == std::string::npos ? url_.substr(url_.find("//") + 2) : url_.substr(at + 1));
  }

  StorageStats stats() const override { return {jobs_.load(), commits_.load()}; }

 protected:
  void run_read(const std::function<void(Tx&)>& job) override {
    run(job, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }
  void run_write(const std::function<void(Tx&)>& job) override {
    ++jobs_;
    run(job, "BEGIN");
    ++commits_;
  }

 private:
  void run(const std::function<void(Tx&)>& job, const char* begin) {
    auto connection = pool_.acquire();
    if (!connection->healthy()) connection->reset();
    connection->exec_plain(begin);
    try {
      job(*connection);
    } catch (...) {
      try {
        connection->exec_plain("ROLLBACK");
      } catch (...) {
      }
      throw;
    }
    connection->exec_plain("COMMIT");
  }

  std::string url_;
  ConnectionPool<PgConnection> pool_;
  std::atomic<std::uint64_t> jobs_{0};
  std::atomic<std::uint64_t> commits_{0};
};

}  // namespace

std::unique_ptr<Database> open_postgres(const std::string& url, const DatabaseOptions& options) {
  return std::make_unique<PostgresDatabase>(url, options);
}

}  // namespace postroom::store
