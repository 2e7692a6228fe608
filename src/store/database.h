#pragma once
// The storage backend seam. Repositories (store/*_store.h) speak portable SQL with `?` placeholders through
// a Tx; each backend (SQLite, PostgreSQL) implements Tx and Database. Nothing above this layer knows which
// backend is in use.
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace postroom::store {

enum class Dialect { sqlite, postgres };

struct Blob {
  std::string bytes;
};

using Value = std::variant<std::monostate, std::int64_t, double, std::string, Blob>;

struct Row {
  std::vector<Value> columns;

  bool is_null(std::size_t i) const { return std::holds_alternative<std::monostate>(columns.at(i)); }
  std::int64_t integer(std::size_t i) const;
  double real(std::size_t i) const;
  std::string text(std::size_t i) const;
  std::optional<std::int64_t> optional_integer(std::size_t i) const;
  std::optional<std::string> optional_text(std::size_t i) const;
};

using Rows = std::vector<Row>;
using Params = std::vector<Value>;

inline Value nullable(const std::optional<std::int64_t>& v) { return v ? Value(*v) : Value(); }
inline Value nullable(const std::optional<std::string>& v) { return v ? Value(*v) : Value(); }

// A transaction (writes) or a read snapshot. Not thread-safe; used by one job at a time.
class Tx {
 public:
  virtual ~Tx() = default;
  virtual Rows query(std::string_view sql, const Params& params = {}) = 0;
  // Runs a statement and returns the number of rows it changed.
  virtual std::int64_t execute(std::string_view sql, const Params& params = {}) = 0;
  virtual Dialect dialect() const = 0;

  std::optional<Row> query_one(std::string_view sql, const Params& params = {}) {
    Rows rows = query(sql, params);
    if (rows.empty()) return std::nullopt;
    return std::move(rows.front());
  }
  // Runs an "INSERT … RETURNING id" and returns the id.
  std::int64_t insert_returning_id(std::string_view sql, const Params& params);
};

struct StorageStats {
  std::uint64_t write_jobs = 0;
  std::uint64_t write_commits = 0;  // jobs / commits = the group-commit batching factor
};

class Database {
 public:
  virtual ~Database() = default;

  // Runs f in a read snapshot and returns its result.
  template <class F>
  auto read(F&& f) -> std::invoke_result_t<F, Tx&> {
    return run<std::invoke_result_t<F, Tx&>>(std::forward<F>(f), false);
  }
  // Runs f inside a write transaction; returns only after the transaction is durably committed.
  // An exception thrown by f rolls back f's changes and is rethrown to the caller.
  template <class F>
  auto write(F&& f) -> std::invoke_result_t<F, Tx&> {
    return run<std::invoke_result_t<F, Tx&>>(std::forward<F>(f), true);
  }

  // Runs `job` in a write transaction without waiting for it: `done` is called once the transaction is durably
  // committed (with nullptr) or has failed (with the error), on whichever thread finished it; it must not block
  // or write. The base version runs the job on the calling thread; a backend with a writer thread queues it.
  virtual void write_async(std::function<void(Tx&)> job, std::function<void(std::exception_ptr)> done);

  virtual Dialect dialect() const = 0;
  virtual std::string describe() const = 0;  // for logs: backend and location, no secrets
  // True when the store answers a query (readiness).
  bool ping();
  virtual StorageStats stats() const = 0;

  // Called after every read or write job with its duration (for metrics). Set before concurrent use.
  void set_observer(std::function<void(bool is_write, double seconds)> observer) { observer_ = std::move(observer); }

 protected:
  virtual void run_read(const std::function<void(Tx&)>& job) = 0;
  virtual void run_write(const std::function<void(Tx&)>& job) = 0;

 private:
  struct Timer {
    const Database& db;
    bool is_write;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    ~Timer() {
      if (db.observer_)
        db.observer_(is_write, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  };

  // The read snapshot open on this thread, per database: a read() inside another read() joins it, so a
  // read-only request sees one consistent snapshot and pays for one transaction.
  struct OpenRead {
    const Database* db;
    Tx* tx;
  };
  static inline thread_local std::vector<OpenRead> open_reads_;

  template <class R, class F>
  R run(F&& f, bool is_write) {
    if (!is_write) {
      for (const OpenRead& open : open_reads_) {
        if (open.db == this) return f(*open.tx);
      }
    }
    Timer timer{*this, is_write};
    auto tracked = [&](Tx& tx) -> R {
      if (is_write) return f(tx);
      open_reads_.push_back({this, &tx});
      struct Pop {
        ~Pop() { open_reads_.pop_back(); }
      } pop;
      return f(tx);
    };
    if constexpr (std::is_void_v<R>) {
      std::function<void(Tx&)> job = [&](Tx& tx) { tracked(tx); };
      is_write ? run_write(job) : run_read(job);
    } else {
      std::optional<R> result;
      std::function<void(Tx&)> job = [&](Tx& tx) { result.emplace(tracked(tx)); };
      is_write ? run_write(job) : run_read(job);
      return std::move(*result);
    }
  }

  std::function<void(bool, double)> observer_;
};

struct DatabaseOptions {
  int pool_size = 8;  // PostgreSQL connections / SQLite reader connections
};

// Opens "sqlite:PATH" or "postgres://…" / "postgresql://…" and applies pending migrations.
std::unique_ptr<Database> open_database(const std::string& url, const DatabaseOptions& options = {});

// Backend constructors (used by open_database and by tests).
std::unique_ptr<Database> open_sqlite(const std::string& path, const DatabaseOptions& options);
std::unique_ptr<Database> open_postgres(const std::string& url, const DatabaseOptions& options);

// Applies the versioned schema migrations that are not yet applied. Returns the number applied.
int migrate(Database& db);
int schema_version(Database& db);

}  // namespace postroom::store
