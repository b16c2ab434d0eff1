// ClientToken idempotency. The first request with a token claims (account, action, token) in the
// transaction that records its intent, together with the answer it gives; every later request
// with that token, however concurrent, finds the claim and gets that same answer back.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "store/database.h"

namespace cvm::store {

struct ClientTokenKey {
  std::string_view owner_uin, action, token;
};

// The answer recorded by the request that claimed `key`, if one did.
Result<std::optional<nlohmann::json>> FindClientTokenAnswer(Transaction& tx,
                                                            const ClientTokenKey& key);

// Claims `key` with `answer`. The claim is unique in the store: a second
// claim of the same key fails, so two requests can never both act on one token.
Status ClaimClientToken(Transaction& tx, const ClientTokenKey& key, const nlohmann::json& answer,
                        int64_t now);

}  // namespace cvm::store
