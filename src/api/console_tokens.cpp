#include "api/console_tokens.h"

#include "common/ids.h"

namespace cvm::api {

std::string ConsoleTokens::Issue(const std::string& instance_id,
                                 const std::filesystem::path& vnc_socket) {
  auto now = std::chrono::steady_clock::now();
  std::string token = RandomAlnum(32);
  std::lock_guard lock(mu_);
  for (auto it = tokens_.begin(); it != tokens_.end();) {  // drop expired ones
    it = it->second.expires < now ? tokens_.erase(it) : std::next(it);
  }
  tokens_[token] = {instance_id, vnc_socket, now + std::chrono::seconds(15)};
  return token;
}

std::optional<std::filesystem::path> ConsoleTokens::Redeem(const std::string& token,
                                                           const std::string& instance_id) {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return std::nullopt;
  Entry e = it->second;
  tokens_.erase(it);
  if (e.instance_id != instance_id || e.expires < std::chrono::steady_clock::now()) {
    return std::nullopt;
  }
  return e.socket;
}

}  // namespace cvm::api
