#include "services/storage_rules.h"

#include <map>
#include <set>

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "engine/operations.h"
#include "services/service_deps.h"

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
  auto used = tx.Query("SELECT COALESCE(SUM(size_gb), 0) FROM disks WHERE deleted = 0");
  if (!used.ok()) return used.status();
  const int64_t capacity = engine.StorageCapacityGb();
  const int64_t in_use = (*used)[0].Int(0);
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
  auto creating = tx.Query(
      "SELECT COUNT(*) FROM snapshots WHERE disk_id = ? AND state = 'CREATING' AND deleted = 0",
      {d.disk_id});
  if (!creating.ok()) return creating.status();
  if ((*creating)[0].Int(0) > 0) {
    return Status(err::kInvalidDiskSnapshotCreating,
                  "Disk " + d.disk_id + " already has a snapshot being created.");
  }
  return tx.Exec(
      "INSERT INTO snapshots(snapshot_id, owner_uin, name, disk_id, disk_usage, disk_size_gb, "
      "zone, region, state, percent, file_path, created_at) "
      "VALUES (?,?,?,?,?,?,?,?, 'CREATING', 0, ?, ?)",
      {snapshot_id, ctx.owner_uin, name, d.disk_id, d.usage, d.size_gb, d.zone, d.region,
       engine.SnapshotPath(snapshot_id).string(), NowUnix()});
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
  auto exports = tx.Query(
      "SELECT resource_id, args FROM operations WHERE action = ? AND owner_uin = ? AND "
      "state IN ('PENDING', 'RUNNING')",
      {std::string(engine::op::kExportImage), ctx.owner_uin});
  if (!exports.ok()) return exports.status();
  for (const auto& r : *exports) {
    const json args = json::parse(r.Str(1), nullptr, false);
    if (args.is_object() && args.contains("SnapshotId")) {
      exporting[args.value("SnapshotId", "")] = r.Str(0);
    }
  }
  for (const auto& id : ids) {
    auto found = tx.Query(
        "SELECT state FROM snapshots WHERE snapshot_id = ? AND owner_uin = ? AND region = ? AND "
        "deleted = 0",
        {id, ctx.owner_uin, ctx.region});
    if (!found.ok()) return found.status();
    if (found->empty()) {
      return Status(err::kInvalidSnapshotIdNotFound, "The snapshot " + id + " does not exist.");
    }
    const std::string state = found->front().Str(0);
    if (state == "CREATING") {
      return Status(err::kResourceUnavailableSnapshotCreating,
                    "Snapshot " + id + " is still being created.");
    }
    if (state == "ROLLBACKING") {
      return Status(err::kResourceInUseDiskRollbacking,
                    "Snapshot " + id + " is being applied to its disk.");
    }
    // An image being made from it reads its file; once made, the image has its own.
    auto making = tx.Query(
        "SELECT image_id FROM images WHERE source_id = ? AND state = 'CREATING' AND "
        "deleted = 0",
        {id});
    if (!making.ok()) return making.status();
    if (!making->empty()) {
      return Status(err::kResourceInUse, "Snapshot " + id + " is being made into image " +
                                             making->front().Str(0) + "; wait for it.");
    }
    // A disk being made from it reads its file.
    auto filling = tx.Query(
        "SELECT disk_id FROM disks WHERE source_snapshot_id = ? AND state = ? AND deleted = 0",
        {id, store::kDiskCreating});
    if (!filling.ok()) return filling.status();
    if (!filling->empty()) {
      return Status(err::kResourceInUse, "Snapshot " + id + " is being copied into disk " +
                                             filling->front().Str(0) + "; wait for it.");
    }
    if (auto e = exporting.find(id); e != exporting.end()) {
      return Status(err::kResourceInUse, "Snapshot " + id + " is being exported with image " +
                                             e->second + "; wait for it.");
    }
  }
  for (const auto& id : ids) {
    CVM_RETURN_IF_ERROR(tx.Exec("UPDATE snapshots SET deleted = 1 WHERE snapshot_id = ?", {id}));
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
  CVM_RETURN_IF_ERROR(tx.Exec(
      "UPDATE disks SET state = 'EXPANDING', error_prompt = '' WHERE disk_id = ?", {disk.disk_id}));
  return engine::RecordOperation(tx, ctx, engine::op::kResizeDisk, disk.disk_id,
                                 {{"DiskSize", size_gb}});
}

}  // namespace cvm::services
