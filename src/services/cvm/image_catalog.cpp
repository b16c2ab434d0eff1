#include "services/cvm/image_catalog.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "api/signing.h"
#include "common/error_codes.h"
#include "common/subprocess.h"
#include "common/time_format.h"

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
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM images WHERE image_id = ?", {id}));
      return tx.Exec(
          "INSERT INTO images(image_id, owner_uin, image_type, image_source, name, description, "
          "os_name, platform, architecture, state, size_gb, virtual_size, file_path, "
          "default_user, min_memory_mib, created_at) "
          "VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, 'NORMAL', ?, ?, ?, ?, ?, ?)",
          {id, m.value("image_type", "PUBLIC_IMAGE"), m.value("image_source", "OFFICIAL"), name,
           m.value("description", ""), m.value("os_name", name), m.value("platform", "Linux"),
           m.value("architecture", "x86_64"), size_gb, vsize, fs::absolute(file).string(),
           m.value("default_user", "root"), m.value("min_memory_mib", int64_t{128}),
           FileMtime(file)});
    });
    if (!st.ok()) return st;
    spdlog::info("images: registered {} {} ({} GiB)", id, name, size_gb);
  }
  return Status::Ok();
}

}  // namespace cvm::services
