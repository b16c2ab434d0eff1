// Tencent's Filters parameter: [{Name, Values}], Names AND-ed, Values of one Name OR-ed.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "iam/visibility.h"
#include "store/database.h"
#include "store/listing.h"

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
  // The values of `name`, unset when no such filter was given: a repository's filter field.
  store::AnyOf Any(const std::string& name) const;
  // A "true"/"false" filter: unset when absent or both listed; `*none` set when neither is.
  std::optional<bool> Bool(const std::string& name, bool* none) const;
  // tag-key (has one of the keys), tag-value (one of the values under any key) and tag:<key>
  // (the key with one of the values).
  store::TagFilter Tags() const;
  bool empty() const { return values_.empty(); }
  const std::map<std::string, std::vector<std::string>>& all() const { return values_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

// One page of a list answer, counted over what the caller may see: every list is paged
// through the request's CAM visibility of the kind it lists, so TotalCount is exact and a page
// holds `limit` items whenever that many are visible. There is no paging without a visibility.
class Paging {
 public:
  Paging(size_t offset, size_t limit, iam::Visibility visible, iam::ResourceKind kind)
      : offset_(offset), limit_(limit), visible_(std::move(visible)), kind_(kind) {}
  // Offset/Limit with Tencent's defaults (0, 20) and maximum (100).
  static Result<Paging> Parse(const nlohmann::json& params, const iam::Visibility& visible,
                              iam::ResourceKind kind, size_t max_limit = 100);

  // For a listing made in memory: call once per candidate item, in answer order, after the
  // request's own filters. True when the item goes on the page; total() counts the visible.
  bool Take(std::string_view id);
  size_t total() const { return total_; }

  bool SeesAll() const { return visible_.SeesAll(); }
  bool Sees(std::string_view id) const { return visible_.Sees(kind_, id); }
  // The page for a listing the store makes (this Paging must outlive the request).
  store::PageRequest Request() const;

 private:
  friend class SqlWhere;
  size_t offset_;
  size_t limit_;
  iam::Visibility visible_;
  iam::ResourceKind kind_;
  size_t total_ = 0;
  size_t taken_ = 0;
};

// TotalCount and one page of rows.
struct Listing {
  int64_t total = 0;
  store::Rows rows;
};

// The WHERE clause of a Describe action's listing (store::ListQuery), for the listings that
// have not moved into a repository yet.
class SqlWhere {
 public:
  SqlWhere(std::string clause, std::vector<store::Value> args)
      : query_(std::move(clause), std::move(args)) {}

  // AND column IN (values...)
  void In(const std::string& column, const std::vector<std::string>& values) {
    query_.In(column, values);
  }
  // In() for every filter of `columns` (filter name -> column) that was given.
  void Filtered(const Filters& filters, const std::map<std::string, std::string>& columns);
  // Matches nothing unless the filter `name` is absent or lists `value`: for filters on
  // attributes every row here has the same value of (project-id 0, a charge type, ...).
  void OnlyIfListed(const Filters& filters, const std::string& name, const std::string& value);
  void And(const std::string& clause) { query_.And(clause); }
  // A filter no row can pass (a value nothing here has).
  void MatchNothing() { query_.MatchNothing(); }
  // AND clause, whose '?' placeholders take `args` in order.
  void And(const std::string& clause, std::vector<store::Value> args) {
    query_.And(clause, std::move(args));
  }
  store::ListQuery& query() { return query_; }

  // store::ListQuery::List with the request's paging.
  Result<Listing> List(store::Database& db, const std::string& table, const std::string& id_column,
                       const std::string& columns, const std::string& order_by, Paging& paging,
                       std::optional<int64_t> total_if_all = std::nullopt) const;

 private:
  store::ListQuery query_;
};

}  // namespace cvm::services
