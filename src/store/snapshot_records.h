// What the engine records of snapshots.
#pragma once

#include <string>
#include <vector>

#include "store/database.h"

namespace cvm::store {

// The ids of every live snapshot.
Result<std::vector<std::string>> LiveSnapshotIds(Database& db);
// A snapshot whose copy is complete: NORMAL, 100 percent.
Status CompleteSnapshot(Transaction& tx, const std::string& snapshot_id);
Status SetSnapshotState(Transaction& tx, const std::string& snapshot_id, const std::string& state);
// A snapshot whose copy failed: it never appears.
Status DiscardSnapshot(Transaction& tx, const std::string& snapshot_id);

}  // namespace cvm::store
