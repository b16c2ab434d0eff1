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

namespace cvm::services {
namespace {

using nlohmann::json;

constexpr size_t kMaxSnapshotBatch = 100;

struct SnapshotRow {
  std::string snapshot_id, name, disk_id, disk_usage, zone, state;
  int64_t disk_size_gb = 0, percent = 0, created_at = 0;
};
constexpr const char* kSnapshotColumns =
    "snapshot_id, name, disk_id, disk_usage, zone, state, disk_size_gb, percent, created_at";
SnapshotRow SnapshotFromRow(const store::Row& r) {
  return {r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4), r.Str(5), r.Int(6), r.Int(7), r.Int(8)};
}

json SnapshotJson(const SnapshotRow& s, json tags) {
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

Result<SnapshotRow> LoadOwnedSnapshot(store::Transaction& tx, const api::RequestContext& ctx,
                                      const std::string& id) {
  auto rows = tx.Query(std::string("SELECT ") + kSnapshotColumns +
                           " FROM snapshots WHERE snapshot_id = ? AND owner_uin = ? AND "
                           "region = ? AND deleted = 0",
                       {id, ctx.owner_uin, ctx.region});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return Status(err::kInvalidSnapshotIdNotFound, "The snapshot " + id + " does not exist.");
  }
  return SnapshotFromRow(rows->front());
}

}  // namespace

void RegisterCbsSnapshotHandlers(api::Router& router, ServiceDeps& deps) {
  auto& db = deps.db;
  auto& engine = deps.engine;

  router.Register("CreateSnapshot", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
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
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      auto disks = LoadOwnedDisks(tx, ctx, {disk_id});
      if (!disks.ok()) return disks.status();
      auto op = RecordSnapshot(tx, ctx, engine, disks->front(), snapshot_id, name);
      if (!op.ok()) return op.status();
      op_id = *op;
      return store::SetTags(tx, ctx.owner_uin, snapshot_id, *tags,
                            err::kLimitExceededTagKeyPerResourceExceeded);
    });
    if (!st.ok()) return st;
    engine.Submit(op_id);
    return json{{"SnapshotId", snapshot_id}};
  });

  router.Register(
      "DescribeSnapshots", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        auto ids = SnapshotIdsParam(p, "SnapshotIds");
        if (!ids.ok()) return ids.status();
        auto filters = Filters::Parse(
            p, {"snapshot-id", "snapshot-name", "snapshot-state", "disk-id", "disk-usage", "zone",
                "snapshot-type", "project-id", "tag-key", "tag-value", "tag:"});
        if (!filters.ok()) return filters.status();
        auto paging = Paging::Parse(p, ctx.visible, iam::kind::kSnapshot);
        if (!paging.ok()) return paging.status();
        std::string order = p.value("Order", "DESC");
        if (order != "ASC" && order != "DESC") {
          return Status(err::kInvalidParameterValue, "Order must be ASC or DESC.");
        }
        SqlWhere where("owner_uin = ? AND region = ? AND deleted = 0", {ctx.owner_uin, ctx.region});
        if (!ids->empty()) where.In("snapshot_id", *ids);
        where.Filtered(*filters, {{"snapshot-id", "snapshot_id"},
                                  {"snapshot-name", "name"},
                                  {"snapshot-state", "state"},
                                  {"disk-id", "disk_id"},
                                  {"disk-usage", "disk_usage"},
                                  {"zone", "zone"}});
        where.OnlyIfListed(*filters, "snapshot-type", "PRIVATE_SNAPSHOT");
        where.OnlyIfListed(*filters, "project-id", "0");
        FilterByTags(where, *filters, "snapshot_id");
        auto listing = where.List(db, "snapshots", "snapshot_id", kSnapshotColumns,
                                  "created_at " + order + ", snapshot_id", *paging);
        if (!listing.ok()) return listing.status();
        std::vector<std::string> ids_on_page;
        for (const auto& r : listing->rows) ids_on_page.push_back(r.Str(0));
        auto tags = TagListsOf(db, ids_on_page);
        json set = json::array();
        for (const auto& r : listing->rows) {
          set.push_back(SnapshotJson(SnapshotFromRow(r), tags[r.Str(0)]));
        }
        return json{{"TotalCount", listing->total}, {"SnapshotSet", std::move(set)}};
      });

  router.Register("DeleteSnapshots", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto ids = SnapshotIdsParam(p, "SnapshotIds");
    if (!ids.ok()) return ids.status();
    if (ids->empty()) return Status(err::kMissingParameter, "SnapshotIds is empty.");
    Status st = store::WithTransaction(
        db, [&](store::Transaction& tx) { return DeleteOwnedSnapshots(tx, ctx, *ids); });
    if (!st.ok()) return st;
    std::error_code ec;
    for (const auto& id : *ids) std::filesystem::remove(engine.SnapshotPath(id), ec);
    return json::object();
  });

  router.Register("ApplySnapshot", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
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
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
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
      CVM_RETURN_IF_ERROR(
          tx.Exec("UPDATE disks SET state = 'ROLLBACKING' WHERE disk_id = ?", {disk_id}));
      CVM_RETURN_IF_ERROR(tx.Exec(
          "UPDATE snapshots SET state = 'ROLLBACKING' WHERE snapshot_id = ?", {snapshot_id}));
      auto op = engine::RecordOperation(tx, ctx, engine::op::kApplySnapshot, disk_id,
                                        {{"SnapshotId", snapshot_id}});
      if (!op.ok()) return op.status();
      op_id = *op;
      return Status::Ok();
    });
    if (!st.ok()) return st;
    engine.Submit(op_id);
    return json::object();
  });
}

}  // namespace cvm::services
