// Action name -> handler. Handlers validate their parameters' values, record intent in the store
// and return the response object (without RequestId, which the pipeline adds).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "api/request_context.h"
#include "common/status.h"

namespace cvm::api {

using Handler =
    std::function<Result<nlohmann::json>(const RequestContext&, nlohmann::json& params)>;

class Router {
 public:
  void Register(const std::string& action, Handler handler) {
    handlers_[action] = std::move(handler);
  }
  const Handler* Find(const std::string& action) const {
    auto it = handlers_.find(action);
    return it == handlers_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> Actions() const {
    std::vector<std::string> out;
    for (const auto& [name, h] : handlers_) out.push_back(name);
    return out;
  }

 private:
  std::unordered_map<std::string, Handler> handlers_;
};

}  // namespace cvm::api
