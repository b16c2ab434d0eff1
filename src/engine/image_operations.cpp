// Image operations: capture an instance's system disk (or copy a system-disk snapshot) as a
// custom image, import an image file, copy one to another region, export one (into a directory
// or uploaded). Each builds its file under a temporary name and keeps a file already placed, so
// an operation cut by a crash is run again at start and ends NORMAL or failed, never stuck.
#include <spdlog/spdlog.h>

#include "common/error_codes.h"
#include "common/time_format.h"
#include "drivers/http/download.h"
#include "engine/engine.h"
#include "engine/file_steps.h"
#include "store/image_records.h"
#include "store/snapshot_records.h"

namespace cvm::engine {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kExportPlaced = "PLACED";

// An export never replaces a file, whoever made it: the copy is built under this operation's
// own name and linked into place only where nothing is; the link is recorded (step PLACED)
// before that name goes, so a run after a crash tells its own placed file from another's.
Status ExportToFile(store::Database& db, DiskImages& images, const OperationRecord& op,
                    const fs::path& source) {
  const fs::path out = op.args.value("Target", "");
  const fs::path tmp = OperationTmpPath(out, op.operation_id);
  std::error_code ec;
  if (op.step != kExportPlaced) {
    if (!SameFile(tmp, out)) {  // else linked before a crash
      CVM_RETURN_IF_ERROR(ConvertFile(images, source, op.args.value("Format", "qcow2"), tmp));
      Status placed = LinkNoReplace(tmp, out);
      if (!placed.ok()) {
        fs::remove(tmp, ec);
        return placed;
      }
    }
    CVM_RETURN_IF_ERROR(RecordOperationStep(db, op.operation_id, kExportPlaced));
  }
  fs::remove(tmp, ec);
  return Status::Ok();
}

}  // namespace

Status Engine::BeginImageOperation(Run& run) {
  const OperationRecord& op = run.op;
  // A capture serializes with its instance's start and stop (it reads that instance's disk).
  const std::string instance_id = op.args.value("InstanceId", "");
  if (!instance_id.empty()) run.lock = std::unique_lock(InstanceLock(instance_id));
  run.loaded = true;
  CVM_RETURN_IF_ERROR(MarkRunning(op));
  spdlog::info("engine: {} {} ({})", op.action, op.resource_id, op.request_id);
  return Status::Ok();
}

Status Engine::RecordImageOutcome(store::Transaction& tx, const Run& run, const Status& st) {
  // An export leaves the image unchanged: only the operation records the outcome.
  if (run.op.action == op::kExportImage) return Status::Ok();
  const std::string& image_id = run.op.resource_id;
  const std::string system_snapshot = run.op.args.value("SystemSnapshotId", "");
  if (!system_snapshot.empty()) {
    // The system disk's snapshot exists exactly when the image does.
    CVM_RETURN_IF_ERROR(st.ok() ? store::CompleteSnapshot(tx, system_snapshot)
                                : store::DiscardSnapshot(tx, system_snapshot));
  }
  if (!st.ok()) {
    const std::string failed = run.op.action == op::kImportImage ? "IMPORTFAILED" : "CREATEFAILED";
    return store::FailImage(tx, image_id, failed, st.message());
  }
  const int64_t size_gb = std::max<int64_t>(1, (run.virtual_size + (int64_t{1} << 30) - 1) >> 30);
  return store::CompleteImage(tx, image_id, run.virtual_size, size_gb,
                              PrivateImagePath(image_id).string());
}

void Engine::AfterImageOperation(const Run& run, const Status& st) {
  if (run.op.action == op::kExportImage) return;
  if (!st.ok()) {
    const fs::path file = PrivateImagePath(run.op.resource_id);
    std::error_code ec;
    fs::remove(TmpPath(file), ec);
    fs::remove(file, ec);
    const std::string system_snapshot = run.op.args.value("SystemSnapshotId", "");
    if (!system_snapshot.empty()) fs::remove(SnapshotPath(system_snapshot), ec);
  }
  // An image deleted while it was being made (not allowed by the API, but a crash-safe rule).
  FreeUnusedImageFiles();
}

Status Engine::RunImageOperation(const OperationRecord& op, int64_t& virtual_size) {
  const fs::path target = PrivateImagePath(op.resource_id);
  if (op.action == op::kCreateImage && op.args.contains("SnapshotId")) {
    // From a snapshot (already flat): a copy of its own, so the snapshot may go later.
    if (!fs::exists(target)) {
      const fs::path snapshot = SnapshotPath(op.args.value("SnapshotId", ""));
      if (!fs::exists(snapshot)) {
        return Status(err::kInvalidParameterSnapshotNotFound, "The snapshot is gone.");
      }
      CVM_RETURN_IF_ERROR(ConvertFile(*images_, snapshot, "qcow2", TmpPath(target)));
      CVM_RETURN_IF_ERROR(PlaceFile(TmpPath(target), target));
    }
  } else if (op.action == op::kCreateImage) {
    auto disk = store::LoadDisk(db_, op.args.value("DiskId", ""));
    if (!disk.ok()) return disk.status();
    if (!disk->has_value() || (*disk)->instance_id != op.args.value("InstanceId", "")) {
      return Status(err::kInvalidInstanceIdNotFound, "The instance's system disk is gone.");
    }
    CVM_RETURN_IF_ERROR(CopyDiskFlat(**disk, VmRunning((*disk)->instance_id), target));
    // The system disk's snapshot is the same bytes: a second name for the image's file (both
    // are never written again), which lives on as long as either does.
    const std::string snapshot_id = op.args.value("SystemSnapshotId", "");
    if (!snapshot_id.empty() && !SameFile(target, SnapshotPath(snapshot_id))) {
      CVM_RETURN_IF_ERROR(LinkNoReplace(target, SnapshotPath(snapshot_id)));
    }
  } else if (op.action == op::kImportImage) {
    if (!fs::exists(target)) CVM_RETURN_IF_ERROR(ImportImageFile(op, target));
  } else if (op.action == op::kSyncImage) {
    // A copy of the source's flattened file: the same bytes, another region's record.
    if (!fs::exists(target)) {
      const fs::path tmp = TmpPath(target);
      const fs::path source = PrivateImagePath(op.args.value("SourceImageId", ""));
      CVM_RETURN_IF_ERROR(MakeFile(tmp, [&] { return images_->Copy(source, tmp); }));
      CVM_RETURN_IF_ERROR(PlaceFile(tmp, target));
    }
  } else if (op.action == op::kExportImage) {
    // The image's own file, or one of the data-disk snapshots it lists (DeleteSnapshots waits).
    const std::string snapshot_id = op.args.value("SnapshotId", "");
    const fs::path source = snapshot_id.empty() ? target : SnapshotPath(snapshot_id);
    if (!snapshot_id.empty() && !fs::exists(source)) {
      return Status(err::kInvalidParameterSnapshotNotFound,
                    "The snapshot " + snapshot_id + " is gone.");
    }
    if (drivers::http::IsHttpUrl(op.args.value("Target", ""))) return UploadExport(op, source);
    return ExportToFile(db_, *images_, op, source);
  } else {
    return Status(kind::kBug, "unknown image operation " + op.action);
  }
  auto size = images_->VirtualSize(target);
  if (!size.ok()) return size.status();
  virtual_size = *size;
  return Status::Ok();
}

fs::path Engine::ExportStagingPath(const std::string& operation_id) const {
  return options_.data_dir / "images/private" / (operation_id + ".export");
}

std::optional<std::pair<int64_t, int64_t>> Engine::UploadProgress(const std::string& operation_id) {
  std::lock_guard lock(uploads_mu_);
  auto it = uploads_.find(operation_id);
  if (it == uploads_.end()) return std::nullopt;
  return it->second;
}

Status Engine::UploadExport(const OperationRecord& op, const fs::path& image) {
  const std::string url = op.args.value("Target", "");
  const fs::path staging = ExportStagingPath(op.operation_id);
  // Whatever happens, the converted file goes (a crash leaves it to the reconciler).
  struct Cleanup {
    Engine* engine;
    std::string op_id;
    fs::path path;
    ~Cleanup() {
      std::error_code ec;
      fs::remove(path, ec);
      std::lock_guard lock(engine->uploads_mu_);
      engine->uploads_.erase(op_id);
    }
  } cleanup{this, op.operation_id, staging};
  CVM_RETURN_IF_ERROR(
      ConvertFile(*images_, image, op.args.value("Format", "qcow2"), TmpPath(staging)));
  CVM_RETURN_IF_ERROR(PlaceFile(TmpPath(staging), staging));
  std::error_code ec;
  {
    std::lock_guard lock(uploads_mu_);
    uploads_[op.operation_id] = {0, static_cast<int64_t>(fs::file_size(staging, ec))};
  }
  drivers::http::UploadLimits limits;
  limits.stall = std::chrono::seconds(config_.image_upload_stall_s);
  spdlog::info("engine: uploading {} to {}", op.resource_id, url);
  return transfers_->Upload(staging, url, limits, [&](int64_t sent, int64_t total) {
    std::lock_guard lock(uploads_mu_);
    if (total > 0) uploads_[op.operation_id] = {sent, total};
  });
}

Status Engine::ImportImageFile(const OperationRecord& op, const fs::path& target) {
  fs::path source = op.args.value("File", "");
  // A URL's file is fetched next to the image (DATA_DIR/images/private/<id>.download): the
  // reconciler removes it after a crash, as any file no record claims, and it goes when done.
  const fs::path downloaded = fs::path(target).replace_extension(".download");
  struct RemoveDownload {
    fs::path path;
    ~RemoveDownload() {
      std::error_code ec;
      fs::remove(path, ec);
    }
  } cleanup{downloaded};
  if (op.args.contains("Url")) {
    drivers::http::DownloadLimits limits;
    limits.allowed_hosts = config_.image_url_hosts;
    limits.max_bytes = config_.image_max_virtual_gb << 30;
    limits.stall = std::chrono::seconds(config_.image_download_stall_s);
    CVM_RETURN_IF_ERROR(transfers_->Download(op.args.value("Url", ""), downloaded, limits));
    source = downloaded;
  }
  // Checked again here: the file may have changed since the request was accepted.
  auto info = images_->InspectUntrusted(source, config_.image_max_virtual_gb << 30);
  if (!info.ok()) return info.status();
  const fs::path tmp = TmpPath(target);
  CVM_RETURN_IF_ERROR(
      MakeFile(tmp, [&] { return images_->ImportUntrusted(source, info->format, tmp); }));
  return PlaceFile(tmp, target);
}

void Engine::FreeUnusedImageFiles() {
  auto unused = store::UnusedImageFiles(db_);
  if (!unused.ok()) return;
  for (const auto& f : *unused) {
    std::error_code ec;
    fs::remove(f.file_path, ec);
    if (ec) continue;
    spdlog::info("engine: freed the file of deleted image {}", f.image_id);
    // Failing, the next pass finds the record again and clears it then.
    Status cleared = store::WithTransaction(
        db_, [&](store::Transaction& tx) { return store::ClearImageFile(tx, f.image_id); });
    if (!cleared.ok()) spdlog::error("engine: image {}: {}", f.image_id, cleared.ToString());
  }
}

}  // namespace cvm::engine
