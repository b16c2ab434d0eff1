// Every Tencent error code the daemon answers with, declared once in error_codes.def (name, wire
// code, meaning). Use these constants instead of string literals so a typo cannot invent a code.
// Drivers return the internal kinds of cvm::kind instead; err::WireCode maps them at the edge.
#pragma once

#include <string_view>

namespace cvm::err {

#define CVM_ERROR(name, code, meaning) inline constexpr std::string_view name = code;
#define CVM_KIND(name, id, wire, meaning)
#include "common/error_codes.def"
#undef CVM_KIND
#undef CVM_ERROR

struct CodeInfo {
  std::string_view name;     // the constant's name, e.g. "kInternalError"
  std::string_view code;     // the wire code, e.g. "InternalError"
  std::string_view meaning;  // one sentence
};

// Every registered code, in the order of error_codes.def.
inline constexpr CodeInfo kAllCodes[] = {
#define CVM_ERROR(name, code, meaning) {#name, code, meaning},
#define CVM_KIND(name, id, wire, meaning)
#include "common/error_codes.def"
#undef CVM_KIND
#undef CVM_ERROR
};

struct KindInfo {
  std::string_view name;     // the constant's name in cvm::kind, e.g. "kBug"
  std::string_view id;       // the internal code a Status carries, e.g. "cvm:bug"
  std::string_view wire;     // the registered wire code it answers as
  std::string_view meaning;  // one sentence
};

// Every internal kind with the wire code it maps to.
inline constexpr KindInfo kAllKinds[] = {
#define CVM_ERROR(name, code, meaning)
#define CVM_KIND(name, id, wire, meaning) {#name, id, wire, meaning},
#include "common/error_codes.def"
#undef CVM_KIND
#undef CVM_ERROR
};

// The code a client sees for a Status code: an internal kind's wire code, any other code as is.
constexpr std::string_view WireCode(std::string_view code) {
  for (const KindInfo& k : kAllKinds) {
    if (k.id == code) return k.wire;
  }
  return code;
}

}  // namespace cvm::err

// Internal error kinds: what drivers return (never a wire code of cvm::err).
namespace cvm::kind {

#define CVM_ERROR(name, code, meaning)
#define CVM_KIND(name, id, wire, meaning) inline constexpr std::string_view name = id;
#include "common/error_codes.def"
#undef CVM_KIND
#undef CVM_ERROR

}  // namespace cvm::kind
