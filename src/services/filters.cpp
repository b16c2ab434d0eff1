#include "services/filters.h"

#include "common/error_codes.h"

namespace cvm::services {

Result<Filters> Filters::Parse(const nlohmann::json& params, const std::set<std::string>& allowed,
                               size_t max_values) {
  Filters f;
  auto it = params.find("Filters");
  if (it == params.end() || it->is_null()) return f;
  if (it->size() > 10) {
    return Status(err::kInvalidParameterValue, "At most 10 Filters are allowed.");
  }
  for (const auto& filter : *it) {
    std::string name = filter.value("Name", "");
    // An allowed name ending in ':' admits a family ("tag:" admits "tag:env").
    const size_t colon = name.find(':');
    const bool family = colon != std::string::npos && colon + 1 < name.size() &&
                        allowed.count(name.substr(0, colon + 1));
    if (!allowed.count(name) && !family) {
      return Status(err::kInvalidFilter, "The filter '" + name + "' is not supported here.");
    }
    auto vals = filter.find("Values");
    if (vals == filter.end() || vals->empty()) {
      return Status(err::kInvalidParameterValue, "Filter '" + name + "' has no Values.");
    }
    if (vals->size() > max_values) {
      return Status(
          err::kInvalidFilterValueLimitExceeded,
          "Filter '" + name + "' allows at most " + std::to_string(max_values) + " values.");
    }
    auto& dst = f.values_[name];
    for (const auto& v : *vals) dst.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  }
  return f;
}

bool Filters::Matches(const std::string& name, const std::string& value) const {
  auto it = values_.find(name);
  if (it == values_.end()) return true;
  for (const auto& v : it->second) {
    if (v == value) return true;
  }
  return false;
}

const std::vector<std::string>* Filters::Values(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

Result<Paging> Paging::Parse(const nlohmann::json& params, const iam::Visibility& visible,
                             iam::ResourceKind kind, size_t max_limit) {
  Paging p(0, 20, visible, kind);
  if (auto it = params.find("Offset"); it != params.end() && it->is_number()) {
    if (it->get<int64_t>() < 0) return Status(err::kInvalidParameterValue, "Offset must be >= 0.");
    p.offset_ = it->get<size_t>();
  }
  if (auto it = params.find("Limit"); it != params.end() && it->is_number()) {
    int64_t limit = it->get<int64_t>();
    if (limit < 1 || static_cast<size_t>(limit) > max_limit) {
      return Status(err::kInvalidParameterValue,
                    "Limit must be between 1 and " + std::to_string(max_limit) + ".");
    }
    p.limit_ = static_cast<size_t>(limit);
  }
  return p;
}

bool Paging::Take(std::string_view id) {
  if (!visible_.Sees(kind_, id)) return false;
  const bool on_page = total_++ >= offset_ && taken_ < limit_;
  if (on_page) ++taken_;
  return on_page;
}

void SqlWhere::In(const std::string& column, const std::vector<std::string>& values) {
  sql_ += " AND " + column + " IN " + store::InList(values.size());
  for (const auto& v : values) args_.emplace_back(v);
}

void SqlWhere::Filtered(const Filters& filters, const std::map<std::string, std::string>& columns) {
  for (const auto& [filter, column] : columns) {
    if (auto v = filters.Values(filter)) In(column, *v);
  }
}

void SqlWhere::OnlyIfListed(const Filters& filters, const std::string& name,
                            const std::string& value) {
  if (!filters.Matches(name, value)) MatchNothing();
}

Result<Listing> SqlWhere::List(store::Database& db, const std::string& table,
                               const std::string& id_column, const std::string& columns,
                               const std::string& order_by, Paging& paging,
                               std::optional<int64_t> total_if_all) const {
  Listing out;
  const std::string order = " ORDER BY " + order_by;
  if (paging.SeesAll()) {
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
    args.emplace_back(static_cast<int64_t>(paging.limit_));
    args.emplace_back(static_cast<int64_t>(paging.offset_));
    auto rows =
        db.Query("SELECT " + columns + " FROM " + table + " WHERE " + id_column + " IN (SELECT " +
                     id_column + " FROM " + table + sql_ + order + " LIMIT ? OFFSET ?)" + order,
                 args);
    if (!rows.ok()) return rows.status();
    out.rows = std::move(*rows);
    return out;
  }
  auto ids = db.Query("SELECT " + id_column + " FROM " + table + sql_ + order, args_);
  if (!ids.ok()) return ids.status();
  auto args = args_;
  size_t page = 0;
  for (const auto& r : *ids) {
    if (paging.Take(r.Str(0))) {
      args.emplace_back(r.Str(0));
      ++page;
    }
  }
  out.total = static_cast<int64_t>(paging.total());
  if (page == 0) return out;
  auto rows = db.Query("SELECT " + columns + " FROM " + table + sql_ + " AND " + id_column +
                           " IN " + store::InList(page) + order,
                       args);
  if (!rows.ok()) return rows.status();
  out.rows = std::move(*rows);
  return out;
}

}  // namespace cvm::services
