#include "services/cvm/instance_rules.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>
#include <utility>

#include "common/error_codes.h"
#include "common/ids.h"
#include "services/service_deps.h"

namespace cvm::services {

std::string ExpandNamePattern(const std::string& pattern, int index, int count) {
  static const std::regex kPattern(R"(\{R:(\d{1,6})\})");
  std::smatch m;
  if (std::regex_search(pattern, m, kPattern)) {
    int start = std::stoi(m[1].str());
    return m.prefix().str() + std::to_string(start + index) + m.suffix().str();
  }
  return count > 1 ? pattern + std::to_string(index + 1) : pattern;
}

Status CheckInstanceName(const std::string& name) {
  if (name.size() > 128) {
    return Status(err::kInvalidInstanceNameTooLong, "InstanceName is limited to 128 characters.");
  }
  for (unsigned char c : name) {
    if (c < 0x20)
      return Status(err::kInvalidParameterValue, "InstanceName has control characters.");
  }
  return Status::Ok();
}

Status CheckHostName(const std::string& h) {
  static const std::regex kHost(R"(^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,58}[a-zA-Z0-9])?$)");
  if (!std::regex_match(h, kHost) || h.find("..") != std::string::npos) {
    return Status(err::kInvalidParameterValue,
                  "HostName must be 2-60 characters of letters, digits, '.' and '-', starting "
                  "and ending with a letter or digit.");
  }
  return Status::Ok();
}

Status CheckPassword(const std::string& p) {
  static const std::string kSpecials = "()`~!@#$%^&*-+=|{}[]:;',.?/";
  bool lower = false, upper = false, digit = false, special = false;
  for (char c : p) {
    if (std::islower(static_cast<unsigned char>(c))) {
      lower = true;
    } else if (std::isupper(static_cast<unsigned char>(c))) {
      upper = true;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (kSpecials.find(c) != std::string::npos) {
      special = true;
    } else {
      return Status(err::kInvalidPassword,
                    "The password contains a character that is not allowed.");
    }
  }
  if (p.size() < 8 || p.size() > 30 || lower + upper + digit + special < 3 || p[0] == '/') {
    return Status(err::kInvalidPassword,
                  "The password must be 8-30 characters, not starting with '/', with at least "
                  "three of: lower-case letters, upper-case letters, digits, special characters.");
  }
  return Status::Ok();
}

Result<std::string> DecodeUserData(const std::string& b64) {
  Status bad(err::kInvalidParameterValueInvalidUserDataFormat,
             "UserData must be base64 of at most 16 KiB.");
  if (b64.size() > 22 * 1024 || b64.size() % 4 != 0) return bad;
  std::string out(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return bad;
  size_t pad = 0;
  if (!b64.empty() && b64.back() == '=') ++pad;
  if (b64.size() > 1 && b64[b64.size() - 2] == '=') ++pad;
  out.resize(n - pad);
  if (out.size() > 16 * 1024) return bad;
  return out;
}

std::string_view WrongStateCode(std::string_view state) {
  static constexpr std::pair<std::string_view, std::string_view> kCodes[] = {
      {"PENDING", err::kUnsupportedOperationInstanceStatePending},
      {"LAUNCH_FAILED", err::kUnsupportedOperationInstanceStateLaunchFailed},
      {"RUNNING", err::kUnsupportedOperationInstanceStateRunning},
      {"STOPPED", err::kUnsupportedOperationInstanceStateStopped},
      {"STARTING", err::kUnsupportedOperationInstanceStateStarting},
      {"STOPPING", err::kUnsupportedOperationInstanceStateStopping},
      {"REBOOTING", err::kUnsupportedOperationInstanceStateRebooting},
      {"SHUTDOWN", err::kUnsupportedOperationInstanceStateShutdown},
      {"TERMINATING", err::kUnsupportedOperationInstanceStateTerminating},
  };
  for (const auto& [s, code] : kCodes) {
    if (s == state) return code;
  }
  return err::kUnsupportedOperationStateError;
}

Result<std::vector<std::string>> InstanceIdsParam(const nlohmann::json& params, const char* name) {
  std::vector<std::string> ids;
  auto it = params.find(name);
  if (it == params.end()) return ids;
  if (it->size() > size_t{100}) {
    return Status(err::kInvalidParameterValue, "At most 100 instance ids per request.");
  }
  std::set<std::string> seen;
  for (const auto& v : *it) {
    std::string id = v.get<std::string>();
    if (!IsWellFormedId("ins", id)) {
      return Status(err::kInvalidInstanceIdMalformed,
                    "The instance id `" + id.substr(0, 32) +
                        "` is malformed; expected ins-xxxxxxxx (x: lower-case letter or digit).");
    }
    if (!seen.insert(id).second) {
      return Status(err::kInvalidParameterValueInstanceIdDuplicated,
                    "Instance id " + id + " is given twice.");
    }
    ids.push_back(id);
  }
  return ids;
}

Result<std::vector<store::InstanceRecord>> LoadOwned(store::Transaction& tx,
                                                     const api::RequestContext& ctx,
                                                     const std::vector<std::string>& ids) {
  std::vector<store::InstanceRecord> out;
  for (const auto& id : ids) {
    auto inst = store::LoadInstance(tx, ScopeOf(ctx), id);
    if (!inst.ok()) return inst.status();
    if (!inst->has_value()) {
      return Status(err::kInvalidInstanceIdNotFound, "The instance " + id + " does not exist.");
    }
    out.push_back(**inst);
  }
  return out;
}

Result<std::vector<std::string>> KeyIdsParam(const nlohmann::json& params) {
  std::vector<std::string> ids;
  for (const auto& v : params.value("KeyIds", nlohmann::json::array())) {
    std::string id = v.get<std::string>();
    if (!IsWellFormedId("skey", id)) {
      return Status(err::kInvalidKeyPairIdMalformed,
                    "The key pair id `" + id.substr(0, 32) + "` is malformed.");
    }
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  if (ids.empty()) return Status(err::kMissingParameter, "KeyIds is empty.");
  if (ids.size() > 100) return Status(err::kInvalidParameterValue, "At most 100 KeyIds.");
  return ids;
}

Status CheckNotBusy(const store::InstanceRecord& i) {
  if (i.latest_operation_state == "OPERATING") {
    return Status(err::kOperationDeniedInstanceOperationInProgress,
                  "The instance " + i.instance_id + " is busy with " + i.latest_operation + ".");
  }
  return Status::Ok();
}

}  // namespace cvm::services
