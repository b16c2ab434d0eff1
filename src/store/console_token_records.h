// One-time console tokens in the store, so that the process redeeming a token (the websocket
// proxy) need not be the one that issued it. Only a token's hash is stored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "store/database.h"

namespace cvm::store {

struct ConsoleTokenRecord {
  std::string instance_id;
  std::string vnc_socket;
  int64_t expires_at_ms = 0;
};

// Records a token (by its hash) and drops every token that expired before `now_ms`.
Status SaveConsoleToken(Database& db, const std::string& token_hash,
                        const ConsoleTokenRecord& token, int64_t now_ms);

// Removes the token and returns what it was for: a token is spent by its first use, valid or
// not. Empty when no such token exists.
Result<std::optional<ConsoleTokenRecord>> TakeConsoleToken(Database& db,
                                                           const std::string& token_hash);

}  // namespace cvm::store
