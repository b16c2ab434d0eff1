// Every Tencent error code the daemon answers with, declared once in error_codes.def (name, wire
// code, meaning). Use these constants instead of string literals so a typo cannot invent a code.
#pragma once

#include <string_view>

namespace cvm::err {

#define CVM_ERROR(name, code, meaning) inline constexpr std::string_view name = code;
#include "common/error_codes.def"
#undef CVM_ERROR

struct CodeInfo {
  std::string_view name;     // the constant's name, e.g. "kInternalError"
  std::string_view code;     // the wire code, e.g. "InternalError"
  std::string_view meaning;  // one sentence
};

// Every registered code, in the order of error_codes.def.
inline constexpr CodeInfo kAllCodes[] = {
#define CVM_ERROR(name, code, meaning) {#name, code, meaning},
#include "common/error_codes.def"
#undef CVM_ERROR
};

}  // namespace cvm::err
