#include "services/storage_rules.h"

#include <map>
#include <set>

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "engine/operations.h"
#include "services/service_deps.h"
#include "store/disk_records.h"
#include "store/image_records.h"
#include "store/operation_records.h"
#include "store/snapshot_records.h"

namespace cvm::services {

using nlohmann::json;

Status CheckDiskIdFormat(const std::string& id) {
  if (IsWellFormedId("disk", id)) return Status::Ok();
  return Status(err::kInvalidParameterValue,
                "The disk id `" + id.substr(0, 32) +
                    "` is malformed; expected disk-xxxxxxxx (x: lower-case letter or digit).");
}

Result<std::vector<std::string>> DiskIdsParam(const json& params, const char* name, size_t max) {
  std::vector<std::string> ids;
  auto it = params.find(name);
  if (it == params.end()) return ids;
  if (it->size() > max) {
    return Status(err::kInvalidParameterValueLimitExceeded,
                  std::string(name) + " holds at most " + std::to_string(max) + " disk ids.");
  }
  std::set<std::string> seen;
  for (const auto& v : *it) {
    std::string id = v.get<std::string>();
    CVM_RETURN_IF_ERROR(CheckDiskIdFormat(id));
    if (!seen.insert(id).second) {
      return Status(err::kInvalidParameterValue, "Disk id " + id + " is given twice.");
    }
    ids.push_back(id);
  }
  return ids;
}

Result<std::vector<store::DiskRecord>> LoadOwnedDisks(store::Transaction& tx,
                                                      const api::RequestContext& ctx,
                                                      const std::vector<std::string>& ids) {
  std::vector<store::DiskRecord> out;
  for (const auto& id : ids) {
    auto d = store::LoadDisk(tx, ScopeOf(ctx), id);
    if (!d.ok()) return d.status();
    if (!d->has_value()) {
      return Status(err::kInvalidDiskIdNotFound, "The disk " + id + " does not exist.");
    }
    out.push_back(**d);
  }
  return out;
}

Result<const StorageTypeConfig*> FindDiskType(const Config& config, const std::string& type,
                                              const std::string& usage) {
  const StorageTypeConfig* st = config.FindStorageType(type);
  if (!st || (usage == "DATA_DISK" && !st->cloud)) {
    std::string known;
    for (const auto& t : config.storage_types) {
      if (usage == "DATA_DISK" && !t.cloud) continue;
      known += (known.empty() ? "" : ", ") + t.type;
    }
    return Status(err::kInvalidParameterDiskConfigNotSupported,
                  "Disk type `" + type.substr(0, 32) + "` is not offered here for " + usage +
                      "; available: " + known + ".");
  }
  return st;
}

Status CheckDiskSize(const StorageTypeConfig& type, int64_t size_gb, const std::string& what) {
  if (size_gb < type.min_size_gb || size_gb > type.max_size_gb) {
    return Status(err::kInvalidParameterValue,
                  what + " must be between " + std::to_string(type.min_size_gb) + " and " +
                      std::to_string(type.max_size_gb) + " GiB for " + type.type + ".");
  }
  return Status::Ok();
}

Status CheckStorageCapacity(store::Transaction& tx, const engine::Engine& engine, int64_t add_gb) {
  auto used = store::ProvisionedDiskGb(tx);
  if (!used.ok()) return used.status();
  const int64_t capacity = engine.StorageCapacityGb();
  const int64_t in_use = *used;
  if (in_use + add_gb > capacity) {
    return Status(err::kResourceInsufficient,
                  "The storage pool cannot hold " + std::to_string(add_gb) +
                      " GiB more: " + std::to_string(in_use) + " of " + std::to_string(capacity) +
                      " GiB are provisioned.");
  }
  return Status::Ok();
}

Status RecordSnapshotRow(store::Transaction& tx, const api::RequestContext& ctx,
                         const engine::Engine& engine, const store::DiskRecord& d,
                         const std::string& snapshot_id, const std::string& name) {
  if (d.state != "UNATTACHED" && d.state != "ATTACHED") {
    return Status(err::kInvalidDiskBusy, "Disk " + d.disk_id + " is busy (" + d.state + ").");
  }
  auto creating = store::CountCreatingSnapshots(tx, d.disk_id);
  if (!creating.ok()) return creating.status();
  if (*creating > 0) {
    return Status(err::kInvalidDiskSnapshotCreating,
                  "Disk " + d.disk_id + " already has a snapshot being created.");
  }
  return store::InsertSnapshot(tx, {.snapshot_id = snapshot_id,
                                    .owner_uin = ctx.owner_uin,
                                    .name = name,
                                    .disk_id = d.disk_id,
                                    .disk_usage = d.usage,
                                    .disk_size_gb = d.size_gb,
                                    .zone = d.zone,
                                    .region = d.region,
                                    .state = "CREATING",
                                    .percent = 0,
                                    .file_path = engine.SnapshotPath(snapshot_id).string(),
                                    .created_at = NowUnix()});
}

Result<std::string> RecordSnapshot(store::Transaction& tx, const api::RequestContext& ctx,
                                   const engine::Engine& engine, const store::DiskRecord& d,
                                   const std::string& snapshot_id, const std::string& name) {
  CVM_RETURN_IF_ERROR(RecordSnapshotRow(tx, ctx, engine, d, snapshot_id, name));
  return engine::RecordOperation(tx, ctx, engine::op::kCreateSnapshot, d.disk_id,
                                 {{"SnapshotId", snapshot_id}});
}

Status DeleteOwnedSnapshots(store::Transaction& tx, const api::RequestContext& ctx,
                            const std::vector<std::string>& ids) {
  // Exports of images' data disks still to run, each reading the snapshot it names.
  std::map<std::string, std::string> exporting;  // snapshot id -> image id
  auto exports =
      store::UnfinishedOperationsOf(tx, std::string(engine::op::kExportImage), ctx.owner_uin);
  if (!exports.ok()) return exports.status();
  for (const auto& e : *exports) {
    if (e.args.is_object() && e.args.contains("SnapshotId")) {
      exporting[e.args.value("SnapshotId", "")] = e.resource_id;
    }
  }
  for (const auto& id : ids) {
    auto found = store::FindSnapshot(tx, ScopeOf(ctx), id);
    if (!found.ok()) return found.status();
    if (!*found) {
      return Status(err::kInvalidSnapshotIdNotFound, "The snapshot " + id + " does not exist.");
    }
    const std::string state = (*found)->state;
    if (state == "CREATING") {
      return Status(err::kResourceUnavailableSnapshotCreating,
                    "Snapshot " + id + " is still being created.");
    }
    if (state == "ROLLBACKING") {
      return Status(err::kResourceInUseDiskRollbacking,
                    "Snapshot " + id + " is being applied to its disk.");
    }
    // An image being made from it reads its file; once made, the image has its own.
    auto making = store::ImageBeingMadeFrom(tx, id);
    if (!making.ok()) return making.status();
    if (!making->empty()) {
      return Status(err::kResourceInUse,
                    "Snapshot " + id + " is being made into image " + *making + "; wait for it.");
    }
    // A disk being made from it reads its file.
    auto filling = store::DiskBeingMadeFrom(tx, id);
    if (!filling.ok()) return filling.status();
    if (!filling->empty()) {
      return Status(err::kResourceInUse,
                    "Snapshot " + id + " is being copied into disk " + *filling + "; wait for it.");
    }
    if (auto e = exporting.find(id); e != exporting.end()) {
      return Status(err::kResourceInUse, "Snapshot " + id + " is being exported with image " +
                                             e->second + "; wait for it.");
    }
  }
  for (const auto& id : ids) {
    CVM_RETURN_IF_ERROR(store::DiscardSnapshot(tx, id));
  }
  return Status::Ok();
}

Result<std::string> RecordDiskGrowth(store::Transaction& tx, const api::RequestContext& ctx,
                                     const Config& config, const engine::Engine& engine,
                                     const store::DiskRecord& disk, int64_t size_gb) {
  if (size_gb <= disk.size_gb) {
    return Status(err::kInvalidParameterValue, "DiskSize must be larger than the current " +
                                                   std::to_string(disk.size_gb) +
                                                   " GiB; disks never shrink.");
  }
  auto type = FindDiskType(config, disk.disk_type, disk.usage);
  if (!type.ok()) return type.status();
  CVM_RETURN_IF_ERROR(CheckDiskSize(**type, size_gb, "DiskSize"));
  CVM_RETURN_IF_ERROR(CheckStorageCapacity(tx, engine, size_gb - disk.size_gb));
  CVM_RETURN_IF_ERROR(store::SetDiskState(tx, disk.disk_id, "EXPANDING", ""));
  return engine::RecordOperation(tx, ctx, engine::op::kResizeDisk, disk.disk_id,
                                 {{"DiskSize", size_gb}});
}

}  // namespace cvm::services
