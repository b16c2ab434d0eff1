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

}  // namespace cvm::store
