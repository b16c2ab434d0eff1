// Parameter checks for OpenCVM extension actions, which no schema validates.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "common/status.h"

namespace cvm::services {

// No schema validates an extension's parameters, so unknown names are refused here as the
// schema would refuse them for a Tencent action.
Status CheckKnownParams(const nlohmann::json& p, const std::set<std::string>& known);

// An integer given as a JSON number or, from GET / signature v1 requests (which carry only
// strings for an extension), as decimal digits.
Result<int64_t> IntParam(const nlohmann::json& p, const char* name, int64_t fallback);

}  // namespace cvm::services
