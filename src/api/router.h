// Action name -> handler. Handlers validate their parameters' values, record intent in the store
// and return the response object (without RequestId, which the pipeline adds).
//
// Extensions are OpenCVM actions that the Tencent schema does not know (e.g.
// DescribeInstanceLoginEndpoint); they carry their own service and version, and their handlers
// validate every parameter themselves because no schema does it for them.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/request_context.h"
#include "common/status.h"

namespace cvm::api {

using Handler =
    std::function<Result<nlohmann::json>(const RequestContext&, nlohmann::json& params)>;

class Router {
 public:
  struct Extension {
    std::string service, version;
  };

  void Register(const std::string& action, Handler handler) {
    handlers_[action] = std::move(handler);
  }
  void RegisterExtension(const std::string& action, std::string service, std::string version,
                         Handler handler) {
    extensions_[action] = Extension{std::move(service), std::move(version)};
    handlers_[action] = std::move(handler);
  }
  const Handler* Find(const std::string& action) const {
    auto it = handlers_.find(action);
    return it == handlers_.end() ? nullptr : &it->second;
  }
  // nullptr unless `action` was registered with RegisterExtension.
  const Extension* FindExtension(const std::string& action) const {
    auto it = extensions_.find(action);
    return it == extensions_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> Actions() const {
    std::vector<std::string> out;
    for (const auto& [name, h] : handlers_) out.push_back(name);
    return out;
  }

 private:
  std::unordered_map<std::string, Handler> handlers_;
  std::unordered_map<std::string, Extension> extensions_;
};

}  // namespace cvm::api
