#include "store/console_token_records.h"

namespace cvm::store {

Status SaveConsoleToken(Database& db, const std::string& token_hash,
                        const ConsoleTokenRecord& token, int64_t now_ms) {
  return WithTransaction(db, [&](Transaction& tx) -> Status {
    CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM console_tokens WHERE expires_at_ms < ?", {now_ms}));
    return tx.Exec(
        "INSERT INTO console_tokens(token_hash, instance_id, vnc_socket, expires_at_ms) "
        "VALUES (?, ?, ?, ?)",
        {token_hash, token.instance_id, token.vnc_socket, token.expires_at_ms});
  });
}

Result<std::optional<ConsoleTokenRecord>> TakeConsoleToken(Database& db,
                                                           const std::string& token_hash) {
  std::optional<ConsoleTokenRecord> out;
  Status st = WithTransaction(db, [&](Transaction& tx) -> Status {
    auto rows = tx.Query(
        "SELECT instance_id, vnc_socket, expires_at_ms FROM console_tokens WHERE token_hash = ?",
        {token_hash});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status::Ok();
    const Row& r = rows->front();
    out = ConsoleTokenRecord{r.Str(0), r.Str(1), r.Int(2)};
    return tx.Exec("DELETE FROM console_tokens WHERE token_hash = ?", {token_hash});
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace cvm::store
