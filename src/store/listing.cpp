#include "store/listing.h"

namespace cvm::store {

void ListQuery::In(const std::string& column, const std::vector<std::string>& values) {
  sql_ += " AND " + column + " IN " + InList(values.size());
  for (const auto& v : values) args_.emplace_back(v);
}

void ListQuery::Flag(const std::string& column, std::optional<bool> value) {
  if (value) And(column + (*value ? " = 1" : " = 0"));
}

void ListQuery::And(const std::string& clause, std::vector<Value> args) {
  And(clause);
  for (auto& a : args) args_.push_back(std::move(a));
}

void ListQuery::Tagged(const std::string& id_column, const TagFilter& tags) {
  for (const auto& t : tags) {
    std::string condition;
    std::vector<Value> args;
    switch (t.kind) {
      case TagCondition::Kind::kKey:
        condition = "tag_key";
        break;
      case TagCondition::Kind::kValue:
        condition = "tag_value";
        break;
      case TagCondition::Kind::kKeyValue:
        condition = "tag_key = ? AND tag_value";
        args.emplace_back(t.key);
        break;
    }
    for (const auto& v : t.values) args.emplace_back(v);
    And(id_column + " IN (SELECT resource_id FROM tags WHERE " + condition + " IN " +
            InList(t.values.size()) + ")",
        std::move(args));
  }
}

Result<Page<Row>> ListQuery::List(Database& db, const std::string& table,
                                  const std::string& id_column, const std::string& columns,
                                  const std::string& order_by, const PageRequest& page,
                                  std::optional<int64_t> total_if_all) const {
  Page<Row> out;
  const std::string order = " ORDER BY " + order_by;
  if (!page.visible) {
    if (total_if_all) {
      out.total = *total_if_all;
    } else {
      auto count = db.Query("SELECT COUNT(*) FROM " + table + sql_, args_);
      if (!count.ok()) return count.status();
      out.total = (*count)[0].Int(0);
    }
    // The page is chosen from index entries alone (a deep Offset skips entries, not rows),
    // then only its rows are read.
    auto args = args_;
    args.emplace_back(static_cast<int64_t>(page.limit));
    args.emplace_back(static_cast<int64_t>(page.offset));
    auto rows =
        db.Query("SELECT " + columns + " FROM " + table + " WHERE " + id_column + " IN (SELECT " +
                     id_column + " FROM " + table + sql_ + order + " LIMIT ? OFFSET ?)" + order,
                 args);
    if (!rows.ok()) return rows.status();
    out.items = std::move(*rows);
    return out;
  }
  auto ids = db.Query("SELECT " + id_column + " FROM " + table + sql_ + order, args_);
  if (!ids.ok()) return ids.status();
  auto args = args_;
  size_t seen = 0, taken = 0;
  for (const auto& r : *ids) {
    if (!page.visible(r.Str(0))) continue;
    if (seen++ >= page.offset && taken < page.limit) {
      args.emplace_back(r.Str(0));
      ++taken;
    }
  }
  out.total = static_cast<int64_t>(seen);
  if (taken == 0) return out;
  auto rows = db.Query("SELECT " + columns + " FROM " + table + sql_ + " AND " + id_column +
                           " IN " + InList(taken) + order,
                       args);
  if (!rows.ok()) return rows.status();
  out.items = std::move(*rows);
  return out;
}

}  // namespace cvm::store
