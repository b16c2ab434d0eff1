#include "store/image_records.h"

namespace cvm::store {

namespace {
constexpr const char* kImageColumns =
    "image_id, owner_uin, image_type, image_source, name, description, os_name, platform, "
    "architecture, state, size_gb, virtual_size, file_path, default_user, min_memory_mib, "
    "state_reason, source_id, snapshot_set, region, system_snapshot_id, created_at, deleted";

ImageRecord ImageFromRow(const Row& r) {
  ImageRecord i;
  size_t c = 0;
  i.image_id = r.Str(c++);
  i.owner_uin = r.Str(c++);
  i.image_type = r.Str(c++);
  i.image_source = r.Str(c++);
  i.name = r.Str(c++);
  i.description = r.Str(c++);
  i.os_name = r.Str(c++);
  i.platform = r.Str(c++);
  i.architecture = r.Str(c++);
  i.state = r.Str(c++);
  i.size_gb = r.Int(c++);
  i.virtual_size = r.Int(c++);
  i.file_path = r.Str(c++);
  i.default_user = r.Str(c++);
  i.min_memory_mib = r.Int(c++);
  i.state_reason = r.Str(c++);
  i.source_id = r.Str(c++);
  i.snapshot_set = nlohmann::json::parse(r.Str(c++), nullptr, false);
  if (!i.snapshot_set.is_array()) i.snapshot_set = nlohmann::json::array();
  i.region = r.Str(c++);
  i.system_snapshot_id = r.Str(c++);
  i.created_at = r.Int(c++);
  i.deleted = r.Int(c++) != 0;
  return i;
}
}  // namespace

Status InsertImage(Transaction& tx, const ImageRecord& i) {
  return tx.Exec(std::string("INSERT INTO images(") + kImageColumns +
                     ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                 {i.image_id,       i.owner_uin.empty() ? Value(nullptr) : Value(i.owner_uin),
                  i.image_type,     i.image_source,
                  i.name,           i.description,
                  i.os_name,        i.platform,
                  i.architecture,   i.state,
                  i.size_gb,        i.virtual_size,
                  i.file_path,      i.default_user,
                  i.min_memory_mib, i.state_reason,
                  i.source_id,      i.snapshot_set.dump(),
                  i.region,         i.system_snapshot_id,
                  i.created_at,     int64_t{i.deleted ? 1 : 0}});
}

Status ReplaceImage(Transaction& tx, const ImageRecord& image) {
  CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM images WHERE image_id = ?", {image.image_id}));
  return InsertImage(tx, image);
}

Result<std::optional<ImageRecord>> FindImage(Database& db, const std::string& image_id) {
  auto rows = db.Query(std::string("SELECT ") + kImageColumns + " FROM images WHERE image_id = ?",
                       {image_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<ImageRecord>();
  return std::optional(ImageFromRow(rows->front()));
}

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

Result<std::string> ImageBeingMadeFrom(Transaction& tx, const std::string& source_id) {
  auto rows = tx.Query(
      "SELECT image_id FROM images WHERE source_id = ? AND state = 'CREATING' AND deleted = 0",
      {source_id});
  if (!rows.ok()) return rows.status();
  return rows->empty() ? std::string() : rows->front().Str(0);
}

}  // namespace cvm::store
