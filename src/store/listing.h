// Filtered, paged listings for the Describe actions, built in the store so both backends count
// and page alike. Repositories describe a listing with typed filters; ListQuery turns them into
// one WHERE clause whose every value is a bound parameter, never spliced into the SQL.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/database.h"

namespace cvm::store {

// Which page to read, counted over what the caller may see.
struct PageRequest {
  size_t offset = 0;
  size_t limit = 20;
  // Unset when the caller sees every row: the database counts and pages. Set: each matching id
  // is judged in listing order before paging, so TotalCount stays exact.
  std::function<bool(std::string_view id)> visible;
};

template <typename T>
struct Page {
  int64_t total = 0;  // every matching row the caller may see
  std::vector<T> items;
};

// The values a filter accepts; unset: no condition.
using AnyOf = std::optional<std::vector<std::string>>;

// One tag condition of a Describe call.
struct TagCondition {
  enum class Kind { kKey, kValue, kKeyValue };
  Kind kind = Kind::kKey;
  std::string key;                  // kKeyValue: the key whose value must be among `values`
  std::vector<std::string> values;  // kKey: keys; kValue, kKeyValue: values
};
using TagFilter = std::vector<TagCondition>;

// The WHERE clause of a listing. Column names and clauses come from the repositories only.
class ListQuery {
 public:
  ListQuery(std::string clause, std::vector<Value> args)
      : sql_(" WHERE " + std::move(clause)), args_(std::move(args)) {}

  // AND column IN (values...)
  void In(const std::string& column, const std::vector<std::string>& values);
  // In() when the filter is set.
  void In(const std::string& column, const AnyOf& values) {
    if (values) In(column, *values);
  }
  // AND column = 1 / = 0 when set.
  void Flag(const std::string& column, std::optional<bool> value);
  // AND the row's `id_column` carries the tags.
  void Tagged(const std::string& id_column, const TagFilter& tags);
  void And(const std::string& clause) { sql_ += " AND " + clause; }
  // AND clause, whose '?' placeholders take `args` in order.
  void And(const std::string& clause, std::vector<Value> args);
  // A filter no row can pass.
  void MatchNothing() { And("1 = 0"); }

  // The matching rows of `table` the caller may see (`id_column` names each row's resource):
  // their count and one page in `order_by` order (which ends on a unique column). When the
  // caller sees everything, counting and paging happen in the database (`total_if_all`, when
  // given, is the count); otherwise the matching ids are read in order and judged one by one.
  Result<Page<Row>> List(Database& db, const std::string& table, const std::string& id_column,
                         const std::string& columns, const std::string& order_by,
                         const PageRequest& page,
                         std::optional<int64_t> total_if_all = std::nullopt) const;

 private:
  std::string sql_;
  std::vector<Value> args_;
};

// A page of typed records read from a page of rows.
template <typename T, typename FromRow>
Result<Page<T>> TypedPage(Result<Page<Row>> rows, FromRow from_row) {
  if (!rows.ok()) return rows.status();
  Page<T> out;
  out.total = rows->total;
  for (const auto& r : rows->items) out.items.push_back(from_row(r));
  return out;
}

}  // namespace cvm::store
