// Value rules for instance parameters (names, host names, passwords, user data), shared by
// RunInstances, ResetInstance and ModifyInstancesAttribute.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace cvm::services {

// Expands Tencent's "{R:x}" pattern for instance `index` (0-based) of `count`: the pattern
// becomes x+index; without a pattern and with count > 1 the index+1 is appended.
std::string ExpandNamePattern(const std::string& pattern, int index, int count);

Status CheckInstanceName(const std::string& name);
Status CheckHostName(const std::string& host_name);
// Linux rule: 8-30 characters from at least two of lower, upper, digits, specials.
Status CheckPassword(const std::string& password);
// UserData is base64 of at most 16 KiB; returns the decoded bytes.
Result<std::string> DecodeUserData(const std::string& base64);

// "UnsupportedOperation.InstanceStateStopped" for "STOPPED", and so on.
std::string WrongStateCode(const std::string& state);

}  // namespace cvm::services
