#include "store/disk_records.h"

namespace cvm::store {

Result<std::vector<DiskRecord>> DisksOfInstance(Database& db, const std::string& instance_id) {
  auto rows = db.Query(std::string("SELECT ") + kDiskColumns +
                           " FROM disks WHERE instance_id = ? AND deleted = 0 "
                           "ORDER BY attached_at, disk_id",
                       {instance_id});
  if (!rows.ok()) return rows.status();
  std::vector<DiskRecord> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back(DiskFromRow(r));
  return out;
}

Result<std::vector<std::string>> LiveDiskIds(Database& db) {
  auto rows = db.Query("SELECT disk_id FROM disks WHERE deleted = 0");
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back(r.Str(0));
  return out;
}

Status SetDiskImage(Transaction& tx, const std::string& disk_id, const std::string& image_id) {
  return tx.Exec("UPDATE disks SET image_id = ? WHERE disk_id = ?", {image_id, disk_id});
}

Status SetDiskSize(Transaction& tx, const std::string& disk_id, int64_t size_gb) {
  return tx.Exec("UPDATE disks SET size_gb = ? WHERE disk_id = ?", {size_gb, disk_id});
}

Status SetDiskState(Transaction& tx, const std::string& disk_id, const std::string& state,
                    const std::string& error_prompt) {
  return tx.Exec("UPDATE disks SET state = ?, error_prompt = ? WHERE disk_id = ?",
                 {state, error_prompt, disk_id});
}

Status DiscardDisk(Transaction& tx, const std::string& disk_id, const std::string& error_prompt) {
  return tx.Exec("UPDATE disks SET deleted = 1, error_prompt = ? WHERE disk_id = ?",
                 {error_prompt, disk_id});
}

Status UndoDiskAttach(Transaction& tx, const std::string& disk_id,
                      const std::string& error_prompt) {
  return tx.Exec(
      "UPDATE disks SET state = 'UNATTACHED', instance_id = NULL, attached_at = 0, "
      "error_prompt = ? WHERE disk_id = ?",
      {error_prompt, disk_id});
}

namespace {
constexpr const char* kDetach =
    "UPDATE disks SET state = 'UNATTACHED', instance_id = NULL, attached_at = 0, "
    "last_instance_id = ?, error_prompt = '' WHERE disk_id = ?";
}  // namespace

Status MarkDiskDetached(Transaction& tx, const std::string& disk_id,
                        const std::string& instance_id) {
  return tx.Exec(kDetach, {instance_id, disk_id});
}

Status MarkDiskReleased(Transaction& tx, const std::string& disk_id,
                        const std::string& instance_id) {
  return tx.Exec(std::string(kDetach) + " AND state = 'ATTACHED'", {instance_id, disk_id});
}

Status ReleaseInstanceDisks(Transaction& tx, const std::string& instance_id) {
  CVM_RETURN_IF_ERROR(
      tx.Exec("UPDATE disks SET deleted = 1, state = 'TERMINATED' WHERE instance_id = ? AND "
              "(usage = 'SYSTEM_DISK' OR delete_with_instance = 1)",
              {instance_id}));
  return tx.Exec(
      "UPDATE disks SET instance_id = NULL, state = 'UNATTACHED' WHERE instance_id = ? AND "
      "deleted = 0",
      {instance_id});
}

Result<Page<DiskRecord>> ListDisks(Database& db, const Scope& scope, const DiskFilter& f,
                                   bool newest_first, const PageRequest& page) {
  ListQuery q("owner_uin = ? AND region = ? AND deleted = 0 AND state != ?",
              {scope.owner_uin, scope.region, kDiskCreating});
  if (!f.ids.empty()) q.In("disk_id", f.ids);
  q.In("disk_id", f.disk_ids);
  q.In("disk_type", f.types);
  q.In("instance_id", f.instance_ids);
  q.In("name", f.names);
  q.In("state", f.states);
  q.In("usage", f.usages);
  q.In("zone", f.zones);
  q.Flag("portable", f.portable);
  if (f.match_nothing) q.MatchNothing();
  q.Tagged("disk_id", f.tags);
  return TypedPage<DiskRecord>(
      q.List(db, "disks", "disk_id", kDiskColumns,
             std::string("created_at ") + (newest_first ? "DESC" : "ASC") + ", disk_id", page),
      DiskFromRow);
}

Result<int64_t> ProvisionedDiskGb(Transaction& tx) {
  auto rows = tx.Query("SELECT COALESCE(SUM(size_gb), 0) FROM disks WHERE deleted = 0");
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

Result<int64_t> CountDataDisks(Transaction& tx, const std::string& instance_id) {
  auto rows = tx.Query(
      "SELECT COUNT(*) FROM disks WHERE instance_id = ? AND usage = 'DATA_DISK' AND deleted = 0",
      {instance_id});
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

Result<std::string> DiskBeingMadeFrom(Transaction& tx, const std::string& snapshot_id) {
  auto rows = tx.Query(
      "SELECT disk_id FROM disks WHERE source_snapshot_id = ? AND state = ? AND deleted = 0",
      {snapshot_id, kDiskCreating});
  if (!rows.ok()) return rows.status();
  return rows->empty() ? std::string() : rows->front().Str(0);
}

Status MarkDiskAttaching(Transaction& tx, const DiskAttach& a) {
  std::string sql =
      "UPDATE disks SET state = 'ATTACHING', instance_id = ?, attached_at = ?, error_prompt = ''";
  std::vector<Value> args = {a.instance_id, a.attached_at};
  if (a.delete_with_instance) {
    sql += ", delete_with_instance = ?";
    args.emplace_back(int64_t{*a.delete_with_instance ? 1 : 0});
  }
  args.emplace_back(a.disk_id);
  return tx.Exec(sql + " WHERE disk_id = ?", args);
}

Status MarkDiskRollingBack(Transaction& tx, const std::string& disk_id) {
  return tx.Exec("UPDATE disks SET state = 'ROLLBACKING' WHERE disk_id = ?", {disk_id});
}

Status TerminateDisk(Transaction& tx, const std::string& disk_id) {
  return tx.Exec("UPDATE disks SET deleted = 1, state = 'TERMINATED' WHERE disk_id = ?", {disk_id});
}

Status RenameDisk(Transaction& tx, const std::string& disk_id, const std::string& name) {
  return tx.Exec("UPDATE disks SET name = ? WHERE disk_id = ?", {name, disk_id});
}

Status SetDiskDeleteWithInstance(Transaction& tx, const std::string& disk_id, bool value) {
  return tx.Exec("UPDATE disks SET delete_with_instance = ? WHERE disk_id = ?",
                 {int64_t{value ? 1 : 0}, disk_id});
}

}  // namespace cvm::store
