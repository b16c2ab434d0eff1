// Images: DescribeImages over the public catalogue, the caller's own images and the images
// shared with it; custom images captured from an instance or made from snapshots (CreateImage)
// or imported (ImportImage), their attributes, sharing, export (a directory or an upload) and
// deletion. The files are made by the engine; a deleted image's file stays while system disks
// are overlays on it.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "drivers/http/download.h"
#include "engine/file_steps.h"
#include "engine/operations.h"
#include "services/cvm/instance_rules.h"
#include "services/extension_params.h"
#include "services/filters.h"
#include "services/resource_tags.h"
#include "services/service_deps.h"
#include "services/storage_rules.h"
#include "store/image_records.h"

namespace cvm::services {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxImageBatch = 100;
constexpr size_t kMaxSharesPerImage = 500;
constexpr std::string_view kNotYours = err::kUnauthorizedOperationImageNotBelongToAccount;

// What ImportImage accepts, and what DescribeImportImageOs lists: one table for both. Guests
// boot x86_64 with Legacy BIOS and get their settings from a NoCloud seed, so these are Linux
// systems with cloud-init (or, for TinyLinux, OpenCVM's own NoCloud init); no Windows.
struct ImportableOs {
  const char* name;
  std::vector<const char*> versions;
};
const std::vector<ImportableOs>& ImportableOsList() {
  static const std::vector<ImportableOs> kList = {
      {"AlmaLinux", {"8", "9"}},      {"CentOS", {"7", "8", "9"}},
      {"Debian", {"10", "11", "12"}}, {"Fedora", {"38", "39", "40"}},
      {"OpenSUSE", {"15"}},           {"Rocky Linux", {"8", "9"}},
      {"TinyLinux", {"1.0"}},         {"Ubuntu", {"20.04", "22.04", "24.04"}},
      {"Other Linux", {"-"}},
  };
  return kList;
}

Status CheckImportableOs(const std::string& os_type, const std::string& version) {
  for (const auto& os : ImportableOsList()) {
    if (os_type != os.name) continue;
    for (const char* v : os.versions) {
      if (version == v) return Status::Ok();
    }
    return Status(err::kInvalidImageOsVersionUnsupported,
                  "OsVersion `" + version.substr(0, 16) + "` of " + os_type +
                      " cannot be imported; see DescribeImportImageOs.");
  }
  return Status(err::kInvalidImageOsTypeUnsupported, "OsType `" + os_type.substr(0, 32) +
                                                         "` cannot be imported; see "
                                                         "DescribeImportImageOs.");
}

Status CheckImageIdFormat(const std::string& id) {
  if (!IsWellFormedId("img", id)) {
    return Status(err::kInvalidImageIdMalformed,
                  "The image id `" + id.substr(0, 32) + "` is malformed; expected img-xxxxxxxx.");
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ImageIdsParam(const json& p) {
  std::vector<std::string> ids;
  if (!p.contains("ImageIds")) return ids;
  if (p["ImageIds"].size() > kMaxImageBatch) {
    return Status(err::kInvalidParameterValueLimitExceeded,
                  "ImageIds holds at most 100 image ids.");
  }
  for (const auto& v : p["ImageIds"]) {
    std::string id = v.get<std::string>();
    CVM_RETURN_IF_ERROR(CheckImageIdFormat(id));
    ids.push_back(id);
  }
  return ids;
}

Status CheckNameAndDescription(const json& p, bool name_required) {
  if (name_required && !p.contains("ImageName")) {
    return Status(err::kMissingParameter, "ImageName is required.");
  }
  if (p.contains("ImageName")) {
    auto name = p.value("ImageName", "");
    if (name.empty() || name.size() > 60) {
      return Status(err::kInvalidParameterValue, "ImageName must be 1 to 60 bytes long.");
    }
  }
  if (p.value("ImageDescription", "").size() > 256) {
    return Status(err::kInvalidParameterValue, "ImageDescription is at most 256 bytes.");
  }
  return Status::Ok();
}

// Names are unique among an account's live custom images of a region.
Status CheckNameFree(store::Transaction& tx, const std::string& owner, const std::string& region,
                     const std::string& name, const std::string& except_id = "") {
  auto rows = tx.Query(
      "SELECT COUNT(*) FROM images WHERE owner_uin = ? AND deleted = 0 AND name = ? AND "
      "image_id != ? AND region IN ('', ?)",
      {owner, name, except_id, region});
  if (!rows.ok()) return rows.status();
  if ((*rows)[0].Int(0) > 0) {
    return Status(err::kInvalidImageNameDuplicate,
                  "You already have an image named `" + name + "`.");
  }
  return Status::Ok();
}

struct OwnImage {
  std::string image_id, state, name;
};

// An image the caller may change: its own custom image. A public image or one shared with the
// caller is refused with `shared_code` (each action names its own).
Result<OwnImage> LoadOwnImage(store::Transaction& tx, const api::RequestContext& ctx,
                              const std::string& id, std::string_view shared_code = kNotYours) {
  CVM_RETURN_IF_ERROR(CheckImageIdFormat(id));
  auto rows = tx.Query(
      "SELECT image_id, state, name, owner_uin, "
      "EXISTS (SELECT 1 FROM image_shares s WHERE s.image_id = i.image_id AND s.account_uin = ?) "
      "FROM images i WHERE image_id = ? AND deleted = 0 AND region IN ('', ?)",
      {ctx.owner_uin, id, ctx.region});
  if (!rows.ok()) return rows.status();
  const bool visible =
      !rows->empty() && (rows->front().IsNull(3) || rows->front().Str(3) == ctx.owner_uin ||
                         rows->front().Int(4) != 0);
  if (!visible) return Status(err::kInvalidImageIdNotFound, "The image " + id + " does not exist.");
  const auto& r = rows->front();
  if (r.IsNull(3)) {
    return Status(kNotYours, "The image " + id + " is a public image; it cannot be changed.");
  }
  if (r.Str(3) != ctx.owner_uin) {
    return Status(shared_code, "The image " + id +
                                   " is shared with you by another account; only its owner "
                                   "may change it.");
  }
  return OwnImage{r.Str(0), r.Str(1), r.Str(2)};
}

// An own image that is NORMAL: what sharing, exporting and copying to a region start from.
Result<OwnImage> LoadOwnNormalImage(store::Transaction& tx, const api::RequestContext& ctx,
                                    const std::string& id,
                                    std::string_view shared_code = kNotYours) {
  auto img = LoadOwnImage(tx, ctx, id, shared_code);
  if (img.ok() && img->state != "NORMAL") {
    return Status(err::kInvalidImageIdIncorrectState,
                  "The image " + id + " is " + img->state + ", not NORMAL.");
  }
  return img;
}

// Per region, as Tencent counts it.
Status CheckQuota(store::Transaction& tx, const std::string& owner, const std::string& region,
                  int quota) {
  auto rows =
      tx.Query("SELECT COUNT(*) FROM images WHERE owner_uin = ? AND deleted = 0 AND region = ?",
               {owner, region});
  if (!rows.ok()) return rows.status();
  if ((*rows)[0].Int(0) >= quota) {
    return Status(
        err::kImageQuotaLimitExceeded,
        "An account holds at most " + std::to_string(quota) + " custom images in a region.");
  }
  return Status::Ok();
}

// What every new custom image must pass inside its transaction: a free name and room under the
// quota; a DryRun stops here, having checked everything a real request would.
Status CheckNewImage(store::Transaction& tx, const api::RequestContext& ctx, const json& p,
                     const std::string& name, int quota) {
  CVM_RETURN_IF_ERROR(CheckNameFree(tx, ctx.owner_uin, ctx.region, name));
  CVM_RETURN_IF_ERROR(CheckQuota(tx, ctx.owner_uin, ctx.region, quota));
  if (p.value("DryRun", false)) {
    return Status(err::kDryRunOperation, "The request would have succeeded (DryRun).");
  }
  return Status::Ok();
}

// ImportImage's local ImageUrl: `file:///...` or a name, inside the caller's own directory
// <import_dir>/<AppId>/, as exports are <export_dir>/<AppId>/<bucket>/ (so the two may be one
// directory). Symlinks are resolved first, so none leads out of it. A name that is missing,
// another account's, outside or not a regular file gets one answer: it tells nothing about
// files beyond the caller's own.
Result<fs::path> ResolveImportFile(const Config& config, int64_t app_id, const std::string& url) {
  if (config.image_import_dir.empty()) {
    return Status(err::kRegionAbilityLimitUnsupportedToImportImage,
                  "Importing images is not configured here ([images] import_dir).");
  }
  const fs::path own = config.image_import_dir / std::to_string(app_id);
  fs::path requested;
  if (url.rfind("file://", 0) == 0) {
    requested = url.substr(7);
  } else if (url.find("://") != std::string::npos) {
    return Status(err::kInvalidParameterInvalidParameterUrlError,
                  "ImageUrl must be an http(s):// URL, a file:// URL or a file name in the "
                  "import directory.");
  } else {
    requested = own / url;
  }
  const Status not_found(err::kInvalidParameterInvalidParameterUrlError,
                         "ImageUrl names no file of this account in the import directory.");
  std::error_code ec;
  const fs::path dir = fs::canonical(own, ec);
  if (ec) return not_found;
  const fs::path file = fs::canonical(requested, ec);
  if (ec) return not_found;
  auto rel = file.lexically_relative(dir);
  if (rel.empty() || *rel.begin() == ".." || *rel.begin() == "." ||
      !fs::is_regular_file(file, ec)) {
    return not_found;
  }
  return file;
}

// One file name component of letters, digits, '.', '_' and '-' (no "." or ".."): what a
// bucket or file name prefix may be, so an export never writes outside its directory.
bool IsSafeName(const std::string& s) {
  if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

// A configured upload bucket named as COS names buckets, "<name>-<AppId>" (ten digits), belongs
// to that account; any other name is shared by every account of the deployment.
bool BucketServesAccount(std::string_view bucket, int64_t app_id) {
  constexpr size_t kAppIdDigits = 10;
  if (bucket.size() <= kAppIdDigits + 1 || bucket[bucket.size() - kAppIdDigits - 1] != '-') {
    return true;
  }
  const std::string_view suffix = bucket.substr(bucket.size() - kAppIdDigits);
  if (!std::all_of(suffix.begin(), suffix.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return true;
  }
  return suffix == std::to_string(app_id);
}

json SnapshotSet(const std::string& stored) {
  auto set = json::parse(stored, nullptr, false);
  return set.is_array() ? set : json::array();
}

// SnapshotSet as DescribeImages shows it: the system disk's snapshot (where the image has one)
// first, as Tencent lists it, then the data disks'.
json ShownSnapshotSet(const store::Row& r) {
  json out = json::array();
  if (!r.Str(14).empty()) {
    out.push_back(
        {{"SnapshotId", r.Str(14)}, {"DiskUsage", "SYSTEM_DISK"}, {"DiskSize", r.Int(6)}});
  }
  for (auto& s : SnapshotSet(r.Str(12))) out.push_back(std::move(s));
  return out;
}

// A failed image has no use but to tell why: Tencent's Image has no field for the reason, so
// it takes the place of ImageDescription (CREATEFAILED / IMPORTFAILED only).
std::string ShownDescription(const store::Row& r) {
  const std::string state = r.Str(8);
  const bool failed = state == "CREATEFAILED" || state == "IMPORTFAILED";
  if (!failed || r.Str(13).empty()) return r.Str(5);
  return state + ": " + r.Str(13);
}

// Bytes a file holds on disk (0 when absent): how far a copy into it has come.
int64_t AllocatedBytes(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_blocks) * 512 : 0;
}

// How far an image operation is, 0-100: the bytes its target (a `.tmp` file until placed)
// holds against what its source holds. An estimate (compression changes the ratio), kept
// below 100 until the operation ends.
int64_t TaskProgress(engine::Engine& engine, store::Database& db, const store::Row& op,
                     const json& args) {
  const std::string state = op.Str(3);
  if (state == "SUCCESS") return 100;
  if (state != "RUNNING") return 0;
  const std::string action = op.Str(1), image_id = op.Str(6);
  int64_t source = 0;
  fs::path target = engine.PrivateImagePath(image_id);
  if (action == engine::op::kExportImage) {
    // From one of the data-disk snapshots the image lists, or from the image's own file.
    if (args.contains("SnapshotId")) {
      source = AllocatedBytes(engine.SnapshotPath(args.value("SnapshotId", "")));
    } else if (auto file = store::ImageFilePath(db, image_id); file.ok() && file->has_value()) {
      source = AllocatedBytes(**file);
    }
    target = args.value("Target", "");
    if (drivers::http::IsHttpUrl(target)) {
      // Converted first (the first half), then uploaded (the second).
      if (auto up = engine.UploadProgress(op.Str(10)); up && up->second > 0) {
        return std::clamp<int64_t>(50 + up->first * 50 / up->second, 50, 99);
      }
      if (source <= 0) return 0;
      const fs::path staging = engine.ExportStagingPath(op.Str(10));
      const int64_t staged = AllocatedBytes(engine::TmpPath(staging)) + AllocatedBytes(staging);
      return std::clamp<int64_t>(staged * 50 / source, 0, 49);
    }
  } else if (action == engine::op::kCreateImage && args.contains("SnapshotId")) {
    source = AllocatedBytes(engine.SnapshotPath(args.value("SnapshotId", "")));
  } else if (action == engine::op::kImportImage) {
    source = AllocatedBytes(args.value("File", ""));
  } else if (action == engine::op::kSyncImage) {
    source = AllocatedBytes(engine.PrivateImagePath(args.value("SourceImageId", "")));
  } else {
    // The system disk is an overlay: its image holds the rest of what is copied.
    const std::string disk_id = args.value("DiskId", "");
    source = AllocatedBytes(engine.DiskPath(disk_id));
    auto img = db.Query(
        "SELECT i.file_path FROM disks d JOIN images i ON i.image_id = d.image_id "
        "WHERE d.disk_id = ?",
        {disk_id});
    if (img.ok() && !img->empty()) source += AllocatedBytes(img->front().Str(0));
  }
  if (source <= 0) return 0;
  // An export builds its copy under its operation's own name (one file with the target once
  // linked); the others under the target's `.tmp` name.
  const fs::path partial = action == engine::op::kExportImage
                               ? engine::OperationTmpPath(target, op.Str(10))
                               : engine::TmpPath(target);
  const int64_t done = std::max(AllocatedBytes(partial), AllocatedBytes(target));
  return std::clamp<int64_t>(done * 100 / source, 0, 99);
}

// The tags of the image's TagSpecification, written with the image it names.
Status TagNewImage(store::Transaction& tx, const api::RequestContext& ctx, const json& p,
                   const std::string& image_id) {
  auto tags = TagSpecificationTags(p, "image");
  if (!tags.ok()) return tags.status();
  return store::SetTags(tx, ctx.owner_uin, image_id, *tags,
                        err::kInvalidParameterValueTagQuotaLimitExceeded);
}

json ImageJson(const store::Row& r, json tags) {
  const bool official = r.IsNull(11);
  return json{{"ImageId", r.Str(0)},
              {"OsName", r.Str(1)},
              {"ImageType", r.Str(2)},
              {"CreatedTime", FormatIsoTime(r.Int(3))},
              {"ImageName", r.Str(4)},
              {"ImageDescription", ShownDescription(r)},
              {"ImageSize", r.Int(6)},
              {"Architecture", r.Str(7)},
              {"ImageState", r.Str(8)},
              {"Platform", r.Str(9)},
              {"ImageCreator", official ? "opencvm" : r.Str(11)},
              {"ImageSource", r.Str(10)},
              {"SyncPercent", r.Str(8) == "SYNCING" ? 0 : 100},
              {"IsSupportCloudinit", true},
              {"SnapshotSet", ShownSnapshotSet(r)},
              {"Tags", std::move(tags)},
              {"LicenseType", "TencentCloud"},
              {"ImageFamily", ""},
              {"ImageDeprecated", false}};
}

// CreateImage from SnapshotIds: one system-disk snapshot (the image's file, a flattened copy of
// it) and any data-disk snapshots (listed in the image's SnapshotSet), all the caller's, NORMAL
// and in the request's region. The copy is the image's own file: deleting the snapshots later
// leaves the image whole; while it is being made, DeleteSnapshots refuses its system snapshot.
Result<json> CreateImageFromSnapshots(const api::RequestContext& ctx, const json& p,
                                      store::Database& db, engine::Engine& engine,
                                      const Config& config) {
  if (p.contains("DataDiskIds") && !p["DataDiskIds"].empty()) {
    return Status(err::kInvalidParameterCombination,
                  "DataDiskIds goes with InstanceId; with SnapshotIds, name data-disk snapshots.");
  }
  std::vector<std::string> snapshot_ids;
  for (const auto& v : p["SnapshotIds"]) {
    const std::string id = v.get<std::string>();
    if (!IsWellFormedId("snap", id)) {
      return Status(err::kInvalidParameterValueSnapshotIdMalformed,
                    "The snapshot id `" + id.substr(0, 32) + "` is malformed.");
    }
    if (std::find(snapshot_ids.begin(), snapshot_ids.end(), id) == snapshot_ids.end()) {
      snapshot_ids.push_back(id);
    }
  }
  if (snapshot_ids.size() > static_cast<size_t>(config.max_data_disks_per_instance) + 1) {
    return Status(err::kInvalidParameterValue,
                  "SnapshotIds holds at most one snapshot per disk of an instance.");
  }
  const std::string name = p.value("ImageName", "");
  const std::string image_id = NewResourceId("img");
  std::string op_id;
  Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
    std::string system_id, system_disk;
    int64_t size_gb = 0;
    json snapshot_set = json::array();
    for (const auto& id : snapshot_ids) {
      auto rows = tx.Query(
          "SELECT snapshot_id, disk_id, disk_usage, disk_size_gb, zone, state FROM snapshots "
          "WHERE snapshot_id = ? AND owner_uin = ? AND region = ? AND deleted = 0",
          {id, ctx.owner_uin, ctx.region});
      if (!rows.ok()) return rows.status();
      if (rows->empty()) {
        return Status(err::kInvalidParameterSnapshotNotFound,
                      "The snapshot " + id + " does not exist.");
      }
      const auto& r = rows->front();
      if (r.Str(5) != "NORMAL") {
        return Status(err::kResourceUnavailableSnapshotCreating,
                      "The snapshot " + id + " is " + r.Str(5) + ", not NORMAL.");
      }
      if (r.Str(2) == "SYSTEM_DISK") {
        if (!system_id.empty()) {
          return Status(err::kInvalidParameterDuplicateSystemSnapshots,
                        "SnapshotIds holds two system-disk snapshots (" + system_id + ", " + id +
                            "); an image has one system disk.");
        }
        system_id = id;
        system_disk = r.Str(1);
        size_gb = r.Int(3);
      } else {
        snapshot_set.push_back(
            {{"SnapshotId", id}, {"DiskUsage", "DATA_DISK"}, {"DiskSize", r.Int(3)}});
      }
    }
    if (system_id.empty()) {
      return Status(err::kInvalidParameterSystemSnapshotNotFound,
                    "SnapshotIds holds no system-disk snapshot; an image needs one.");
    }
    // The system described as the image its disk was launched from (kept after a delete).
    auto source = tx.Query(
        "SELECT i.owner_uin, i.os_name, i.platform, i.architecture, i.default_user, "
        "i.min_memory_mib, i.image_id FROM disks d JOIN images i ON i.image_id = d.image_id "
        "WHERE d.disk_id = ?",
        {system_disk});
    if (!source.ok()) return source.status();
    std::string os_name = "Other Linux", platform = "Other Linux", arch = "x86_64", user = "root";
    int64_t min_memory = 128;
    if (!source->empty()) {
      const auto& src = source->front();
      if (!src.IsNull(0) && src.Str(0) != ctx.owner_uin) {
        return Status(err::kInvalidParameterValueInvalidImageIdIsShared,
                      "The snapshot " + system_id +
                          " is of a disk running an image shared with "
                          "you (" +
                          src.Str(6) + "); it cannot be made into an image.");
      }
      os_name = src.Str(1), platform = src.Str(2), arch = src.Str(3), user = src.Str(4);
      min_memory = src.Int(5);
    }
    CVM_RETURN_IF_ERROR(CheckNewImage(tx, ctx, p, name, config.image_quota));
    CVM_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO images(image_id, owner_uin, image_type, image_source, name, description, "
        "os_name, platform, architecture, state, size_gb, virtual_size, file_path, "
        "default_user, min_memory_mib, created_at, source_id, snapshot_set, region, "
        "system_snapshot_id) "
        "VALUES (?,?, 'PRIVATE_IMAGE', 'CREATE_IMAGE', ?,?,?,?,?, 'CREATING', ?,?,?,?,?,?,?,?,?,?)",
        {image_id, ctx.owner_uin, name, p.value("ImageDescription", ""), os_name, platform, arch,
         size_gb, size_gb << 30, engine.PrivateImagePath(image_id).string(), user, min_memory,
         NowUnix(), system_id, snapshot_set.dump(), ctx.region, system_id}));
    CVM_RETURN_IF_ERROR(TagNewImage(tx, ctx, p, image_id));
    auto op = engine::RecordOperation(tx, ctx, engine::op::kCreateImage, image_id,
                                      {{"SnapshotId", system_id}});
    if (!op.ok()) return op.status();
    op_id = *op;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  engine.Submit(op_id);
  return json{{"ImageId", image_id}};
}

}  // namespace

void RegisterCvmImageHandlers(api::Router& router, ServiceDeps& deps) {
  auto& db = deps.db;
  auto& engine = deps.engine;
  const Config& config = deps.config;

  router.Register("DescribeImages", [&db](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto ids = ImageIdsParam(p);
    if (!ids.ok()) return ids.status();
    std::set<std::string> wanted(ids->begin(), ids->end());
    auto filters =
        Filters::Parse(p, {"image-id", "image-type", "image-name", "platform", "image-state"});
    if (!filters.ok()) return filters.status();
    if (!wanted.empty() && !filters->empty()) {
      return Status(err::kInvalidParameterInvalidParameterCoexistImageIdsFilters,
                    "ImageIds and Filters cannot be used together.");
    }
    auto paging = Paging::Parse(p, ctx.visible, iam::kind::kImage);
    if (!paging.ok()) return paging.status();
    // Public images, the caller's own, and those shared with it (shown as SHARED_IMAGE).
    auto rows = db.Query(
        "SELECT image_id, os_name, CASE WHEN owner_uin IS NULL OR owner_uin = ?1 THEN image_type "
        "ELSE 'SHARED_IMAGE' END, created_at, name, description, size_gb, architecture, state, "
        "platform, image_source, owner_uin, snapshot_set, state_reason, system_snapshot_id "
        "FROM images i WHERE "
        "deleted = 0 AND region IN ('', ?2) AND "
        "(owner_uin IS NULL "
        "OR owner_uin = ?1 OR EXISTS (SELECT 1 FROM image_shares s WHERE s.image_id = i.image_id "
        "AND s.account_uin = ?1)) ORDER BY image_type, name, image_id",
        {ctx.owner_uin, ctx.region});
    if (!rows.ok()) return rows.status();
    auto contains_ci = [](const std::vector<std::string>* vals, const std::string& s) {
      if (!vals) return true;
      auto lower = [](std::string x) {
        for (auto& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return x;
      };
      for (const auto& v : *vals) {
        if (lower(s).find(lower(v)) != std::string::npos) return true;
      }
      return false;
    };
    std::vector<const store::Row*> page;
    for (const auto& r : *rows) {
      if (!wanted.empty() && !wanted.count(r.Str(0))) continue;
      if (!filters->Matches("image-id", r.Str(0)) || !filters->Matches("image-type", r.Str(2)) ||
          !filters->Matches("image-state", r.Str(8)) ||
          !contains_ci(filters->Values("image-name"), r.Str(4)) ||
          !contains_ci(filters->Values("platform"), r.Str(9))) {
        continue;
      }
      if (paging->Take(r.Str(0))) page.push_back(&r);
    }
    // Only the owner sees an image's tags; a shared or public image shows none.
    auto tags = TagListsOf(db, page);
    json set = json::array();
    for (const auto* r : page) {
      set.push_back(ImageJson(*r, r->Str(11) == ctx.owner_uin ? tags[r->Str(0)] : json::array()));
    }
    return json{{"TotalCount", paging->total()}, {"ImageSet", std::move(set)}};
  });

  router.Register("CreateImage", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    CVM_RETURN_IF_ERROR(CheckNameAndDescription(p, true));
    const std::string instance_id = p.value("InstanceId", "");
    const bool from_snapshots = p.contains("SnapshotIds") && !p["SnapshotIds"].empty();
    if (instance_id.empty() == !from_snapshots) {
      return Status(err::kInvalidParameterSpecifyOneParameter,
                    "Give exactly one of InstanceId and SnapshotIds.");
    }
    if (from_snapshots) return CreateImageFromSnapshots(ctx, p, db, engine, config);
    auto data_disk_ids = DiskIdsParam(p, "DataDiskIds", config.max_data_disks_per_instance);
    if (!data_disk_ids.ok()) return data_disk_ids.status();
    // ForcePoweroff is a string in the API; SDK users also send a bool.
    const auto& fp = p.contains("ForcePoweroff") ? p["ForcePoweroff"] : json("false");
    const bool force = fp.is_boolean() ? fp.get<bool>() : fp.get<std::string>() == "true";
    const std::string name = p.value("ImageName", "");
    const std::string image_id = NewResourceId("img");
    std::vector<std::string> op_ids;
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      auto insts = LoadOwned(tx, ctx, {instance_id});
      if (!insts.ok()) return insts.status();
      const auto& inst = insts->front();
      if (inst.state == "RUNNING" && !force) {
        return Status(err::kUnsupportedOperationInstanceStateRunning,
                      "Instance " + instance_id +
                          " is running; stop it or set ForcePoweroff to capture it as it runs.");
      }
      if (inst.state != "RUNNING" && inst.state != "STOPPED") {
        return Status(WrongStateCode(inst.state),
                      "Instance " + instance_id + " is " + inst.state + ".");
      }
      CVM_RETURN_IF_ERROR(CheckNotBusy(inst));
      auto source = tx.Query(
          "SELECT owner_uin, os_name, platform, architecture, default_user, min_memory_mib "
          "FROM images WHERE image_id = ?",
          {inst.image_id});
      if (!source.ok()) return source.status();
      if (source->empty()) return Status(err::kInternalError, "the instance's image is unknown");
      const auto& src = source->front();
      // A shared image may only be launched: no copy of it escapes to the receiver.
      if (!src.IsNull(0) && src.Str(0) != ctx.owner_uin) {
        return Status(err::kInvalidParameterValueInvalidImageIdIsShared,
                      "Instance " + instance_id + " runs an image shared with you (" +
                          inst.image_id + "); it cannot be captured.");
      }
      auto disk = tx.Query(
          "SELECT disk_id FROM disks WHERE instance_id = ? AND usage = 'SYSTEM_DISK' "
          "AND deleted = 0",
          {instance_id});
      if (!disk.ok()) return disk.status();
      if (disk->empty()) return Status(err::kInternalError, "the instance has no system disk");
      CVM_RETURN_IF_ERROR(CheckNewImage(tx, ctx, p, name, config.image_quota));
      auto system_disk = store::LoadDisk(tx, disk->front().Str(0));
      if (!system_disk.ok()) return system_disk.status();
      if (!system_disk->has_value()) return Status(err::kInternalError, "the system disk vanished");
      const std::string disk_id = (*system_disk)->disk_id;
      const int64_t size_gb = (*system_disk)->size_gb;
      // The system disk's part is a snapshot too, as on Tencent Cloud: the image's own file,
      // linked under the snapshot's name once made, so it costs no second copy.
      const std::string system_snapshot_id = NewResourceId("snap");
      CVM_RETURN_IF_ERROR(RecordSnapshotRow(tx, ctx, engine, **system_disk, system_snapshot_id,
                                            "image " + image_id));
      // Data disks go with the image as snapshots, taken like CreateSnapshot's.
      auto data_disks = LoadOwnedDisks(tx, ctx, *data_disk_ids);
      if (!data_disks.ok()) return data_disks.status();
      json snapshot_set = json::array();
      for (const auto& dd : *data_disks) {
        if (dd.instance_id != instance_id || dd.usage != "DATA_DISK") {
          return Status(
              err::kInvalidParameterValue,
              "DataDiskIds: " + dd.disk_id + " is not a data disk of " + instance_id + ".");
        }
        const std::string snapshot_id = NewResourceId("snap");
        auto op = RecordSnapshot(tx, ctx, engine, dd, snapshot_id, "image " + image_id);
        if (!op.ok()) return op.status();
        op_ids.push_back(*op);
        snapshot_set.push_back(
            {{"SnapshotId", snapshot_id}, {"DiskUsage", "DATA_DISK"}, {"DiskSize", dd.size_gb}});
      }
      CVM_RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO images(image_id, owner_uin, image_type, image_source, name, description, "
          "os_name, platform, architecture, state, size_gb, virtual_size, file_path, "
          "default_user, min_memory_mib, created_at, source_id, snapshot_set, region, "
          "system_snapshot_id) "
          "VALUES (?,?, 'PRIVATE_IMAGE', 'CREATE_IMAGE', ?,?,?,?,?, 'CREATING', "
          "?,?,?,?,?,?,?,?,?,?)",
          {image_id, ctx.owner_uin, name, p.value("ImageDescription", ""), src.Str(1), src.Str(2),
           src.Str(3), size_gb, size_gb << 30, engine.PrivateImagePath(image_id).string(),
           src.Str(4), src.Int(5), NowUnix(), instance_id, snapshot_set.dump(), ctx.region,
           system_snapshot_id}));
      CVM_RETURN_IF_ERROR(TagNewImage(tx, ctx, p, image_id));
      auto op = engine::RecordOperation(tx, ctx, engine::op::kCreateImage, image_id,
                                        {{"InstanceId", instance_id},
                                         {"DiskId", disk_id},
                                         {"SystemSnapshotId", system_snapshot_id}});
      if (!op.ok()) return op.status();
      op_ids.push_back(*op);
      return Status::Ok();
    });
    if (!st.ok()) return st;
    for (const auto& id : op_ids) engine.Submit(id);
    return json{{"ImageId", image_id}};
  });

  router.Register("ImportImage", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    CVM_RETURN_IF_ERROR(CheckNameAndDescription(p, true));
    for (const char* required : {"Architecture", "OsType", "OsVersion", "ImageUrl"}) {
      if (p.value(required, "").empty()) {
        return Status(err::kMissingParameter, std::string(required) + " is required.");
      }
    }
    const std::string arch = p.value("Architecture", "");
    if (arch != "x86_64") {
      return Status(err::kInvalidParameterValue,
                    "Architecture `" + arch.substr(0, 16) + "` is not offered; guests are x86_64.");
    }
    CVM_RETURN_IF_ERROR(CheckImportableOs(p.value("OsType", ""), p.value("OsVersion", "")));
    const std::string boot = p.value("BootMode", "Legacy BIOS");
    if (boot != "Legacy BIOS") {
      return Status(err::kUnsupportedOperation, "Guests boot with Legacy BIOS here, not UEFI.");
    }
    if (p.contains("ImportImageDataDiskList") && !p["ImportImageDataDiskList"].empty()) {
      return Status(err::kUnsupportedOperation, "ImportImageDataDiskList is not offered.");
    }
    // The URL or file name is checked now; what it holds is read by the engine's operation
    // (qemu-img may take a minute, which an API thread never waits for): a file that is not one
    // sane disk image ends the image IMPORTFAILED with the reason. Sizes are known when done.
    const std::string url = p.value("ImageUrl", "");
    const bool download = drivers::http::IsHttpUrl(url);
    std::string source;
    if (download) {
      CVM_RETURN_IF_ERROR(drivers::http::CheckDownloadUrl(url, config.image_url_hosts));
      source = url;
    } else {
      auto file = ResolveImportFile(config, ctx.owner_app_id, url);
      if (!file.ok()) return file.status();
      source = file->string();
    }
    const std::string name = p.value("ImageName", "");
    const std::string os_type = p.value("OsType", "");
    const std::string image_id = NewResourceId("img");
    const int64_t size_gb = 1, virtual_size = 0;
    std::string op_id;
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      CVM_RETURN_IF_ERROR(CheckNewImage(tx, ctx, p, name, config.image_quota));
      CVM_RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO images(image_id, owner_uin, image_type, image_source, name, description, "
          "os_name, platform, architecture, state, size_gb, virtual_size, file_path, "
          "created_at, source_id, region) "
          "VALUES (?,?, 'PRIVATE_IMAGE', 'EXTERNAL_IMPORT', ?,?,?,?,?, 'IMPORTING', ?,?,?,?,?,?)",
          {image_id, ctx.owner_uin, name, p.value("ImageDescription", ""),
           os_type + " " + p.value("OsVersion", ""), os_type, arch, size_gb, virtual_size,
           engine.PrivateImagePath(image_id).string(), NowUnix(), source, ctx.region}));
      CVM_RETURN_IF_ERROR(TagNewImage(tx, ctx, p, image_id));
      auto op = engine::RecordOperation(tx, ctx, engine::op::kImportImage, image_id,
                                        {{download ? "Url" : "File", source}});
      if (!op.ok()) return op.status();
      op_id = *op;
      return Status::Ok();
    });
    if (!st.ok()) return st;
    engine.Submit(op_id);
    return json{{"ImageId", image_id}};
  });

  router.Register("DeleteImages", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto ids = ImageIdsParam(p);
    if (!ids.ok()) return ids.status();
    if (ids->empty()) return Status(err::kMissingParameter, "ImageIds is empty.");
    std::vector<std::string> bound_snapshots;
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      for (const auto& id : *ids) {
        auto img = LoadOwnImage(tx, ctx, id);
        if (!img.ok()) return img.status();
        if (img->state == "CREATING" || img->state == "IMPORTING") {
          return Status(err::kInvalidImageIdIncorrectState,
                        "The image " + id + " is " + img->state + "; wait until it is done.");
        }
        // Work that still reads the file: an export, a copy into another region.
        auto busy = [&](const char* sql, const std::string& what) -> Status {
          auto rows = tx.Query(sql, {id});
          if (!rows.ok()) return rows.status();
          if ((*rows)[0].Int(0) == 0) return Status::Ok();
          return Status(err::kInvalidImageIdIncorrectState,
                        "The image " + id + " is " + what + "; wait until it is done.");
        };
        CVM_RETURN_IF_ERROR(
            busy("SELECT COUNT(*) FROM operations WHERE resource_id = ? AND state IN "
                 "('PENDING','RUNNING')",
                 "being exported"));
        CVM_RETURN_IF_ERROR(busy(
            "SELECT COUNT(*) FROM images WHERE source_id = ? AND state = 'SYNCING' AND deleted = 0",
            "being copied to another region"));
        auto shares = tx.Query("SELECT COUNT(*) FROM image_shares WHERE image_id = ?", {id});
        if (!shares.ok()) return shares.status();
        if ((*shares)[0].Int(0) > 0) {
          return Status(err::kInvalidImageIdInShared, "The image " + id +
                                                          " is shared with other accounts; cancel "
                                                          "the shares first.");
        }
      }
      // DeleteBindedSnap: the snapshots the images list go with them, checked as DeleteSnapshots
      // checks them (one the caller deleted already is simply gone).
      if (p.value("DeleteBindedSnap", false)) {
        for (const auto& id : *ids) {
          auto row = tx.Query(
              "SELECT system_snapshot_id, snapshot_set FROM images WHERE image_id = ?", {id});
          if (!row.ok()) return row.status();
          std::vector<std::string> listed;
          if (!row->front().Str(0).empty()) listed.push_back(row->front().Str(0));
          for (const auto& s : SnapshotSet(row->front().Str(1))) {
            listed.push_back(s.value("SnapshotId", ""));
          }
          for (const auto& snap : listed) {
            auto alive = tx.Query(
                "SELECT 1 FROM snapshots WHERE snapshot_id = ? AND owner_uin = ? AND deleted = 0",
                {snap, ctx.owner_uin});
            if (!alive.ok()) return alive.status();
            if (!alive->empty()) bound_snapshots.push_back(snap);
          }
        }
        CVM_RETURN_IF_ERROR(DeleteOwnedSnapshots(tx, ctx, bound_snapshots));
      }
      if (p.value("DryRun", false)) {
        return Status(err::kDryRunOperation, "The request would have succeeded (DryRun).");
      }
      for (const auto& id : *ids) {
        CVM_RETURN_IF_ERROR(tx.Exec("UPDATE images SET deleted = 1 WHERE image_id = ?", {id}));
      }
      return Status::Ok();
    });
    if (!st.ok()) return st;
    std::error_code ec;
    for (const auto& snap : bound_snapshots) std::filesystem::remove(engine.SnapshotPath(snap), ec);
    // Files no system disk uses go now; the others with their last dependant.
    engine.FreeUnusedImageFiles();
    return json::object();
  });

  router.Register(
      "ModifyImageAttribute", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        CVM_RETURN_IF_ERROR(CheckNameAndDescription(p, false));
        if (p.contains("ImageFamily") || p.contains("ImageDeprecated")) {
          return Status(err::kUnsupportedOperation,
                        "ImageFamily and ImageDeprecated are not offered.");
        }
        const std::string id = p.value("ImageId", "");
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          auto img =
              LoadOwnImage(tx, ctx, id, err::kUnsupportedOperationSharedImageModifyUnsupported);
          if (!img.ok()) return img.status();
          if (p.contains("ImageName")) {
            CVM_RETURN_IF_ERROR(
                CheckNameFree(tx, ctx.owner_uin, ctx.region, p.value("ImageName", ""), id));
            CVM_RETURN_IF_ERROR(tx.Exec("UPDATE images SET name = ? WHERE image_id = ?",
                                        {p.value("ImageName", ""), id}));
          }
          if (p.contains("ImageDescription")) {
            CVM_RETURN_IF_ERROR(tx.Exec("UPDATE images SET description = ? WHERE image_id = ?",
                                        {p.value("ImageDescription", ""), id}));
          }
          return Status::Ok();
        });
        if (!st.ok()) return st;
        return json::object();
      });

  router.Register(
      "ModifyImageSharePermission", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        const std::string id = p.value("ImageId", "");
        const std::string permission = p.value("Permission", "");
        if (permission != "SHARE" && permission != "CANCEL") {
          return Status(err::kInvalidParameterValue, "Permission must be SHARE or CANCEL.");
        }
        if (!p.contains("AccountIds") || p["AccountIds"].empty()) {
          return Status(err::kMissingParameter, "AccountIds is required.");
        }
        std::set<std::string> accounts;
        for (const auto& v : p["AccountIds"]) accounts.insert(v.get<std::string>());
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          auto img = LoadOwnNormalImage(tx, ctx, id);
          if (!img.ok()) return img.status();
          for (const auto& uin : accounts) {
            if (uin == ctx.owner_uin) {
              return Status(err::kFailedOperationAccountIsYourSelf,
                            "The image is yours; share it with other accounts.");
            }
            auto known = tx.Query("SELECT COUNT(*) FROM accounts WHERE uin = ?", {uin});
            if (!known.ok()) return known.status();
            if ((*known)[0].Int(0) == 0) {
              return Status(err::kInvalidAccountIdNotFound,
                            "There is no root account `" + uin.substr(0, 32) + "`.");
            }
            auto shared =
                tx.Query("SELECT COUNT(*) FROM image_shares WHERE image_id = ? AND account_uin = ?",
                         {id, uin});
            if (!shared.ok()) return shared.status();
            if (permission == "SHARE" && (*shared)[0].Int(0) > 0) {
              return Status(err::kFailedOperationAccountAlreadyExists,
                            "The image is already shared with " + uin + ".");
            }
          }
          for (const auto& uin : accounts) {
            CVM_RETURN_IF_ERROR(
                permission == "SHARE"
                    ? tx.Exec("INSERT INTO image_shares(image_id, account_uin, created_at) "
                              "VALUES (?,?,?)",
                              {id, uin, NowUnix()})
                    : tx.Exec("DELETE FROM image_shares WHERE image_id = ? AND account_uin = ?",
                              {id, uin}));
          }
          auto count = tx.Query("SELECT COUNT(*) FROM image_shares WHERE image_id = ?", {id});
          if (!count.ok()) return count.status();
          if (static_cast<size_t>((*count)[0].Int(0)) > kMaxSharesPerImage) {
            return Status(err::kOverQuota, "An image is shared with at most 500 accounts.");
          }
          return Status::Ok();
        });
        if (!st.ok()) return st;
        return json::object();
      });

  router.Register(
      "DescribeImageSharePermission", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        const std::string id = p.value("ImageId", "");
        json set = json::array();
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          auto img = LoadOwnImage(tx, ctx, id);
          if (!img.ok()) return img.status();
          auto rows = tx.Query(
              "SELECT account_uin, created_at FROM image_shares WHERE image_id = ? "
              "ORDER BY created_at, account_uin",
              {id});
          if (!rows.ok()) return rows.status();
          for (const auto& r : *rows) {
            set.push_back({{"AccountId", r.Str(0)}, {"CreatedTime", FormatIsoTime(r.Int(1))}});
          }
          return Status::Ok();
        });
        if (!st.ok()) return st;
        return json{{"SharePermissionSet", std::move(set)}};
      });

  router.Register("ExportImages", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    // A bucket the configuration maps to a URL is uploaded to (PUT <url>/<prefix>.<format>);
    // any other is a directory of the caller's own part of the export directory.
    const std::string bucket = p.value("BucketName", "");
    const auto upload = config.image_export_targets.find(bucket);
    const bool to_url = upload != config.image_export_targets.end();
    if (to_url && !BucketServesAccount(bucket, ctx.owner_app_id)) {
      return Status(err::kInvalidParameterValueBucketNotFound,
                    "The bucket " + bucket + " does not exist for this account.");
    }
    if (!to_url && config.image_export_dir.empty()) {
      return Status(err::kUnsupportedOperation,
                    "Exporting images is not configured here ([images] export_dir or "
                    "export_targets).");
    }
    if (!to_url && !IsSafeName(bucket)) {
      return Status(err::kInvalidParameterValue,
                    "BucketName names a directory in the export directory: letters, digits, "
                    "'.', '_' and '-'.");
    }
    auto ids = ImageIdsParam(p);
    if (!ids.ok()) return ids.status();
    if (ids->empty()) return Status(err::kMissingParameter, "ImageIds is required.");
    // Tencent's formats (RAW by default) and the qemu-img format each is written in.
    static const std::map<std::string, std::string, std::less<>> kFormats = {
        {"raw", "raw"}, {"qcow2", "qcow2"}, {"vhd", "vpc"}, {"vmdk", "vmdk"}};
    std::string format = p.value("ExportFormat", "RAW");
    for (auto& c : format) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto qemu_format = kFormats.find(format);
    if (qemu_format == kFormats.end()) {
      return Status(err::kInvalidParameterValue, "ExportFormat is RAW, QCOW2, VHD or VMDK.");
    }
    std::vector<std::string> names = *ids;
    if (p.contains("FileNamePrefixList")) {
      if (p["FileNamePrefixList"].size() != ids->size()) {
        return Status(err::kInvalidParameterValueInvalidFileNamePrefixList,
                      "FileNamePrefixList must hold one name per image id.");
      }
      names = p["FileNamePrefixList"].get<std::vector<std::string>>();
      for (const auto& n : names) {
        if (!IsSafeName(n)) {
          return Status(err::kInvalidParameterValueInvalidFileNamePrefixList,
                        "A file name prefix is letters, digits, '.', '_' and '-'.");
        }
      }
    }
    const fs::path dir =
        to_url ? fs::path() : config.image_export_dir / std::to_string(ctx.owner_app_id) / bucket;
    // The system disk, and (unless OnlyExportRootDisk) each data-disk snapshot the image lists:
    // a file and an operation each.
    const bool only_root = p.value("OnlyExportRootDisk", false);
    const bool dry_run = p.value("DryRun", false);
    std::vector<std::string> paths, op_ids;
    uint64_t task_id = 0;
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      auto add = [&](const std::string& image_id, const std::string& file, json args) -> Status {
        std::string target = to_url ? upload->second + "/" + file : (dir / file).string();
        std::error_code ec;
        if (std::find(paths.begin(), paths.end(), target) != paths.end() ||
            (!to_url && fs::exists(target, ec))) {
          return Status(err::kInvalidParameterValue,
                        "The export target " + file + " already exists.");
        }
        // The claim on a target: an unfinished export to it (a retry of this request too).
        auto claimed = engine::TargetClaimed(tx, engine::op::kExportImage, target);
        if (!claimed.ok()) return claimed.status();
        if (*claimed) {
          return Status(err::kResourceInUse,
                        "The export target " + file + " is being written by another export.");
        }
        paths.push_back(target);
        if (dry_run) return Status::Ok();
        args["Target"] = target;
        args["Format"] = qemu_format->second;
        auto op = engine::RecordOperation(tx, ctx, engine::op::kExportImage, image_id, args);
        if (!op.ok()) return op.status();
        op_ids.push_back(*op);
        return Status::Ok();
      };
      for (size_t i = 0; i < ids->size(); ++i) {
        const std::string& id = (*ids)[i];
        auto img =
            LoadOwnNormalImage(tx, ctx, id, err::kUnsupportedOperationSharedImageExportUnsupported);
        if (!img.ok() && img.status().code() == kNotYours) {
          return Status(err::kUnsupportedOperationPublicImageExportUnsupported,
                        "The image " + id + " is a public image; it cannot be exported.");
        }
        if (!img.ok()) return img.status();
        CVM_RETURN_IF_ERROR(add(id, names[i] + "." + format, json::object()));
        if (only_root) continue;
        auto row = tx.Query("SELECT snapshot_set FROM images WHERE image_id = ?", {id});
        if (!row.ok()) return row.status();
        for (const auto& snap : SnapshotSet(row->front().Str(0))) {
          const std::string snap_id = snap.value("SnapshotId", "");
          auto alive = tx.Query(
              "SELECT 1 FROM snapshots WHERE snapshot_id = ? AND owner_uin = ? AND region = ? "
              "AND deleted = 0",
              {snap_id, ctx.owner_uin, ctx.region});
          if (!alive.ok()) return alive.status();
          if (alive->empty()) {
            return Status(err::kInvalidParameterSnapshotNotFound,
                          "The data-disk snapshot " + snap_id + " of image " + id +
                              " is gone; OnlyExportRootDisk exports the system disk alone.");
          }
          CVM_RETURN_IF_ERROR(
              add(id, names[i] + "_data_" + snap_id + "." + format, json{{"SnapshotId", snap_id}}));
        }
      }
      if (dry_run) {
        return Status(err::kDryRunOperation, "The request would have succeeded (DryRun).");
      }
      auto row = tx.Query("SELECT rowid FROM operations WHERE operation_id = ?", {op_ids.front()});
      if (!row.ok()) return row.status();
      task_id = static_cast<uint64_t>((*row)[0].Int(0));
      return Status::Ok();
    });
    if (!st.ok()) return st;
    std::error_code ec;
    if (!to_url) fs::create_directories(dir, ec);
    for (const auto& id : op_ids) engine.Submit(id);
    return json{{"TaskId", task_id}, {"CosPaths", paths}};
  });

  // A copy of one of the caller's images in other regions of this deployment: each a new
  // image (SYNCING, then NORMAL) whose file the engine copies from the source's.
  router.Register("SyncImages", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto ids = ImageIdsParam(p);
    if (!ids.ok()) return ids.status();
    if (ids->size() != 1) {
      return Status(err::kInvalidParameterValue, "SyncImages copies one image per call.");
    }
    CVM_RETURN_IF_ERROR(CheckNameAndDescription(p, false));
    std::vector<std::string> regions;
    for (const auto& v : p.value("DestinationRegions", json::array())) {
      const std::string r = v.get<std::string>();
      if (!config.FindRegion(r)) {
        return Status(err::kInvalidRegionNotFound,
                      "The region `" + r.substr(0, 32) + "` is not configured here.");
      }
      if (r == ctx.region) {
        return Status(err::kInvalidRegionUnavailable,
                      "The image is already in " + r + "; name other regions.");
      }
      if (std::find(regions.begin(), regions.end(), r) == regions.end()) regions.push_back(r);
    }
    if (regions.empty()) return Status(err::kMissingParameter, "DestinationRegions is empty.");
    if (p.value("Encrypt", false)) {
      return Status(err::kUnsupportedOperation, "Encrypted images are not offered.");
    }
    const std::string& id = ids->front();
    json set = json::array();
    std::vector<std::string> op_ids;
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      auto img = LoadOwnNormalImage(tx, ctx, id);
      if (!img.ok()) return img.status();
      const std::string name = p.value("ImageName", img->name);
      for (const auto& region : regions) {
        CVM_RETURN_IF_ERROR(CheckNameFree(tx, ctx.owner_uin, region, name));
        CVM_RETURN_IF_ERROR(CheckQuota(tx, ctx.owner_uin, region, config.image_quota));
      }
      if (p.value("DryRun", false)) {
        return Status(err::kDryRunOperation, "The request would have succeeded (DryRun).");
      }
      for (const auto& region : regions) {
        const std::string copy_id = NewResourceId("img");
        CVM_RETURN_IF_ERROR(tx.Exec(
            "INSERT INTO images(image_id, owner_uin, image_type, image_source, name, description, "
            "os_name, platform, architecture, state, size_gb, virtual_size, file_path, "
            "default_user, min_memory_mib, created_at, source_id, region) "
            "SELECT ?, owner_uin, image_type, image_source, ?, description, os_name, platform, "
            "architecture, 'SYNCING', size_gb, virtual_size, ?, default_user, min_memory_mib, ?, "
            "image_id, ? FROM images WHERE image_id = ?",
            {copy_id, name, engine.PrivateImagePath(copy_id).string(), NowUnix(), region, id}));
        auto op = engine::RecordOperation(tx, ctx, engine::op::kSyncImage, copy_id,
                                          {{"SourceImageId", id}});
        if (!op.ok()) return op.status();
        op_ids.push_back(*op);
        set.push_back({{"ImageId", copy_id}, {"Region", region}});
      }
      return Status::Ok();
    });
    if (!st.ok()) return st;
    for (const auto& op : op_ids) engine.Submit(op);
    return json{{"ImageSet", std::move(set)}};
  });

  router.Register("DescribeImportImageOs", [](const api::RequestContext&, json&) -> Result<json> {
    json linux = json::array(), versions = json::array();
    for (const auto& os : ImportableOsList()) {
      linux.push_back(os.name);
      versions.push_back({{"OsName", os.name},
                          {"OsVersions", os.versions},
                          {"Architecture", json::array({"x86_64"})}});
    }
    return json{{"ImportImageOsListSupported", {{"Windows", json::array()}, {"Linux", linux}}},
                {"ImportImageOsVersionSet", std::move(versions)}};
  });

  // OpenCVM extension: the operations that make (CreateImage, ImportImage) or copy
  // (ExportImages) one of the caller's images, with their progress and, when one failed, why.
  // Tencent's API has no such call; the `cvm image` verbs wait with it.
  router.RegisterExtension(
      "DescribeImageTasks", "cvm", "2017-03-12",
      [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        CVM_RETURN_IF_ERROR(CheckKnownParams(p, {"ImageId"}));
        if (!p.contains("ImageId")) return Status(err::kMissingParameter, "ImageId is missing.");
        if (!p["ImageId"].is_string()) {
          return Status(err::kInvalidParameterValue, "ImageId must be a string.");
        }
        const std::string id = p["ImageId"].get<std::string>();
        std::vector<store::Row> ops;
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          auto img = LoadOwnImage(tx, ctx, id);
          if (!img.ok()) return img.status();
          auto rows = tx.Query(
              "SELECT rowid, action, api_action, state, error_code, error_message, resource_id, "
              "args, created_at, updated_at, operation_id FROM operations WHERE resource_id = ? "
              "ORDER BY created_at, rowid",
              {id});
          if (!rows.ok()) return rows.status();
          ops = std::move(*rows);
          return Status::Ok();
        });
        if (!st.ok()) return st;
        json set = json::array();
        for (const auto& r : ops) {
          auto args = json::parse(r.Str(7), nullptr, false);
          if (!args.is_object()) args = json::object();
          json task = {{"TaskId", r.Int(0)},
                       {"Action", r.Str(2)},
                       {"State", r.Str(3)},
                       {"Progress", TaskProgress(engine, db, r, args)},
                       {"ErrorCode", r.Str(4)},
                       {"ErrorMessage", r.Str(5)},
                       {"CreatedTime", FormatIsoTime(r.Int(8))},
                       {"UpdatedTime", FormatIsoTime(r.Int(9))}};
          if (args.contains("Target")) task["Target"] = args["Target"];
          set.push_back(std::move(task));
        }
        return json{{"ImageId", id}, {"TaskSet", std::move(set)}};
      });
}

}  // namespace cvm::services
