// The narrow storage interface every repository writes through, with two backends: SQLite (the
// embedded default) and PostgreSQL (shared by many processes). SQL is written once in the subset
// both run the same way: '?' or '?N' parameters, no backend-only functions, and `rowid`
// only where PostgreSQL tables carry an explicit column of that name (see migrations.h).
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace cvm::store {

using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;

// One result row. NULL reads as 0 or "" (test it with IsNull when it matters); any other type
// than the one asked for is a bug in the query and throws, so it surfaces as an InternalError
// instead of a silent 0 or "".
struct Row {
  std::vector<Value> columns;

  bool IsNull(size_t i) const { return std::holds_alternative<std::nullptr_t>(columns.at(i)); }
  int64_t Int(size_t i) const {
    const Value& v = columns.at(i);
    if (auto p = std::get_if<int64_t>(&v)) return *p;
    if (IsNull(i)) return 0;
    throw TypeMismatch(i, "an integer");
  }
  double Real(size_t i) const {
    const Value& v = columns.at(i);
    if (auto d = std::get_if<double>(&v)) return *d;
    if (auto p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
    if (IsNull(i)) return 0;
    throw TypeMismatch(i, "a number");
  }
  const std::string& Str(size_t i) const {
    static const std::string kEmpty;
    const Value& v = columns.at(i);
    if (auto p = std::get_if<std::string>(&v)) return *p;
    if (IsNull(i)) return kEmpty;
    throw TypeMismatch(i, "text");
  }

 private:
  std::logic_error TypeMismatch(size_t i, const char* wanted) const;
};
using Rows = std::vector<Row>;

// Where a tenant's request reaches: its account, in the one region the request names. Every
// lookup and listing of a regional resource (instance, disk, snapshot, key pair, security
// group) made for a request takes one, so another account's or another region's resource is
// simply not found.
struct Scope {
  std::string owner_uin;
  std::string region;
};

// A unit of work. Destroying it without Commit() rolls back, so an early return on error never
// leaves half a change behind.
class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual Status Exec(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  virtual Result<Rows> Query(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  // Rows changed by the last Exec (for optimistic "UPDATE ... WHERE state = ?" checks).
  virtual int64_t ChangedRows() = 0;
  virtual Status Commit() = 0;
};

// A table as the schema defines it, for copying a whole store from one backend to another.
struct TableShape {
  std::string name;
  std::vector<std::string> columns;     // in order; PostgreSQL's explicit rowid included
  std::vector<std::string> parents;     // the tables its foreign keys reference
  std::vector<std::string> identities;  // columns the database numbers (to continue after a copy)
  bool has_rowid = false;               // an insertion order to read the rows in
};

class Database {
 public:
  virtual ~Database() = default;
  // Writers are serialized, across every process sharing the database: Begin() blocks until the
  // previous writer finishes, so a check-then-act inside one transaction is never raced.
  virtual Result<std::unique_ptr<Transaction>> Begin() = 0;
  // A read-only snapshot; may run concurrently with a writer.
  virtual Result<Rows> Query(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  virtual std::string_view BackendName() const = 0;
  // Every table (not views), with the schema's bookkeeping table left out.
  virtual Result<std::vector<TableShape>> Tables() = 0;
};

// "(?,?,?)" for `n` values, for `x IN ...` over a list bound value by value; "(NULL)" for none,
// which matches nothing.
std::string InList(size_t n);

// The values bound to such a list.
template <typename Container>
std::vector<Value> Values(const Container& items) {
  return std::vector<Value>(items.begin(), items.end());
}

// Runs `fn(tx)` in a transaction and commits when it returns OK.
template <typename Fn>
Status WithTransaction(Database& db, Fn&& fn) {
  auto tx = db.Begin();
  if (!tx.ok()) return tx.status();
  Status st = fn(**tx);
  if (!st.ok()) return st;
  return (*tx)->Commit();
}

}  // namespace cvm::store
