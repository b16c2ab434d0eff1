// Images as the store keeps them: the public catalog (no owner) and the accounts' custom
// images, their files and their states.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace cvm::store {

struct ImageRecord {
  std::string image_id;
  std::string owner_uin;  // '' for a public image
  std::string image_type, image_source, name, description, os_name, platform, architecture;
  std::string state;
  int64_t size_gb = 0, virtual_size = 0;  // GiB rounded up; bytes
  std::string file_path, default_user = "root";
  int64_t min_memory_mib = 128;
  std::string state_reason, source_id;
  nlohmann::json snapshot_set = nlohmann::json::array();  // the data disks' snapshots
  std::string region, system_snapshot_id;
  int64_t created_at = 0;
  bool deleted = false;
};
Status InsertImage(Transaction& tx, const ImageRecord& image);
// A catalog image registered again: the row of its id is replaced.
Status ReplaceImage(Transaction& tx, const ImageRecord& image);
// The image `image_id`, deleted or not; nullopt when there is no such image.
Result<std::optional<ImageRecord>> FindImage(Database& db, const std::string& image_id);

// The file of image `image_id` (deleted or not); nullopt when there is no such image.
Result<std::optional<std::string>> ImageFilePath(Database& db, const std::string& image_id);
// The ids of the images that have a file.
Result<std::vector<std::string>> ImagesWithFiles(Database& db);

struct ImageFile {
  std::string image_id, file_path;
};
// Deleted custom images whose file no live disk uses any more (system disks are overlays).
Result<std::vector<ImageFile>> UnusedImageFiles(Database& db);
// The image's file is gone.
Status ClearImageFile(Transaction& tx, const std::string& image_id);

// A custom image made: NORMAL, with its file and size.
Status CompleteImage(Transaction& tx, const std::string& image_id, int64_t virtual_size,
                     int64_t size_gb, const std::string& file_path);
// A custom image that could not be made: `state` (CREATEFAILED | IMPORTFAILED), why, no file.
Status FailImage(Transaction& tx, const std::string& image_id, const std::string& state,
                 const std::string& reason);

// An image still being made from snapshot `source_id` ('' when none).
Result<std::string> ImageBeingMadeFrom(Transaction& tx, const std::string& source_id);

}  // namespace cvm::store
