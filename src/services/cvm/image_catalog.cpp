#include "services/cvm/image_catalog.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "api/signing.h"
#include "common/error_codes.h"
#include "common/subprocess.h"
#include "common/time_format.h"
#include "store/image_records.h"

namespace cvm::services {

namespace fs = std::filesystem;

std::string StableImageId(const std::string& name) {
  auto digest = api::Sha256(name);
  static constexpr std::string_view kAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id = "img-";
  for (int i = 0; i < 8; ++i) id.push_back(kAlnum[digest[i] % kAlnum.size()]);
  return id;
}

namespace {
int64_t FileMtime(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : NowUnix();
}
}  // namespace

Status RegisterPublicImages(store::Database& db, const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    spdlog::warn("images: no public image directory {}", dir.string());
    return Status::Ok();
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    auto m = nlohmann::json::parse(in, nullptr, false);
    if (m.is_discarded() || !m.is_object()) {
      spdlog::warn("images: {} is not valid JSON; skipped", entry.path().string());
      continue;
    }
    fs::path file = dir / m.value("file", "");
    if (!fs::exists(file, ec)) {
      spdlog::warn("images: {} names missing file {}; skipped", entry.path().string(),
                   file.string());
      continue;
    }
    auto info = RunProcess({"qemu-img", "info", "--output=json", "-U", file.string()},
                           std::chrono::seconds(30));
    if (!info.ok() || info->exit_code != 0) {
      spdlog::warn("images: cannot inspect {}; skipped", file.string());
      continue;
    }
    auto ij = nlohmann::json::parse(info->stdout_data, nullptr, false);
    int64_t vsize = ij.is_object() ? ij.value("virtual-size", int64_t{0}) : 0;
    std::string name = m.value("name", entry.path().stem().string());
    std::string id = m.value("image_id", StableImageId(name));
    int64_t size_gb = std::max<int64_t>(1, (vsize + (1LL << 30) - 1) >> 30);
    store::ImageRecord image;
    image.image_id = id;
    image.image_type = m.value("image_type", "PUBLIC_IMAGE");
    image.image_source = m.value("image_source", "OFFICIAL");
    image.name = name;
    image.description = m.value("description", "");
    image.os_name = m.value("os_name", name);
    image.platform = m.value("platform", "Linux");
    image.architecture = m.value("architecture", "x86_64");
    image.state = "NORMAL";
    image.size_gb = size_gb;
    image.virtual_size = vsize;
    image.file_path = fs::absolute(file).string();
    image.default_user = m.value("default_user", "root");
    image.min_memory_mib = m.value("min_memory_mib", int64_t{128});
    image.created_at = FileMtime(file);
    Status st = store::WithTransaction(
        db, [&](store::Transaction& tx) { return store::ReplaceImage(tx, image); });
    if (!st.ok()) return st;
    spdlog::info("images: registered {} {} ({} GiB)", id, name, size_gb);
  }
  return Status::Ok();
}

}  // namespace cvm::services
