// What the engine records of snapshots.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"
#include "store/listing.h"

namespace cvm::store {

// The ids of every live snapshot.
Result<std::vector<std::string>> LiveSnapshotIds(Database& db);
// A snapshot whose copy is complete: NORMAL, 100 percent.
Status CompleteSnapshot(Transaction& tx, const std::string& snapshot_id);
Status SetSnapshotState(Transaction& tx, const std::string& snapshot_id, const std::string& state);
// A snapshot deleted, or whose copy failed: it never appears again.
Status DiscardSnapshot(Transaction& tx, const std::string& snapshot_id);

// ---- for the CBS and CVM actions ----

struct SnapshotRecord {
  std::string snapshot_id, owner_uin, name, disk_id, disk_usage;
  int64_t disk_size_gb = 0;
  std::string zone, region, state;  // CREATING | NORMAL | ROLLBACKING
  int64_t percent = 0;
  std::string file_path;
  int64_t created_at = 0;
};
// A new snapshot (not deleted).
Status InsertSnapshot(Transaction& tx, const SnapshotRecord& s);
// The live snapshot of the scope, or nullopt.
Result<std::optional<SnapshotRecord>> FindSnapshot(Transaction& tx, const Scope& scope,
                                                   const std::string& snapshot_id);
Result<std::optional<SnapshotRecord>> FindSnapshot(Database& db, const Scope& scope,
                                                   const std::string& snapshot_id);
// Snapshots of the disk being made now.
Result<int64_t> CountCreatingSnapshots(Transaction& tx, const std::string& disk_id);
// TerminateDisks' DeleteSnapshot: the disk's NORMAL snapshots are deleted; their ids.
Result<std::vector<std::string>> DeleteNormalSnapshotsOfDisk(Transaction& tx,
                                                             const std::string& disk_id);

// The live snapshots of each disk: how many and their disks' GiB in total.
struct SnapshotTotals {
  int64_t count = 0, size_gb = 0;
};
Result<std::map<std::string, SnapshotTotals>> SnapshotTotalsOfDisks(
    Database& db, const std::vector<std::string>& disk_ids);

// DescribeSnapshots: every set field narrows the listing.
struct SnapshotFilter {
  std::vector<std::string> ids;  // SnapshotIds; empty: no condition
  AnyOf snapshot_ids, names, states, disk_ids, disk_usages, zones;
  TagFilter tags;
  bool match_nothing = false;
};
// By creation time (newest first when `newest_first`), then id.
Result<Page<SnapshotRecord>> ListSnapshots(Database& db, const Scope& scope,
                                           const SnapshotFilter& f, bool newest_first,
                                           const PageRequest& page);

}  // namespace cvm::store
