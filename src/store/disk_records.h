// What the engine reads and records of disks (DiskRecord itself is in instance_records.h, with
// the instance it belongs to).
#pragma once

#include <string>
#include <vector>

#include "store/database.h"
#include "store/instance_records.h"

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

}  // namespace cvm::store
