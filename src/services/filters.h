// Tencent's Filters parameter: [{Name, Values}], Names AND-ed, Values of one Name OR-ed.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

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

}  // namespace cvm::services
