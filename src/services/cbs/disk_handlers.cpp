// CBS cloud disks. A disk is a qcow2 file in the storage pool (DATA_DIR/disks). Creating one is
// synchronous (an empty qcow2 takes milliseconds); attaching, detaching and growing touch a VM,
// so they record a transitional state and an operation and the engine finishes them.
#include <map>

#include <spdlog/spdlog.h>

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "engine/operations.h"
#include "services/extension_params.h"
#include "services/filters.h"
#include "services/resource_tags.h"
#include "services/service_deps.h"
#include "services/storage_rules.h"
#include "store/client_tokens.h"
#include "store/disk_records.h"
#include "store/snapshot_records.h"

namespace cvm::services {
namespace {

using nlohmann::json;
using store::DiskRecord;

constexpr size_t kMaxDiskBatch = 100;
constexpr size_t kMaxAttachBatch = 10;
constexpr int64_t kMaxDiskCount = 50;

bool IsTransitional(const std::string& disk_state) {
  return disk_state != "UNATTACHED" && disk_state != "ATTACHED";
}

Status CheckDiskIdle(const DiskRecord& d) {
  if (d.state == "ROLLBACKING") {
    return Status(err::kResourceInUseDiskRollbacking,
                  "Disk " + d.disk_id + " is being rolled back.");
  }
  if (IsTransitional(d.state)) {
    return Status(err::kResourceBusy, "Disk " + d.disk_id + " is busy (" + d.state + ").");
  }
  return Status::Ok();
}

json DiskJson(const DiskRecord& d, int64_t snapshot_count, int64_t snapshot_bytes, json tags) {
  const bool attached = !d.instance_id.empty() && d.state != "ATTACHING";
  return json{
      {"DiskId", d.disk_id},
      {"DiskName", d.name},
      {"DiskType", d.disk_type},
      {"DiskUsage", d.usage},
      {"DiskState", d.state},
      {"DiskSize", d.size_gb},
      {"DiskChargeType", "POSTPAID_BY_HOUR"},
      {"Portable", d.portable},
      {"Placement", {{"Zone", d.zone}, {"ProjectId", 0}}},
      {"Attached", attached},
      {"InstanceId", d.instance_id},
      {"InstanceIdList", d.instance_id.empty() ? json::array() : json::array({d.instance_id})},
      {"InstanceType", "CVM"},
      {"LastAttachInsId", d.last_instance_id},
      {"DeleteWithInstance", d.delete_with_instance},
      {"CreateTime", FormatDateTime(d.created_at)},
      {"DeadlineTime", nullptr},
      {"RenewFlag", nullptr},
      {"DifferDaysOfDeadline", 0},
      {"IsReturnable", false},
      {"ReturnFailCode", 0},
      {"AutoRenewFlagError", false},
      {"DeadlineError", false},
      {"Encrypt", false},
      {"EncryptType", ""},
      {"KmsKeyId", ""},
      {"Shareable", false},
      {"SnapshotAbility", true},
      {"SnapshotCount", snapshot_count},
      {"SnapshotSize", snapshot_bytes >> 20},  // MiB, as Tencent reports it
      {"Rollbacking", d.state == "ROLLBACKING"},
      {"RollbackPercent", 0},
      {"Migrating", false},
      {"MigratePercent", 0},
      {"Tags", std::move(tags)},
      {"AttachMode", "PF"},
      {"AutoSnapshotPolicyIds", json::array()},
      {"ThroughputPerformance", 0},
      {"BackupDisk", false},
      {"BurstPerformance", false},
      {"DiskBackupQuota", 0},
      {"DiskBackupCount", 0},
      {"DeleteSnapshot", 0},
      {"ErrorPrompt", d.error_prompt},
  };
}

Result<json> CreateDisks(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  std::string zone = p["Placement"].value("Zone", "");
  const RegionConfig* region = nullptr;
  if (!deps.config.FindZone(zone, &region) || region->region != ctx.region) {
    return Status(
        err::kInvalidParameterValue,
        "The zone `" + zone.substr(0, 32) + "` does not exist in region " + ctx.region + ".");
  }
  std::string charge = p.value("DiskChargeType", "");
  if (charge != "POSTPAID_BY_HOUR" && charge != "PREPAID") {
    return Status(err::kInvalidParameterValue,
                  "DiskChargeType must be POSTPAID_BY_HOUR or PREPAID.");
  }
  if (p.contains("Encrypt") || p.contains("KmsKeyId")) {
    return Status(err::kUnsupportedOperationDiskEncrypt, "Disk encryption is not offered here.");
  }
  // Features not offered are refused rather than silently dropped.
  if (p.value("Shareable", false) || p.contains("AutoMountConfiguration") ||
      p.value("ThroughputPerformance", int64_t{0}) > 0 || p.value("BurstPerformance", false)) {
    return Status(err::kUnsupportedOperation,
                  "Shareable disks, AutoMountConfiguration, ThroughputPerformance and "
                  "BurstPerformance are not offered here.");
  }
  auto type = FindDiskType(deps.config, p.value("DiskType", ""), "DATA_DISK");
  if (!type.ok()) return type.status();
  int64_t count = p.value("DiskCount", int64_t{1});
  if (count < 1 || count > kMaxDiskCount) {
    return Status(err::kInvalidParameterValue,
                  "DiskCount must be between 1 and " + std::to_string(kMaxDiskCount) + ".");
  }
  std::string name = p.value("DiskName", "Unnamed");
  if (name.empty() || name.size() > 60) {
    return Status(err::kInvalidParameterValue, "DiskName must be 1 to 60 bytes long.");
  }
  std::string token = p.value("ClientToken", "");
  if (token.size() > 64) {
    return Status(err::kInvalidParameterInvalidClientToken, "ClientToken is at most 64 bytes.");
  }
  std::string snapshot_id = p.value("SnapshotId", "");
  int64_t size = p.value("DiskSize", int64_t{0});
  if (!snapshot_id.empty()) {
    auto snap = store::FindSnapshot(deps.db, ScopeOf(ctx), snapshot_id);
    if (!snap.ok()) return snap.status();
    if (!*snap) {
      return Status(err::kInvalidSnapshotIdNotFound,
                    "The snapshot " + snapshot_id.substr(0, 32) + " does not exist.");
    }
    if ((*snap)->state != "NORMAL") {
      return Status(err::kResourceUnavailableSnapshotCreating,
                    "The snapshot " + snapshot_id + " is not ready yet.");
    }
    int64_t snap_size = (*snap)->disk_size_gb;
    if (size == 0) size = snap_size;
    if (size < snap_size) {
      return Status(
          err::kInvalidParameterDiskSizeNotMatch,
          "DiskSize must be at least the snapshot's " + std::to_string(snap_size) + " GiB.");
    }
  } else if (!p.contains("DiskSize")) {
    return Status(err::kMissingParameter, "DiskSize is required unless SnapshotId is given.");
  }
  CVM_RETURN_IF_ERROR(CheckDiskSize(**type, size, "DiskSize"));
  auto tags = CreationTags(p);
  if (!tags.ok()) return tags.status();

  std::vector<DiskRecord> disks;
  json answer = {{"DiskIdSet", json::array()}};
  int64_t now = NowUnix();
  for (int64_t i = 0; i < count; ++i) {
    DiskRecord d;
    d.disk_id = NewResourceId("disk");
    d.owner_uin = ctx.owner_uin;
    d.name = name;
    d.usage = "DATA_DISK";
    d.disk_type = (*type)->type;
    d.size_gb = size;
    d.zone = zone;
    d.region = ctx.region;
    d.state = store::kDiskCreating;
    d.delete_with_instance = false;
    d.file_path = deps.engine.DiskPath(d.disk_id).string();
    d.created_at = now;
    d.source_snapshot_id = snapshot_id;
    d.client_token = token;
    answer["DiskIdSet"].push_back(d.disk_id);
    disks.push_back(std::move(d));
  }
  // One transaction claims the token with the answer, records the disks (hidden until their
  // files are made) and an operation per disk that makes the file on a worker: a concurrent
  // retry gets these ids and makes nothing, and the API thread never waits for qemu-img.
  const store::ClientTokenKey token_key{ctx.owner_uin, ctx.action, token};
  std::optional<json> replay;
  std::vector<std::string> ops;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    if (!token.empty()) {
      auto prior = store::FindClientTokenAnswer(tx, token_key);
      if (!prior.ok()) return prior.status();
      replay = *prior;
      if (replay) return Status::Ok();
    }
    CVM_RETURN_IF_ERROR(CheckStorageCapacity(tx, deps.engine, size * count));
    for (const auto& d : disks) {
      CVM_RETURN_IF_ERROR(store::InsertDisk(tx, d));
      CVM_RETURN_IF_ERROR(store::SetTags(tx, ctx.owner_uin, d.disk_id, *tags,
                                         err::kLimitExceededTagKeyPerResourceExceeded));
      auto op =
          engine::RecordOperation(tx, ctx, engine::op::kCreateDisk, d.disk_id, json::object());
      if (!op.ok()) return op.status();
      ops.push_back(*op);
    }
    if (token.empty()) return Status::Ok();
    return store::ClaimClientToken(tx, token_key, answer, now);
  });
  if (!st.ok()) return st;
  if (replay) return std::move(*replay);
  for (const auto& op : ops) deps.engine.Submit(op);
  return answer;
}

Result<json> DescribeDisks(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto ids = DiskIdsParam(p, "DiskIds", kMaxDiskBatch);
  if (!ids.ok()) return ids.status();
  auto filters = Filters::Parse(
      p, {"disk-id", "disk-name", "disk-type", "disk-state", "disk-usage", "instance-id", "zone",
          "portable", "disk-charge-type", "project-id", "tag-key", "tag-value", "tag:"});
  if (!filters.ok()) return filters.status();
  auto paging = Paging::Parse(p, ctx.visible, iam::kind::kVolume);
  if (!paging.ok()) return paging.status();
  std::string order = p.value("Order", "DESC");
  if (order != "ASC" && order != "DESC") {
    return Status(err::kInvalidParameterValue, "Order must be ASC or DESC.");
  }
  std::string order_field = p.value("OrderField", "CREATE_TIME");
  if (order_field != "CREATE_TIME" && order_field != "DEADLINE") {
    return Status(err::kInvalidParameterValue, "OrderField must be CREATE_TIME or DEADLINE.");
  }

  store::DiskFilter f{.ids = *ids,
                      .disk_ids = filters->Any("disk-id"),
                      .names = filters->Any("disk-name"),
                      .types = filters->Any("disk-type"),
                      .states = filters->Any("disk-state"),
                      .usages = filters->Any("disk-usage"),
                      .zones = filters->Any("zone"),
                      .instance_ids = filters->Any("instance-id"),
                      .tags = filters->Tags()};
  if (auto v = filters->Values("portable")) {
    bool want_true = std::find(v->begin(), v->end(), "TRUE") != v->end();
    bool want_false = std::find(v->begin(), v->end(), "FALSE") != v->end();
    if (want_true != want_false) f.portable = want_true;
    if (!want_true && !want_false) f.match_nothing = true;
  }
  // Every disk here is pay-as-you-go, in project 0.
  if (!filters->Matches("disk-charge-type", "POSTPAID_BY_HOUR") ||
      !filters->Matches("project-id", "0")) {
    f.match_nothing = true;
  }
  auto listing = store::ListDisks(deps.db, ScopeOf(ctx), f, order == "DESC", paging->Request());
  if (!listing.ok()) return listing.status();
  const std::vector<DiskRecord>& page = listing->items;
  std::vector<std::string> page_disk_ids;
  for (const auto& d : page) page_disk_ids.push_back(d.disk_id);
  auto snapshots = store::SnapshotTotalsOfDisks(deps.db, page_disk_ids);
  if (!snapshots.ok()) return snapshots.status();
  auto tags = TagListsOf(deps.db, page_disk_ids);
  json set = json::array();
  for (const auto& d : page) {
    const auto snap = (*snapshots)[d.disk_id];
    set.push_back(DiskJson(d, snap.count, snap.size_gb << 30, tags[d.disk_id]));
  }
  return json{{"TotalCount", listing->total}, {"DiskSet", std::move(set)}};
}

Result<json> AttachDisks(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto ids = DiskIdsParam(p, "DiskIds", kMaxAttachBatch);
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return Status(err::kMissingParameter, "DiskIds is empty.");
  std::string instance_id = p.value("InstanceId", "");
  if (!IsWellFormedId("ins", instance_id)) {
    return Status(err::kInvalidInstanceIdMalformed,
                  "The instance id `" + instance_id.substr(0, 32) + "` is malformed.");
  }
  std::vector<std::string> ops;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto inst = store::LoadInstance(tx, ScopeOf(ctx), instance_id);
    if (!inst.ok()) return inst.status();
    if (!inst->has_value()) {
      return Status(err::kInvalidInstanceIdNotFound,
                    "The instance " + instance_id + " does not exist.");
    }
    const auto& i = **inst;
    if (i.state != "RUNNING" && i.state != "STOPPED") {
      return Status(err::kUnsupportedOperationStateError,
                    "Instance " + instance_id + " is " + i.state +
                        "; disks attach to RUNNING or STOPPED instances.");
    }
    if (i.latest_operation_state == "OPERATING") {
      return Status(err::kResourceBusy,
                    "Instance " + instance_id + " is busy with " + i.latest_operation + ".");
    }
    auto disks = LoadOwnedDisks(tx, ctx, *ids);
    if (!disks.ok()) return disks.status();
    for (const auto& d : *disks) {
      if (d.usage == "SYSTEM_DISK") {
        return Status(err::kResourceUnavailableTypeError,
                      "Disk " + d.disk_id + " is a system disk and cannot be attached.");
      }
      if (!d.portable) {
        return Status(err::kResourceUnavailableNotPortable,
                      "Disk " + d.disk_id + " is not elastic.");
      }
      CVM_RETURN_IF_ERROR(CheckDiskIdle(d));
      if (!d.instance_id.empty()) {
        return Status(err::kResourceUnavailableAttached,
                      "Disk " + d.disk_id + " is already attached to " + d.instance_id + ".");
      }
      if (d.zone != i.zone) {
        return Status(err::kResourceUnavailableZoneNotMatch,
                      "Disk " + d.disk_id + " is in " + d.zone + ", instance " + instance_id +
                          " in " + i.zone + ".");
      }
    }
    auto attached = store::CountDataDisks(tx, instance_id);
    if (!attached.ok()) return attached.status();
    if (*attached + static_cast<int64_t>(disks->size()) > deps.config.max_data_disks_per_instance) {
      return Status(err::kLimitExceededInstanceAttachedDisk,
                    "Instance " + instance_id + " can hold at most " +
                        std::to_string(deps.config.max_data_disks_per_instance) + " data disks.");
    }
    int64_t now = NowUnix();
    for (size_t n = 0; n < disks->size(); ++n) {
      const auto& d = (*disks)[n];
      store::DiskAttach attach{d.disk_id, instance_id, now * 1000 + static_cast<int64_t>(n)};
      if (p.contains("DeleteWithInstance")) {
        attach.delete_with_instance = p["DeleteWithInstance"].get<bool>();
      }
      CVM_RETURN_IF_ERROR(store::MarkDiskAttaching(tx, attach));
      auto op = engine::RecordOperation(tx, ctx, engine::op::kAttachDisk, d.disk_id,
                                        {{"InstanceId", instance_id}});
      if (!op.ok()) return op.status();
      ops.push_back(*op);
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  for (const auto& op : ops) deps.engine.Submit(op);
  return json::object();
}

Result<json> DetachDisks(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto ids = DiskIdsParam(p, "DiskIds", kMaxAttachBatch);
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return Status(err::kMissingParameter, "DiskIds is empty.");
  std::string instance_id = p.value("InstanceId", "");
  std::vector<std::string> ops;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto disks = LoadOwnedDisks(tx, ctx, *ids);
    if (!disks.ok()) return disks.status();
    for (const auto& d : *disks) {
      if (d.usage == "SYSTEM_DISK") {
        return Status(err::kResourceUnavailableTypeError,
                      "Disk " + d.disk_id + " is a system disk and cannot be detached.");
      }
      CVM_RETURN_IF_ERROR(CheckDiskIdle(d));
      if (d.instance_id.empty()) {
        return Status(err::kUnsupportedOperationStateError,
                      "Disk " + d.disk_id + " is not attached.");
      }
      if (!instance_id.empty() && d.instance_id != instance_id) {
        return Status(
            err::kUnsupportedOperationStateError,
            "Disk " + d.disk_id + " is not attached to " + instance_id.substr(0, 32) + ".");
      }
      auto inst = store::LoadInstance(tx, d.instance_id);
      if (!inst.ok()) return inst.status();
      if (inst->has_value() && (*inst)->latest_operation_state == "OPERATING") {
        return Status(err::kResourceBusy, "Instance " + d.instance_id + " is busy with " +
                                              (*inst)->latest_operation + ".");
      }
    }
    for (const auto& d : *disks) {
      CVM_RETURN_IF_ERROR(store::SetDiskState(tx, d.disk_id, "DETACHING", ""));
      auto op = engine::RecordOperation(tx, ctx, engine::op::kDetachDisk, d.disk_id);
      if (!op.ok()) return op.status();
      ops.push_back(*op);
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  for (const auto& op : ops) deps.engine.Submit(op);
  return json::object();
}

Result<json> ResizeDisk(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  std::string disk_id = p.value("DiskId", "");
  if (disk_id.empty()) return Status(err::kMissingParameter, "DiskId is required.");
  CVM_RETURN_IF_ERROR(CheckDiskIdFormat(disk_id));
  int64_t size = p["DiskSize"].get<int64_t>();
  std::string op_id;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto disks = LoadOwnedDisks(tx, ctx, {disk_id});
    if (!disks.ok()) return disks.status();
    const auto& d = disks->front();
    if (!d.portable) {
      return Status(err::kResourceUnavailableNotPortable,
                    "Disk " + disk_id + " is not elastic; grow it with ResizeInstanceDisks.");
    }
    if (IsTransitional(d.state)) {
      return Status(err::kInvalidDiskBusy, "Disk " + disk_id + " is busy (" + d.state + ").");
    }
    auto op = RecordDiskGrowth(tx, ctx, deps.config, deps.engine, d, size);
    if (!op.ok()) return op.status();
    op_id = *op;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  deps.engine.Submit(op_id);
  return json::object();
}

Result<json> TerminateDisks(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto ids = DiskIdsParam(p, "DiskIds", kMaxDiskBatch);
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return Status(err::kMissingParameter, "DiskIds is empty.");
  bool delete_snapshots = p.value("DeleteSnapshot", int64_t{0}) == 1;
  std::vector<std::string> snapshot_files;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto disks = LoadOwnedDisks(tx, ctx, *ids);
    if (!disks.ok()) return disks.status();
    for (const auto& d : *disks) {
      if (d.usage == "SYSTEM_DISK" || !d.portable) {
        return Status(err::kResourceUnavailableNotPortable,
                      "Disk " + d.disk_id + " goes with its instance; terminate the instance.");
      }
      CVM_RETURN_IF_ERROR(CheckDiskIdle(d));
      if (!d.instance_id.empty()) {
        return Status(err::kResourceUnavailableAttached, "Disk " + d.disk_id + " is attached to " +
                                                             d.instance_id + "; detach it first.");
      }
    }
    for (const auto& d : *disks) {
      CVM_RETURN_IF_ERROR(store::TerminateDisk(tx, d.disk_id));
      if (delete_snapshots) {
        auto snaps = store::DeleteNormalSnapshotsOfDisk(tx, d.disk_id);
        if (!snaps.ok()) return snaps.status();
        snapshot_files.insert(snapshot_files.end(), snaps->begin(), snaps->end());
      }
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  // The records are gone first: a crash here leaves only files, which the reconciler removes.
  std::error_code ec;
  for (const auto& id : *ids) std::filesystem::remove(deps.engine.DiskPath(id), ec);
  for (const auto& id : snapshot_files) std::filesystem::remove(deps.engine.SnapshotPath(id), ec);
  return json::object();
}

Result<json> ModifyDiskAttributes(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto ids = DiskIdsParam(p, "DiskIds", kMaxDiskBatch);
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return Status(err::kMissingParameter, "DiskIds is empty.");
  if (p.contains("DiskType") || p.contains("BurstPerformanceOperation")) {
    return Status(err::kUnsupportedOperation, "Changing a disk's type is not offered here.");
  }
  if (p.contains("Portable") && !p["Portable"].get<bool>()) {
    return Status(err::kUnsupportedOperation, "An elastic disk cannot be made non-elastic.");
  }
  if (p.contains("ProjectId") && p["ProjectId"].get<int64_t>() != 0) {
    return Status(err::kInvalidParameterProjectIdNotExist, "Only project 0 exists here.");
  }
  std::string name = p.value("DiskName", "");
  if (p.contains("DiskName") && (name.empty() || name.size() > 60)) {
    return Status(err::kInvalidParameterValue, "DiskName must be 1 to 60 bytes long.");
  }
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto disks = LoadOwnedDisks(tx, ctx, *ids);
    if (!disks.ok()) return disks.status();
    for (const auto& d : *disks) {
      if (p.contains("DiskName")) {
        CVM_RETURN_IF_ERROR(store::RenameDisk(tx, d.disk_id, name));
      }
      if (p.contains("DeleteWithInstance")) {
        CVM_RETURN_IF_ERROR(
            store::SetDiskDeleteWithInstance(tx, d.disk_id, p["DeleteWithInstance"].get<bool>()));
      }
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return json::object();
}

Result<json> DescribeDiskConfigQuota(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  std::string inquiry = p.value("InquiryType", "");
  if (inquiry != "INQUIRY_CBS_CONFIG" && inquiry != "INQUIRY_CVM_CONFIG") {
    return Status(err::kInvalidParameterValue,
                  "InquiryType must be INQUIRY_CBS_CONFIG or INQUIRY_CVM_CONFIG.");
  }
  auto wanted = [&](const char* name, const std::string& value) {
    if (!p.contains(name)) return true;
    for (const auto& v : p[name]) {
      if (v.get<std::string>() == value) return true;
    }
    return false;
  };
  std::string usage_filter = p.value("DiskUsage", "");
  const RegionConfig* region = deps.config.FindRegion(ctx.region);
  json set = json::array();
  for (const auto& zone : region ? region->zones : std::vector<ZoneConfig>{}) {
    if (!wanted("Zones", zone.zone)) continue;
    for (const auto& type : deps.config.storage_types) {
      if (!wanted("DiskTypes", type.type)) continue;
      for (const char* usage : {"SYSTEM_DISK", "DATA_DISK"}) {
        if (!usage_filter.empty() && usage_filter != usage) continue;
        if (std::string(usage) == "DATA_DISK" && !type.cloud) continue;
        set.push_back({{"Available", true},
                       {"DiskChargeType", "POSTPAID_BY_HOUR"},
                       {"Zone", zone.zone},
                       {"InstanceFamily", ""},
                       {"DiskType", type.type},
                       {"DiskUsage", usage},
                       {"MinDiskSize", type.min_size_gb},
                       {"MaxDiskSize", type.max_size_gb},
                       {"StepSize", 1},
                       {"DeviceClass", ""},
                       {"ExtraPerformanceRange", json::array()}});
      }
    }
  }
  return json{{"DiskConfigSet", set}};
}

// The limits a disk is throttled to, from its type and size. Tencent's Disk has no field for
// them, so they are offered here rather than added to DescribeDisks' structure.
Result<json> DescribeDiskPerformance(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  CVM_RETURN_IF_ERROR(CheckKnownParams(p, {"DiskId"}));
  if (!p.contains("DiskId")) return Status(err::kMissingParameter, "DiskId is missing.");
  if (!p["DiskId"].is_string()) {
    return Status(err::kInvalidParameterValue, "DiskId must be a string.");
  }
  const std::string id = p["DiskId"].get<std::string>();
  CVM_RETURN_IF_ERROR(CheckDiskIdFormat(id));
  std::vector<DiskRecord> disks;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto found = LoadOwnedDisks(tx, ctx, {id});
    if (!found.ok()) return found.status();
    disks = std::move(*found);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  const DiskRecord& d = disks.front();
  const StorageTypeConfig* type = deps.config.FindStorageType(d.disk_type);
  return json{{"DiskId", d.disk_id},
              {"DiskType", d.disk_type},
              {"DiskSize", d.size_gb},
              {"Iops", type ? type->Iops(d.size_gb) : 0},
              {"ThroughputMBps", type ? type->ThroughputMBps(d.size_gb) : 0}};
}

}  // namespace

void RegisterCbsDiskHandlers(api::Router& router, ServiceDeps& deps) {
  RegisterActions(router, deps,
                  {{"CreateDisks", &CreateDisks},
                   {"DescribeDisks", &DescribeDisks},
                   {"AttachDisks", &AttachDisks},
                   {"DetachDisks", &DetachDisks},
                   {"ResizeDisk", &ResizeDisk},
                   {"TerminateDisks", &TerminateDisks},
                   {"ModifyDiskAttributes", &ModifyDiskAttributes},
                   {"DescribeDiskConfigQuota", &DescribeDiskConfigQuota}});
  router.RegisterExtension("DescribeDiskPerformance", "cbs", "2017-03-12",
                           [&deps](const api::RequestContext& ctx, json& p) {
                             return DescribeDiskPerformance(deps, ctx, p);
                           });
}

}  // namespace cvm::services
