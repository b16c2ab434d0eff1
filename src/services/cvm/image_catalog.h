// Public and service-market images shipped as files: each `<name>.json` manifest in the public
// images directory, beside its qcow2, is registered at start with a stable id derived from its
// name, so ids survive restarts and match across deployments. A manifest's image_type and
// image_source say which kind (PUBLIC_IMAGE/OFFICIAL, or MARKET_IMAGE/MARKET).
#pragma once

#include <filesystem>

#include "common/status.h"
#include "store/database.h"

namespace cvm::services {

Status RegisterPublicImages(store::Database& db, const std::filesystem::path& dir);
std::string StableImageId(const std::string& name);

}  // namespace cvm::services
