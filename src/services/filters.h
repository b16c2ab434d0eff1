// Tencent's Filters parameter: [{Name, Values}], Names AND-ed, Values of one Name OR-ed.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/database.h"

namespace cvm::services {

class Filters {
 public:
  // Parses params["Filters"] (already schema-checked), refusing names outside `allowed`; an
  // allowed "prefix:" admits every "prefix:<something>".
  static Result<Filters> Parse(const nlohmann::json& params, const std::set<std::string>& allowed,
                               size_t max_values = 5);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // True if no filter of that name was given, or `value` is one of its values.
  bool Matches(const std::string& name, const std::string& value) const;
  const std::vector<std::string>* Values(const std::string& name) const;
  bool empty() const { return values_.empty(); }
  const std::map<std::string, std::vector<std::string>>& all() const { return values_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

// Offset/Limit paging with Tencent's defaults (20) and maximum (100).
struct Paging {
  size_t offset = 0;
  size_t limit = 20;
  static Result<Paging> Parse(const nlohmann::json& params, size_t max_limit = 100);
};

// The WHERE clause of a Describe action's listing, so filtering and paging happen in the
// database: every value is a bound parameter, never spliced into the SQL.
class SqlWhere {
 public:
  SqlWhere(std::string clause, std::vector<store::Value> args)
      : sql_(" WHERE " + std::move(clause)), args_(std::move(args)) {}

  // AND column IN (values...)
  void In(const std::string& column, const std::vector<std::string>& values);
  // In() for every filter of `columns` (filter name -> column) that was given.
  void Filtered(const Filters& filters, const std::map<std::string, std::string>& columns);
  // Matches nothing unless the filter `name` is absent or lists `value`: for filters on
  // attributes every row here has the same value of (project-id 0, a charge type, ...).
  void OnlyIfListed(const Filters& filters, const std::string& name, const std::string& value);
  void And(const std::string& clause) { sql_ += " AND " + clause; }
  // AND clause, whose '?' placeholders take `args` in order.
  void And(const std::string& clause, std::vector<store::Value> args) {
    And(clause);
    for (auto& a : args) args_.push_back(std::move(a));
  }

  // SELECT COUNT(*), then one page in `order_by` order.
  Result<int64_t> Count(store::Database& db, const std::string& table) const;
  Result<store::Rows> Page(store::Database& db, const std::string& columns,
                           const std::string& table, const std::string& order_by,
                           const Paging& paging) const;

 private:
  std::string sql_;
  std::vector<store::Value> args_;
};

}  // namespace cvm::services
