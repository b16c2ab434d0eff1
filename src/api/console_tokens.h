// One-time tokens for browser consoles: DescribeInstanceVncUrl issues one, the websocket proxy
// redeems it within 15 seconds (Tencent's VNC URLs are valid as briefly). Tokens live in the
// store (as hashes), so any process sharing it can redeem one.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/status.h"
#include "store/database.h"

namespace cvm::api {

class ConsoleTokens {
 public:
  explicit ConsoleTokens(store::Database& db) : db_(db) {}

  Result<std::string> Issue(const std::string& instance_id,
                            const std::filesystem::path& vnc_socket);
  // The VNC socket of the token's instance, if the token is valid for `instance_id`; the token
  // is spent either way.
  std::optional<std::filesystem::path> Redeem(const std::string& token,
                                              const std::string& instance_id);

 private:
  store::Database& db_;
};

}  // namespace cvm::api
