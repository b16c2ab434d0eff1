#include "store/snapshot_records.h"

namespace cvm::store {

Result<std::vector<std::string>> LiveSnapshotIds(Database& db) {
  auto rows = db.Query("SELECT snapshot_id FROM snapshots WHERE deleted = 0");
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back(r.Str(0));
  return out;
}

Status CompleteSnapshot(Transaction& tx, const std::string& snapshot_id) {
  return tx.Exec("UPDATE snapshots SET state = 'NORMAL', percent = 100 WHERE snapshot_id = ?",
                 {snapshot_id});
}

Status SetSnapshotState(Transaction& tx, const std::string& snapshot_id, const std::string& state) {
  return tx.Exec("UPDATE snapshots SET state = ? WHERE snapshot_id = ?", {state, snapshot_id});
}

Status DiscardSnapshot(Transaction& tx, const std::string& snapshot_id) {
  return tx.Exec("UPDATE snapshots SET deleted = 1 WHERE snapshot_id = ?", {snapshot_id});
}

}  // namespace cvm::store
