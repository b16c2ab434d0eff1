// What the engine reads and records of disks (DiskRecord itself is in instance_records.h, with
// the instance it belongs to).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"
#include "store/instance_records.h"
#include "store/listing.h"

namespace cvm::store {

// The live disks of an instance, system disk included, in attachment order (attached_at, then
// id).
Result<std::vector<DiskRecord>> DisksOfInstance(Database& db, const std::string& instance_id);
// The ids of every live disk.
Result<std::vector<std::string>> LiveDiskIds(Database& db);

// A system disk rebuilt on another image.
Status SetDiskImage(Transaction& tx, const std::string& disk_id, const std::string& image_id);
Status SetDiskSize(Transaction& tx, const std::string& disk_id, int64_t size_gb);
// The state a disk rests in after an operation, and why that operation failed ('' if it did not).
Status SetDiskState(Transaction& tx, const std::string& disk_id, const std::string& state,
                    const std::string& error_prompt);
// A disk whose creation failed: it never appears.
Status DiscardDisk(Transaction& tx, const std::string& disk_id, const std::string& error_prompt);
// A failed attach: the disk is free again.
Status UndoDiskAttach(Transaction& tx, const std::string& disk_id, const std::string& error_prompt);
// A detach done: the disk is free and remembers `instance_id` as its last instance.
Status MarkDiskDetached(Transaction& tx, const std::string& disk_id,
                        const std::string& instance_id);
// The same for a disk the guest released after its detach gave up: only a disk still ATTACHED.
Status MarkDiskReleased(Transaction& tx, const std::string& disk_id,
                        const std::string& instance_id);
// A terminated instance's disks: its system disk and those deleted with it go, the others are
// detached.
Status ReleaseInstanceDisks(Transaction& tx, const std::string& instance_id);

// ---- for the CBS and CVM actions ----

// DescribeDisks: every set field narrows the listing. Disks still being made never show.
struct DiskFilter {
  std::vector<std::string> ids;  // DiskIds; empty: no condition
  AnyOf disk_ids, names, types, states, usages, zones, instance_ids;
  std::optional<bool> portable;
  TagFilter tags;
  bool match_nothing = false;
};
// By creation time (newest first when `newest_first`), then id.
Result<Page<DiskRecord>> ListDisks(Database& db, const Scope& scope, const DiskFilter& f,
                                   bool newest_first, const PageRequest& page);
// GiB provisioned for every live disk: what the storage pool must hold.
Result<int64_t> ProvisionedDiskGb(Transaction& tx);
// The instance's live data disks.
Result<int64_t> CountDataDisks(Transaction& tx, const std::string& instance_id);
// A disk whose file is still being copied from the snapshot ('' when none).
Result<std::string> DiskBeingMadeFrom(Transaction& tx, const std::string& snapshot_id);

// AttachDisks: the disk goes ATTACHING to `instance_id`; `attached_at` orders an instance's
// disks. delete_with_instance changes only when given.
struct DiskAttach {
  std::string disk_id, instance_id;
  int64_t attached_at = 0;
  std::optional<bool> delete_with_instance;
};
Status MarkDiskAttaching(Transaction& tx, const DiskAttach& a);
// ApplySnapshot: the disk is being rolled back (its last error stays).
Status MarkDiskRollingBack(Transaction& tx, const std::string& disk_id);
// TerminateDisks: the disk is gone.
Status TerminateDisk(Transaction& tx, const std::string& disk_id);
Status RenameDisk(Transaction& tx, const std::string& disk_id, const std::string& name);
Status SetDiskDeleteWithInstance(Transaction& tx, const std::string& disk_id, bool value);

}  // namespace cvm::store
