// How `cvm` shows a Response: a table of the first list it holds (the XxxSet), else key/value
// lines; --output json prints the Response as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

namespace cvm::cli {

void PrintTable(std::ostream& out, const nlohmann::json& response);

}  // namespace cvm::cli
