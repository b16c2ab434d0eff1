#include "store/image_records.h"

namespace cvm::store {

Result<std::optional<std::string>> ImageFilePath(Database& db, const std::string& image_id) {
  auto rows = db.Query("SELECT file_path FROM images WHERE image_id = ?", {image_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows->front().Str(0));
}

Result<std::vector<std::string>> ImagesWithFiles(Database& db) {
  auto rows = db.Query("SELECT image_id FROM images WHERE file_path != ''");
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back(r.Str(0));
  return out;
}

Result<std::vector<ImageFile>> UnusedImageFiles(Database& db) {
  auto rows = db.Query(
      "SELECT image_id, file_path FROM images i WHERE deleted = 1 AND owner_uin IS NOT NULL "
      "AND file_path != '' AND NOT EXISTS (SELECT 1 FROM disks d WHERE d.image_id = i.image_id "
      "AND d.deleted = 0)");
  if (!rows.ok()) return rows.status();
  std::vector<ImageFile> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back({r.Str(0), r.Str(1)});
  return out;
}

Status ClearImageFile(Transaction& tx, const std::string& image_id) {
  return tx.Exec("UPDATE images SET file_path = '' WHERE image_id = ?", {image_id});
}

Status CompleteImage(Transaction& tx, const std::string& image_id, int64_t virtual_size,
                     int64_t size_gb, const std::string& file_path) {
  return tx.Exec(
      "UPDATE images SET state = 'NORMAL', state_reason = '', virtual_size = ?, size_gb = ?, "
      "file_path = ? WHERE image_id = ?",
      {virtual_size, size_gb, file_path, image_id});
}

Status FailImage(Transaction& tx, const std::string& image_id, const std::string& state,
                 const std::string& reason) {
  return tx.Exec("UPDATE images SET state = ?, state_reason = ?, file_path = '' WHERE image_id = ?",
                 {state, reason, image_id});
}

}  // namespace cvm::store
