// The `cvm` CLI's connection to cvmd: reads the client file cvmd wrote, signs with TC3 exactly as
// the SDKs do, and returns the Response object or the API error.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace cvm::cli {

struct ClientConfig {
  std::string secret_id, secret_key, region, endpoint;  // endpoint "host:port"
  bool https = false;
};

// From $OPENCVM_CLIENT_CONFIG or ~/.config/opencvm/client.json; TENCENTCLOUD_SECRET_ID,
// TENCENTCLOUD_SECRET_KEY, TENCENTCLOUD_REGION and OPENCVM_ENDPOINT override single fields.
Result<ClientConfig> LoadClientConfig();

class ApiClient {
 public:
  explicit ApiClient(ClientConfig config) : config_(std::move(config)) {}
  // Calls `action` (service and version looked up in the embedded schema; cvm 2017-03-12 for
  // OpenCVM's extension actions). An API error comes back as a Status whose message ends with
  // the RequestId.
  Result<nlohmann::json> Call(const std::string& action, const nlohmann::json& params);
  const ClientConfig& config() const { return config_; }

 private:
  ClientConfig config_;
};

}  // namespace cvm::cli
