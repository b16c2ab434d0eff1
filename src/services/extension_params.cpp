#include "services/extension_params.h"

#include "common/error_codes.h"

namespace cvm::services {

using nlohmann::json;

Status CheckKnownParams(const json& p, const std::set<std::string>& known) {
  for (auto it = p.begin(); it != p.end(); ++it) {
    if (!known.count(it.key())) {
      return Status(err::kUnknownParameter,
                    "The parameter `" + it.key().substr(0, 64) + "` is not recognized.");
    }
  }
  return Status::Ok();
}

Result<int64_t> IntParam(const json& p, const char* name, int64_t fallback) {
  auto it = p.find(name);
  if (it == p.end()) return fallback;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    if (!s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos) {
      return std::stoll(s);
    }
  }
  return Status(err::kInvalidParameterValue,
                std::string("The parameter `") + name + "` must be an integer.");
}

}  // namespace cvm::services
