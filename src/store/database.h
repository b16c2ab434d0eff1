// The narrow storage interface every service writes through. SQL is kept portable (positional
// '?' parameters, no SQLite-only syntax in services) so a PostgreSQL backend can implement the
// same interface when a region spans hosts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace cvm::store {

using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;

struct Row {
  std::vector<Value> columns;

  bool IsNull(size_t i) const { return std::holds_alternative<std::nullptr_t>(columns.at(i)); }
  int64_t Int(size_t i) const {
    const Value& v = columns.at(i);
    if (auto p = std::get_if<int64_t>(&v)) return *p;
    if (auto d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
    return 0;
  }
  const std::string& Str(size_t i) const {
    static const std::string kEmpty;
    auto p = std::get_if<std::string>(&columns.at(i));
    return p ? *p : kEmpty;
  }
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

class Database {
 public:
  virtual ~Database() = default;
  // Writers are serialized; Begin() blocks until the previous writer finishes.
  virtual Result<std::unique_ptr<Transaction>> Begin() = 0;
  // A read-only snapshot; may run concurrently with a writer.
  virtual Result<Rows> Query(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  virtual std::string_view BackendName() const = 0;
};

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
