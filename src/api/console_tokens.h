// One-time tokens for browser consoles: DescribeInstanceVncUrl issues one, the websocket proxy
// redeems it within 15 seconds (Tencent's VNC URLs are valid as briefly).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace cvm::api {

class ConsoleTokens {
 public:
  std::string Issue(const std::string& instance_id, const std::filesystem::path& vnc_socket);
  // The VNC socket of the token's instance, if the token is valid for `instance_id`; the token
  // is spent either way.
  std::optional<std::filesystem::path> Redeem(const std::string& token,
                                              const std::string& instance_id);

 private:
  struct Entry {
    std::string instance_id;
    std::filesystem::path socket;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex mu_;
  std::map<std::string, Entry> tokens_;
};

}  // namespace cvm::api
