// What the engine reads and records of images and their files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace cvm::store {

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

}  // namespace cvm::store
