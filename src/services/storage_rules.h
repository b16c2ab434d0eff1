// Rules every action that makes or names disks shares (CBS's own actions and CVM's RunInstances,
// ResizeInstanceDisks): id formats, sizes per storage type, the storage pool's capacity.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/request_context.h"
#include "common/status.h"
#include "config/config.h"
#include "engine/engine.h"
#include "store/database.h"
#include "store/instance_records.h"

namespace cvm::services {

// Disk ids of a batch (`name` in params): well-formed, at most `max`, no duplicates.
Result<std::vector<std::string>> DiskIdsParam(const nlohmann::json& params, const char* name,
                                              size_t max);
Status CheckDiskIdFormat(const std::string& id);

// The caller's disks, in the order asked; another account's disk is indistinguishable from a
// missing one.
Result<std::vector<store::DiskRecord>> LoadOwnedDisks(store::Transaction& tx,
                                                      const api::RequestContext& ctx,
                                                      const std::vector<std::string>& ids);

// A known storage type, usable for `usage` ("DATA_DISK" needs a cloud type).
Result<const StorageTypeConfig*> FindDiskType(const Config& config, const std::string& type,
                                              const std::string& usage);
// The size is within the type's range (`what` names the parameter in the message).
Status CheckDiskSize(const StorageTypeConfig& type, int64_t size_gb, const std::string& what);

// Adding `add_gb` of provisioned disk keeps the storage pool within its capacity.
Status CheckStorageCapacity(store::Transaction& tx, const engine::Engine& engine, int64_t add_gb);

// Records a CREATING snapshot of `disk` (after the checks every snapshot shares: the disk at rest,
// no other snapshot of it under way) without an operation: the caller's makes its file.
Status RecordSnapshotRow(store::Transaction& tx, const api::RequestContext& ctx,
                         const engine::Engine& engine, const store::DiskRecord& disk,
                         const std::string& snapshot_id, const std::string& name);
// RecordSnapshotRow and the engine operation that makes it (CreateSnapshot, CreateImage's
// DataDiskIds); returns the operation id, to submit once committed.
Result<std::string> RecordSnapshot(store::Transaction& tx, const api::RequestContext& ctx,
                                   const engine::Engine& engine, const store::DiskRecord& disk,
                                   const std::string& snapshot_id, const std::string& name);

// Marks the caller's snapshots `ids` deleted, refusing (and changing nothing) while one is being
// made, applied, copied into an image or a disk, or exported; the caller removes their files
// (engine.SnapshotPath) once committed. Shared by DeleteSnapshots and DeleteImages'
// DeleteBindedSnap.
Status DeleteOwnedSnapshots(store::Transaction& tx, const api::RequestContext& ctx,
                            const std::vector<std::string>& ids);

// Records growing `disk` to `size_gb` (state EXPANDING and a RESIZE_DISK operation, whose id it
// returns) after the checks every resize shares: larger than now, within the type's range and
// the pool's capacity. The caller checks who may resize it and in which state.
Result<std::string> RecordDiskGrowth(store::Transaction& tx, const api::RequestContext& ctx,
                                     const Config& config, const engine::Engine& engine,
                                     const store::DiskRecord& disk, int64_t size_gb);

}  // namespace cvm::services
