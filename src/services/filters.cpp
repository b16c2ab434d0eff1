#include "services/filters.h"

#include <algorithm>

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

store::PageRequest Paging::Request() const {
  store::PageRequest r{offset_, limit_, nullptr};
  if (!visible_.SeesAll()) {
    r.visible = [this](std::string_view id) { return visible_.Sees(kind_, id); };
  }
  return r;
}

store::AnyOf Filters::Any(const std::string& name) const {
  auto v = Values(name);
  if (!v) return std::nullopt;
  return *v;
}

std::optional<bool> Filters::Bool(const std::string& name, bool* none) const {
  auto v = Values(name);
  if (!v) return std::nullopt;
  const bool t = std::find(v->begin(), v->end(), "true") != v->end();
  const bool f = std::find(v->begin(), v->end(), "false") != v->end();
  if (!t && !f) *none = true;
  if (t == f) return std::nullopt;
  return t;
}

store::TagFilter Filters::Tags() const {
  store::TagFilter out;
  for (const auto& [name, values] : values_) {
    using Kind = store::TagCondition::Kind;
    if (name == "tag-key") {
      out.push_back({Kind::kKey, "", values});
    } else if (name == "tag-value") {
      out.push_back({Kind::kValue, "", values});
    } else if (name.rfind("tag:", 0) == 0) {
      out.push_back({Kind::kKeyValue, name.substr(4), values});
    }
  }
  return out;
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
  auto page = query_.List(db, table, id_column, columns, order_by, paging.Request(), total_if_all);
  if (!page.ok()) return page.status();
  return Listing{page->total, std::move(page->items)};
}

}  // namespace cvm::services
