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
          "InvalidFilterValue.LimitExceeded",
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

Result<Paging> Paging::Parse(const nlohmann::json& params, size_t max_limit) {
  Paging p;
  if (auto it = params.find("Offset"); it != params.end() && it->is_number()) {
    if (it->get<int64_t>() < 0) return Status(err::kInvalidParameterValue, "Offset must be >= 0.");
    p.offset = it->get<size_t>();
  }
  if (auto it = params.find("Limit"); it != params.end() && it->is_number()) {
    int64_t limit = it->get<int64_t>();
    if (limit < 1 || static_cast<size_t>(limit) > max_limit) {
      return Status(err::kInvalidParameterValue,
                    "Limit must be between 1 and " + std::to_string(max_limit) + ".");
    }
    p.limit = static_cast<size_t>(limit);
  }
  return p;
}

void SqlWhere::In(const std::string& column, const std::vector<std::string>& values) {
  sql_ += " AND " + column + " IN (";
  for (size_t i = 0; i < values.size(); ++i) {
    sql_ += i ? ",?" : "?";
    args_.emplace_back(values[i]);
  }
  sql_ += ")";
}

void SqlWhere::Filtered(const Filters& filters, const std::map<std::string, std::string>& columns) {
  for (const auto& [filter, column] : columns) {
    if (auto v = filters.Values(filter)) In(column, *v);
  }
}

void SqlWhere::OnlyIfListed(const Filters& filters, const std::string& name,
                            const std::string& value) {
  if (!filters.Matches(name, value)) sql_ += " AND 0";
}

Result<int64_t> SqlWhere::Count(store::Database& db, const std::string& table) const {
  auto rows = db.Query("SELECT COUNT(*) FROM " + table + sql_, args_);
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

Result<store::Rows> SqlWhere::Page(store::Database& db, const std::string& columns,
                                   const std::string& table, const std::string& order_by,
                                   const Paging& paging) const {
  auto args = args_;
  args.emplace_back(static_cast<int64_t>(paging.limit));
  args.emplace_back(static_cast<int64_t>(paging.offset));
  return db.Query(
      "SELECT " + columns + " FROM " + table + sql_ + " ORDER BY " + order_by + " LIMIT ? OFFSET ?",
      args);
}

}  // namespace cvm::services
