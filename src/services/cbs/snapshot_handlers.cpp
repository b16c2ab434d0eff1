// CBS snapshots: a snapshot is a flattened qcow2 copy of a disk (DATA_DIR/snapshots), made by the
// engine: offline with qemu-img, or point-in-time from a running VM with a blockdev-backup job.
#include <map>

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "engine/operations.h"
#include "services/filters.h"
#include "services/resource_tags.h"
#include "services/service_deps.h"
#include "services/storage_rules.h"
#include "store/disk_records.h"
#include "store/snapshot_records.h"

namespace cvm::services {
namespace {

using nlohmann::json;

constexpr size_t kMaxSnapshotBatch = 100;

using store::SnapshotRecord;

json SnapshotJson(const SnapshotRecord& s, json tags) {
  return json{
      {"SnapshotId", s.snapshot_id},
      {"SnapshotName", s.name},
      {"SnapshotState", s.state},
      {"SnapshotType", "PRIVATE_SNAPSHOT"},
      {"DiskId", s.disk_id},
      {"DiskUsage", s.disk_usage},
      {"DiskSize", s.disk_size_gb},
      {"Placement", {{"Zone", s.zone}, {"ProjectId", 0}}},
      {"Percent", s.percent},
      {"CreateTime", FormatDateTime(s.created_at)},
      {"DeadlineTime", nullptr},
      {"IsPermanent", true},
      {"Encrypt", false},
      {"CopyFromRemote", false},
      {"CopyingToRegions", json::array()},
      {"Images", json::array()},
      {"ImageCount", 0},
      {"ShareReference", 0},
      {"TimeStartShare", nullptr},
      {"Tags", std::move(tags)},
      {"IsLocked", false},
      {"LatestModifyTime", FormatIsoTime(s.created_at)},
  };
}

Result<std::vector<std::string>> SnapshotIdsParam(const json& p, const char* name) {
  std::vector<std::string> ids;
  if (!p.contains(name)) return ids;
  if (p[name].size() > kMaxSnapshotBatch) {
    return Status(err::kInvalidParameterValueLimitExceeded,
                  std::string(name) + " holds at most 100 snapshot ids.");
  }
  for (const auto& v : p[name]) {
    std::string id = v.get<std::string>();
    if (!IsWellFormedId("snap", id)) {
      return Status(err::kInvalidParameterValue, "The snapshot id `" + id.substr(0, 32) +
                                                     "` is malformed; expected "
                                                     "snap-xxxxxxxx.");
    }
    ids.push_back(id);
  }
  return ids;
}

Result<SnapshotRecord> LoadOwnedSnapshot(store::Transaction& tx, const api::RequestContext& ctx,
                                         const std::string& id) {
  auto s = store::FindSnapshot(tx, ScopeOf(ctx), id);
  if (!s.ok()) return s.status();
  if (!*s)
    return Status(err::kInvalidSnapshotIdNotFound, "The snapshot " + id + " does not exist.");
  return std::move(**s);
}

Result<json> CreateSnapshot(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  std::string disk_id = p.value("DiskId", "");
  if (disk_id.empty()) return Status(err::kMissingParameter, "DiskId is required.");
  CVM_RETURN_IF_ERROR(CheckDiskIdFormat(disk_id));
  if (p.contains("DiskBackupId")) {
    return Status(err::kUnsupportedOperation, "Disk backup points are not offered here.");
  }
  std::string name = p.value("SnapshotName", "Unnamed");
  if (name.empty() || name.size() > 60) {
    return Status(err::kInvalidParameterValue, "SnapshotName must be 1 to 60 bytes long.");
  }
  auto tags = CreationTags(p);
  if (!tags.ok()) return tags.status();
  std::string snapshot_id = NewResourceId("snap");
  std::string op_id;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto disks = LoadOwnedDisks(tx, ctx, {disk_id});
    if (!disks.ok()) return disks.status();
    auto op = RecordSnapshot(tx, ctx, deps.engine, disks->front(), snapshot_id, name);
    if (!op.ok()) return op.status();
    op_id = *op;
    return store::SetTags(tx, ctx.owner_uin, snapshot_id, *tags,
                          err::kLimitExceededTagKeyPerResourceExceeded);
  });
  if (!st.ok()) return st;
  deps.engine.Submit(op_id);
  return json{{"SnapshotId", snapshot_id}};
}

Result<json> DescribeSnapshots(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto ids = SnapshotIdsParam(p, "SnapshotIds");
  if (!ids.ok()) return ids.status();
  auto filters =
      Filters::Parse(p, {"snapshot-id", "snapshot-name", "snapshot-state", "disk-id", "disk-usage",
                         "zone", "snapshot-type", "project-id", "tag-key", "tag-value", "tag:"});
  if (!filters.ok()) return filters.status();
  auto paging = Paging::Parse(p, ctx.visible, iam::kind::kSnapshot);
  if (!paging.ok()) return paging.status();
  std::string order = p.value("Order", "DESC");
  if (order != "ASC" && order != "DESC") {
    return Status(err::kInvalidParameterValue, "Order must be ASC or DESC.");
  }
  store::SnapshotFilter f{.ids = *ids,
                          .snapshot_ids = filters->Any("snapshot-id"),
                          .names = filters->Any("snapshot-name"),
                          .states = filters->Any("snapshot-state"),
                          .disk_ids = filters->Any("disk-id"),
                          .disk_usages = filters->Any("disk-usage"),
                          .zones = filters->Any("zone"),
                          .tags = filters->Tags()};
  // Every snapshot here is a private one, in project 0.
  f.match_nothing = !filters->Matches("snapshot-type", "PRIVATE_SNAPSHOT") ||
                    !filters->Matches("project-id", "0");
  auto listing = store::ListSnapshots(deps.db, ScopeOf(ctx), f, order == "DESC", paging->Request());
  if (!listing.ok()) return listing.status();
  std::vector<std::string> ids_on_page;
  for (const auto& s : listing->items) ids_on_page.push_back(s.snapshot_id);
  auto tags = TagListsOf(deps.db, ids_on_page);
  json set = json::array();
  for (const auto& s : listing->items) set.push_back(SnapshotJson(s, tags[s.snapshot_id]));
  return json{{"TotalCount", listing->total}, {"SnapshotSet", std::move(set)}};
}

Result<json> DeleteSnapshots(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto ids = SnapshotIdsParam(p, "SnapshotIds");
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return Status(err::kMissingParameter, "SnapshotIds is empty.");
  Status st = store::WithTransaction(
      deps.db, [&](store::Transaction& tx) { return DeleteOwnedSnapshots(tx, ctx, *ids); });
  if (!st.ok()) return st;
  std::error_code ec;
  for (const auto& id : *ids) std::filesystem::remove(deps.engine.SnapshotPath(id), ec);
  return json::object();
}

Result<json> ApplySnapshot(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto ids = SnapshotIdsParam(json{{"SnapshotIds", {p.value("SnapshotId", "")}}}, "SnapshotIds");
  if (!ids.ok()) return ids.status();
  const std::string snapshot_id = ids->front();
  const std::string disk_id = p.value("DiskId", "");
  CVM_RETURN_IF_ERROR(CheckDiskIdFormat(disk_id));
  if (p.value("AutoStopInstance", false) || p.value("AutoStartInstance", false)) {
    return Status(err::kUnsupportedOperation,
                  "AutoStopInstance/AutoStartInstance are not offered; stop the instance first.");
  }
  std::string op_id;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto snap = LoadOwnedSnapshot(tx, ctx, snapshot_id);
    if (!snap.ok()) return snap.status();
    if (snap->state != "NORMAL") {
      return Status(err::kResourceUnavailableSnapshotCreating,
                    "Snapshot " + snapshot_id + " is not ready (" + snap->state + ").");
    }
    auto disks = LoadOwnedDisks(tx, ctx, {disk_id});
    if (!disks.ok()) return disks.status();
    const auto& d = disks->front();
    if (snap->disk_id != disk_id) {
      return Status(err::kInvalidSnapshotNotSupported,
                    "Snapshot " + snapshot_id + " was taken of " + snap->disk_id +
                        "; a disk rolls back only to its own snapshots.");
    }
    if (d.state != "UNATTACHED" && d.state != "ATTACHED") {
      return Status(err::kResourceBusy, "Disk " + disk_id + " is busy (" + d.state + ").");
    }
    if (!d.instance_id.empty()) {
      auto inst = store::LoadInstance(tx, d.instance_id);
      if (!inst.ok()) return inst.status();
      if (inst->has_value() && (*inst)->state != "STOPPED") {
        return Status(err::kUnsupportedOperationInstanceNotStopped,
                      "Instance " + d.instance_id + " is " + (*inst)->state +
                          "; stop it before rolling its disk back.");
      }
    }
    CVM_RETURN_IF_ERROR(store::MarkDiskRollingBack(tx, disk_id));
    CVM_RETURN_IF_ERROR(store::SetSnapshotState(tx, snapshot_id, "ROLLBACKING"));
    auto op = engine::RecordOperation(tx, ctx, engine::op::kApplySnapshot, disk_id,
                                      {{"SnapshotId", snapshot_id}});
    if (!op.ok()) return op.status();
    op_id = *op;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  deps.engine.Submit(op_id);
  return json::object();
}

}  // namespace

void RegisterCbsSnapshotHandlers(api::Router& router, ServiceDeps& deps) {
  RegisterActions(router, deps,
                  {{"CreateSnapshot", &CreateSnapshot},
                   {"DescribeSnapshots", &DescribeSnapshots},
                   {"DeleteSnapshots", &DeleteSnapshots},
                   {"ApplySnapshot", &ApplySnapshot}});
}

}  // namespace cvm::services
