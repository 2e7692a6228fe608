#include "store/database.h"

#include <stdexcept>

namespace postroom::store {

void Database::write_async(std::function<void(Tx&)> job, std::function<void(std::exception_ptr)> done) {
  std::exception_ptr error;
  try {
    write([&](Tx& tx) { job(tx); });
  } catch (...) {
    error = std::current_exception();
  }
  done(error);
}

std::int64_t Tx::insert_returning_id(std::string_view sql, const Params& params) {
  const auto row = query_one(sql, params);
  if (!row) throw std::runtime_error("INSERT returned no id");
  return row->integer(0);
}

std::int64_t Row::integer(std::size_t i) const {
  const Value& v = columns.at(i);
  if (auto p = std::get_if<std::int64_t>(&v)) return *p;
  if (auto p = std::get_if<double>(&v)) return static_cast<std::int64_t>(*p);
  if (auto p = std::get_if<std::string>(&v)) return std::stoll(*p);
  throw std::runtime_error("column " + std::to_string(i) + " is not an integer");
}

double Row::real(std::size_t i) const {
  const Value& v = columns.at(i);
  if (auto p = std::get_if<double>(&v)) return *p;
  if (auto p = std::get_if<std::int64_t>(&v)) return static_cast<double>(*p);
  if (auto p = std::get_if<std::string>(&v)) return std::stod(*p);
  throw std::runtime_error("column " + std::to_string(i) + " is not a number");
}

std::string Row::text(std::size_t i) const {
  const Value& v = columns.at(i);
  if (auto p = std::get_if<std::string>(&v)) return *p;
  if (auto p = std::get_if<Blob>(&v)) return p->bytes;
  if (auto p = std::get_if<std::int64_t>(&v)) return std::to_string(*p);
  if (auto p = std::get_if<double>(&v)) return std::to_string(*p);
  return {};
}

std::optional<std::int64_t> Row::optional_integer(std::size_t i) const {
  if (is_null(i)) return std::nullopt;
  return integer(i);
}

std::optional<std::string> Row::optional_text(std::size_t i) const {
  if (is_null(i)) return std::nullopt;
  return text(i);
}

bool Database::ping() {
  try {
    read([](Tx& tx) { tx.query("SELECT 1"); });
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::unique_ptr<Database> open_database(const std::string& url, const DatabaseOptions& options) {
  std::unique_ptr<Database> db;
  if (url.rfind("sqlite:", 0) == 0) {
    std::string path = url.substr(7);
    if (path.rfind("//", 0) == 0) path = path.substr(2);  // sqlite:///abs/path and sqlite://rel both work
    if (path.empty()) throw std::invalid_argument("sqlite: URL has no path");
    db = open_sqlite(path, options);
  } else if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
    db = open_postgres(url, options);
  } else {
    throw std::invalid_argument("unsupported database URL (use sqlite:PATH or postgres://…)");
  }
  migrate(*db);
  return db;
}

}  // namespace postroom::store
