// Helpers shared by the CAM handlers. Parameters arrive schema-checked (types, required
// members); these check values.
#pragma once

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/request_context.h"
#include "common/error_codes.h"
#include "common/status.h"
#include "common/time_format.h"
#include "services/filters.h"

namespace cvm::services::cam {

using nlohmann::json;

inline std::string Str(const json& p, const char* name, const std::string& fallback = "") {
  auto it = p.find(name);
  return it != p.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// CAM names (users, groups, policies): 1 to max_len letters, digits and +=,.@_-.
inline bool IsValidCamName(const std::string& s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("+=,.@_-").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

inline bool Has(const json& p, const char* name) { return p.contains(name); }

inline int64_t Int(const json& p, const char* name, int64_t fallback = 0) {
  auto it = p.find(name);
  return it != p.end() && it->is_number() ? it->get<int64_t>() : fallback;
}

// A uint64 uin parameter in the decimal text the store keeps.
inline std::string UinParam(const json& p, const char* name) {
  auto it = p.find(name);
  return it != p.end() && it->is_number() ? std::to_string(it->get<uint64_t>()) : "";
}

inline uint64_t UinNumber(const std::string& uin) { return std::stoull(uin); }

inline bool IsRoot(const api::RequestContext& ctx) { return ctx.caller_uin == ctx.owner_uin; }

// CAM's Rp/Page paging: Rp default 20 (1..200), Page from 1, over the items of `kind` the
// caller may see.
inline Result<Paging> ParsePage(const json& p, const iam::Visibility& visible,
                                iam::ResourceKind kind) {
  int64_t rp = Int(p, "Rp", 20), page = Int(p, "Page", 1);
  if (rp < 1 || rp > 200) {
    return Status(err::kInvalidParameterValue, "Rp must be between 1 and 200.");
  }
  if (page < 1) return Status(err::kInvalidParameterValue, "Page starts at 1.");
  return Paging(static_cast<size_t>((page - 1) * rp), static_cast<size_t>(rp), visible, kind);
}

// A whole list (an action without paging parameters) over what the caller may see of `kind`.
inline Paging WholeList(const iam::Visibility& visible, iam::ResourceKind kind) {
  return Paging(0, SIZE_MAX, visible, kind);
}

}  // namespace cvm::services::cam
