#include "store/key_pair_records.h"

namespace cvm::store {

Result<std::optional<std::string>> PublicKeyOf(Database& db, const std::string& key_id) {
  auto rows = db.Query("SELECT public_key FROM key_pairs WHERE key_id = ?", {key_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows->front().Str(0));
}

}  // namespace cvm::store
