#include "store/client_tokens.h"

#include "common/error_codes.h"

namespace cvm::store {

Result<std::optional<nlohmann::json>> FindClientTokenAnswer(Transaction& tx,
                                                            const ClientTokenKey& key) {
  auto rows =
      tx.Query("SELECT answer FROM client_tokens WHERE owner_uin = ? AND action = ? AND token = ?",
               {std::string(key.owner_uin), std::string(key.action), std::string(key.token)});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<nlohmann::json>();
  auto answer = nlohmann::json::parse(rows->front().Str(0), nullptr, false);
  if (answer.is_discarded()) {
    return Status(err::kInternalError, "client_tokens: an unreadable answer is stored");
  }
  return std::optional<nlohmann::json>(std::move(answer));
}

Status ClaimClientToken(Transaction& tx, const ClientTokenKey& key, const nlohmann::json& answer,
                        int64_t now) {
  return tx.Exec(
      "INSERT INTO client_tokens(owner_uin, action, token, answer, created_at) "
      "VALUES (?, ?, ?, ?, ?)",
      {std::string(key.owner_uin), std::string(key.action), std::string(key.token), answer.dump(),
       now});
}

}  // namespace cvm::store
