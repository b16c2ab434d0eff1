#include "api/console_tokens.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "api/signing.h"
#include "common/ids.h"
#include "store/console_token_records.h"

namespace cvm::api {
namespace {

constexpr int64_t kLifetimeMs = 15000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::string> ConsoleTokens::Issue(const std::string& instance_id,
                                         const std::filesystem::path& vnc_socket) {
  std::string token = RandomAlnum(32);
  const int64_t now = NowMs();
  CVM_RETURN_IF_ERROR(store::SaveConsoleToken(
      db_, Sha256Hex(token), {instance_id, vnc_socket.string(), now + kLifetimeMs}, now));
  return token;
}

std::optional<std::filesystem::path> ConsoleTokens::Redeem(const std::string& token,
                                                           const std::string& instance_id) {
  auto taken = store::TakeConsoleToken(db_, Sha256Hex(token));
  if (!taken.ok()) {
    spdlog::warn("console: cannot redeem a token: {}", taken.status().ToString());
    return std::nullopt;
  }
  const auto& t = *taken;
  if (!t || t->instance_id != instance_id || t->expires_at_ms < NowMs()) return std::nullopt;
  return std::filesystem::path(t->vnc_socket);
}

}  // namespace cvm::api
