// Value rules for instance parameters (names, host names, passwords, user data) and the batch
// helpers shared by the instance and login-control handlers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/request_context.h"
#include "common/status.h"
#include "store/instance_records.h"

namespace cvm::services {

// Expands Tencent's "{R:x}" pattern for instance `index` (0-based) of `count`: the pattern
// becomes x+index; without a pattern and with count > 1 the index+1 is appended.
std::string ExpandNamePattern(const std::string& pattern, int index, int count);

Status CheckInstanceName(const std::string& name);
Status CheckHostName(const std::string& host_name);
// Linux rule: 8-30 characters from at least three of lower, upper, digits, specials
// ()`~!@#$%^&*-+=|{}[]:;',.?/ and not starting with '/'.
Status CheckPassword(const std::string& password);
// UserData is base64 of at most 16 KiB; returns the decoded bytes.
Result<std::string> DecodeUserData(const std::string& base64);

// The UnsupportedOperation.InstanceState<State> code of an instance state (STOPPED ->
// ...InstanceStateStopped); UnsupportedOperation.StateError for a state without one.
std::string_view WrongStateCode(std::string_view state);

// Instance ids of a batch: well-formed, at most 100, no duplicates.
Result<std::vector<std::string>> InstanceIdsParam(const nlohmann::json& params, const char* name);
// Loads the caller's instances of a batch inside `tx`; another account's instance is
// indistinguishable from a missing one.
Result<std::vector<store::InstanceRecord>> LoadOwned(store::Transaction& tx,
                                                     const api::RequestContext& ctx,
                                                     const std::vector<std::string>& ids);
// Key pair ids of a batch (KeyIds): well-formed, 1 to 100, duplicates dropped.
Result<std::vector<std::string>> KeyIdsParam(const nlohmann::json& params);
// One operation at a time per instance: checked after the state, so a transitional state
// answers with its own code first.
Status CheckNotBusy(const store::InstanceRecord& instance);

}  // namespace cvm::services
