// SQLite backend: WAL mode, foreign keys on, one writer thread doing group commit (many concurrent write
// jobs share one transaction and one fsync), and a pool of reader connections working in parallel.
#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <future>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "store/connection_pool.h"
#include "store/database.h"
#include "store/search_text.h"
#include "store/sqlite/fts_phrase.h"
#include "store/sqlite/fts_tokenizer.h"

namespace postroom::store {
namespace {

constexpr std::size_t kMaxJobsPerCommit = 512;

class SqliteError : public std::runtime_error {
 public:
  SqliteError(sqlite3* db, const std::string& what)
      : std::runtime_error(what + ": " + (db ? sqlite3_errmsg(db) : "sqlite error")) {}
};

class Connection final : public Tx {
 public:
  Connection(const std::string& path, bool read_only) {
    const int flags =
        (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      std::string message = "cannot open SQLite database " + path;
      SqliteError error(db_, message);
      sqlite3_close(db_);
      throw error;
    }
    sqlite3_busy_timeout(db_, 10000);
    sqlite3_extended_result_codes(db_, 1);
    if (!read_only) {
      exec_plain("PRAGMA journal_mode=WAL");
      // FULL: every commit is fsynced, so an acknowledged write survives power loss, not just a crash.
      exec_plain("PRAGMA synchronous=FULL");
      // Every write job runs in a savepoint, whose journal of original pages spills to a new temporary file
      // past 64 KiB: an open, writes and an unlink per group commit. Held in memory it costs no syscalls; it
      // is bounded by the pages one transaction changes.
      exec_plain("PRAGMA temp_store=MEMORY");
    }
    exec_plain("PRAGMA foreign_keys=ON");
    register_search_text_functions(db_);
    register_fast_tokenizer(db_);
    register_phrase_functions(db_);
  }
  ~Connection() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void exec_plain(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = std::string(sql) + ": " + (error ? error : "?");
      sqlite3_free(error);
      throw std::runtime_error(message);
    }
  }

  Rows query(std::string_view sql, const Params& params) override {
    sqlite3_stmt* stmt = prepare(sql, params);
    const Unbind unbind{stmt};
    Rows rows;
    while (true) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        Row row;
        const int n = sqlite3_column_count(stmt);
        row.columns.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) row.columns.push_back(column(stmt, i));
        rows.push_back(std::move(row));
      } else if (rc == SQLITE_DONE) {
        break;
      } else {
        throw SqliteError(db_, "query failed");
      }
    }
    return rows;
  }

  std::int64_t execute(std::string_view sql, const Params& params) override {
    sqlite3_stmt* stmt = prepare(sql, params);
    const Unbind unbind{stmt};
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) throw SqliteError(db_, "statement failed");
    return sqlite3_changes(db_);
  }

  Dialect dialect() const override { return Dialect::sqlite; }

 private:
  // Parameters are bound without a copy (SQLITE_STATIC: a message body is bound as it is), so a cached statement
  // must let go of them before the caller's Params do: reset and unbound when the call ends, however it ends.
  struct Unbind {
    sqlite3_stmt* stmt;
    ~Unbind() {
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
    }
  };

  sqlite3_stmt* prepare(std::string_view sql, const Params& params) {
    sqlite3_stmt* stmt = nullptr;
    if (auto it = statements_.find(sql); it != statements_.end()) {
      stmt = it->second;
    } else {
      std::string key(sql);
      if (sqlite3_prepare_v3(db_, key.c_str(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                             nullptr) != SQLITE_OK)
        throw SqliteError(db_, "prepare failed for: " + key);
      statements_.emplace(std::move(key), stmt);
    }
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt))
      throw std::logic_error("parameter count mismatch for: " + std::string(sql));
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      const Value& v = params[i];
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(v)) {
        rc = sqlite3_bind_null(stmt, index);
      } else if (auto p = std::get_if<std::int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, index, *p);
      } else if (auto p = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, index, *p);
      } else if (auto p = std::get_if<std::string>(&v)) {
        // Bound as NUL-terminated (length -1 finds the terminator a std::string keeps) when the text has no NUL
        // of its own: then sqlite3_value_text, the full-text tokenizer's input, reads it in place instead of
        // copying the whole body to append a terminator.
        rc = p->size() < std::numeric_limits<int>::max() && std::memchr(p->data(), 0, p->size()) == nullptr
                 ? sqlite3_bind_text(stmt, index, p->c_str(), -1, SQLITE_STATIC)
                 : sqlite3_bind_text64(stmt, index, p->data(), p->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else if (auto p = std::get_if<Blob>(&v)) {
        rc = sqlite3_bind_blob64(stmt, index, p->bytes.data(), p->bytes.size(), SQLITE_STATIC);
      }
      if (rc != SQLITE_OK) {
        SqliteError error(db_, "bind failed");
        sqlite3_clear_bindings(stmt);
        throw error;
      }
    }
    return stmt;
  }

  static Value column(sqlite3_stmt* stmt, int i) {
    switch (sqlite3_column_type(stmt, i)) {
      case SQLITE_INTEGER:
        return static_cast<std::int64_t>(sqlite3_column_int64(stmt, i));
      case SQLITE_FLOAT:
        return sqlite3_column_double(stmt, i);
      case SQLITE_TEXT:
        return std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, i)),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt, i)));
      case SQLITE_BLOB: {
        const void* data = sqlite3_column_blob(stmt, i);
        return Blob{
            std::string(static_cast<const char*>(data), static_cast<std::size_t>(sqlite3_column_bytes(stmt, i)))};
      }
      default:
        return std::monostate{};
    }
  }

  sqlite3* db_ = nullptr;
  // Transparent hashing: looking a statement up by string_view allocates nothing.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> statements_;
};

// A queued write: a blocking caller lends its function and waits on a promise; an asynchronous one hands its
// function over and is told the outcome through `finished`.
struct WriteJob {
  const std::function<void(Tx&)>* borrowed = nullptr;
  std::function<void(Tx&)> owned;
  std::function<void(std::exception_ptr)> finished;
  void run(Tx& tx) const { borrowed ? (*borrowed)(tx) : owned(tx); }
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string path, const DatabaseOptions& options) : path_(std::move(path)) {
    // Memory statistics take a process-wide mutex on every allocation; we do not use them.
    static const bool configured = [] { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK; }();
    (void)configured;
    const auto parent = std::filesystem::path(path_).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    writer_connection_ = std::make_unique<Connection>(path_, false);
    const int readers = std::max(2, options.pool_size);
    for (int i = 0; i < readers; ++i) readers_.add(std::make_unique<Connection>(path_, true));
    writer_ = std::thread([this] { writer_loop(); });
  }

  ~SqliteDatabase() override {
    {
      std::lock_guard lock(queue_mutex_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    writer_.join();
  }

  Dialect dialect() const override { return Dialect::sqlite; }
  std::string describe() const override { return "sqlite:" + path_; }

  StorageStats stats() const override { return {write_jobs_.load(), write_commits_.load()}; }

 protected:
  void run_read(const std::function<void(Tx&)>& job) override {
    auto connection = readers_.acquire();
    // Transaction control goes through the statement cache: these run on every request.
    connection->execute("BEGIN", {});
    try {
      job(*connection);
    } catch (...) {
      connection->execute("ROLLBACK", {});
      throw;
    }
    connection->execute("COMMIT", {});
  }

  void run_write(const std::function<void(Tx&)>& job) override {
    if (std::this_thread::get_id() == writer_.get_id())
      throw std::logic_error("nested Database::write from inside a write job");
    std::promise<void> outcome;
    std::future<void> done = outcome.get_future();
    auto entry = std::make_shared<WriteJob>();
    entry->borrowed = &job;
    entry->finished = [&outcome](std::exception_ptr error) {
      error ? outcome.set_exception(error) : outcome.set_value();
    };
    enqueue(std::move(entry));
    done.get();  // rethrows the job's (or the commit's) exception
  }

 public:
  void write_async(std::function<void(Tx&)> job, std::function<void(std::exception_ptr)> done) override {
    auto entry = std::make_shared<WriteJob>();
    entry->owned = std::move(job);
    entry->finished = std::move(done);
    enqueue(std::move(entry));
  }

 private:
  void enqueue(std::shared_ptr<WriteJob> entry) {
    {
      std::lock_guard lock(queue_mutex_);
      queue_.push_back(std::move(entry));
    }
    queue_cv_.notify_one();
  }

  void writer_loop() {
    while (true) {
      std::vector<std::shared_ptr<WriteJob>> batch;
      {
        std::unique_lock lock(queue_mutex_);
        queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_) return;
        while (!queue_.empty() && batch.size() < kMaxJobsPerCommit) {
          batch.push_back(queue_.front());
          queue_.pop_front();
        }
      }
      commit_batch(batch);
    }
  }

  // All jobs of the batch run in one transaction, each inside its own savepoint so that a failing job
  // rolls back only its own changes. One COMMIT (one fsync) then acknowledges them all.
  void commit_batch(const std::vector<std::shared_ptr<WriteJob>>& batch) {
    Connection& db = *writer_connection_;
    std::vector<std::exception_ptr> outcomes(batch.size());
    try {
      db.exec_plain("BEGIN IMMEDIATE");
    } catch (...) {
      for (const auto& job : batch) job->finished(std::current_exception());
      return;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      try {
        db.execute("SAVEPOINT job", {});
        try {
          batch[i]->run(db);
          db.execute("RELEASE job", {});
        } catch (...) {
          outcomes[i] = std::current_exception();
          db.execute("ROLLBACK TO job", {});
          db.execute("RELEASE job", {});
        }
      } catch (...) {
        if (!outcomes[i]) outcomes[i] = std::current_exception();
      }
    }
    std::exception_ptr commit_error;
    try {
      db.exec_plain("COMMIT");
    } catch (...) {
      commit_error = std::current_exception();
      try {
        db.exec_plain("ROLLBACK");
      } catch (...) {
      }
    }
    write_jobs_ += batch.size();
    ++write_commits_;
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->finished(commit_error ? commit_error : outcomes[i]);
  }

  std::string path_;
  std::unique_ptr<Connection> writer_connection_;
  std::thread writer_;
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<std::shared_ptr<WriteJob>> queue_;
  bool stopping_ = false;
  ConnectionPool<Connection> readers_;
  std::atomic<std::uint64_t> write_jobs_{0};
  std::atomic<std::uint64_t> write_commits_{0};
};

}  // namespace

std::unique_ptr<Database> open_sqlite(const std::string& path, const DatabaseOptions& options) {
  return std::make_unique<SqliteDatabase>(path, options);
}

}  // namespace postroom::store
