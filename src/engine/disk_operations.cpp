// Disk operations: attach, detach, grow, snapshot and roll back. Each runs under the lock of the
// instance the disk belongs to, so it never races that instance's start or stop, and each step
// checks what is already true, so an interrupted operation is simply run again at restart.
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error_codes.h"
#include "common/time_format.h"
#include "drivers/qemu/block_devices.h"
#include "engine/engine.h"
#include "engine/file_steps.h"
#include "store/disk_records.h"
#include "store/snapshot_records.h"

namespace cvm::engine {

namespace fs = std::filesystem;
namespace qemu = drivers::qemu;
using namespace std::chrono_literals;

Status PlaceFile(const fs::path& tmp, const fs::path& dest) {
  std::error_code ec;
  fs::rename(tmp, dest, ec);
  if (ec) return Status(kind::kExternal, "cannot place " + dest.string() + ": " + ec.message());
  return Status::Ok();
}

fs::path TmpPath(const fs::path& p) {
  fs::path tmp = p;
  tmp += ".tmp";
  return tmp;
}

fs::path OperationTmpPath(const fs::path& p, const std::string& operation_id) {
  fs::path tmp = p;
  tmp += "." + operation_id + ".tmp";
  return tmp;
}

Status LinkNoReplace(const fs::path& tmp, const fs::path& dest) {
  if (::link(tmp.c_str(), dest.c_str()) == 0) return Status::Ok();
  const int e = errno;
  if (e == EEXIST) {
    return Status(err::kResourceInUse, "The file " + dest.filename().string() +
                                           " already exists; it is never replaced.");
  }
  return Status(kind::kExternal, "cannot place " + dest.string() + ": " + std::strerror(e));
}

bool SameFile(const fs::path& a, const fs::path& b) {
  struct stat sa {};
  struct stat sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

Status MakeFile(const fs::path& tmp, const std::function<Status()>& make) {
  std::error_code ec;
  fs::remove(tmp, ec);
  Status st = make();
  if (!st.ok()) fs::remove(tmp, ec);
  return st;
}

Status ConvertFile(DiskImages& images, const fs::path& source, const std::string& format,
                   const fs::path& tmp) {
  return MakeFile(tmp, [&] { return images.Convert(source, format, tmp, 60min); });
}

namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

}  // namespace

int64_t Engine::StorageCapacityGb() const {
  if (config_.storage_capacity_gb > 0) return config_.storage_capacity_gb;
  return images_->Capacity(options_.data_dir / "disks") / kGiB;
}

Status Engine::CreateDiskFile(const std::string& disk_id, int64_t size_gb,
                              const std::string& snapshot_id) {
  const fs::path disk = DiskPath(disk_id);
  const fs::path tmp = TmpPath(disk);
  CVM_RETURN_IF_ERROR(MakeFile(tmp, [&]() -> Status {
    if (snapshot_id.empty()) return images_->Create(tmp, size_gb * kGiB);
    CVM_RETURN_IF_ERROR(images_->Convert(SnapshotPath(snapshot_id), "qcow2", tmp, 30min));
    auto size = images_->VirtualSize(tmp);
    if (!size.ok()) return size.status();
    return *size < size_gb * kGiB ? images_->Resize(tmp, size_gb * kGiB) : Status::Ok();
  }));
  return PlaceFile(tmp, disk);
}

qemu::DiskSpec Engine::DiskSpecFor(const std::string& disk_id, const std::string& disk_type,
                                   int64_t size_gb) const {
  qemu::DiskSpec spec{.id = disk_id, .path = DiskPath(disk_id).string(), .serial = disk_id};
  // Every disk gets its throttle node, limited or not, so all share one topology.
  qemu::ThrottleLimits limits;
  if (const StorageTypeConfig* st = config_.FindStorageType(disk_type)) {
    limits.iops_total = st->Iops(size_gb);
    limits.bps_total = st->ThroughputMBps(size_gb) * (int64_t{1} << 20);
  }
  spec.throttle = limits;
  return spec;
}

Result<std::vector<qemu::DiskSpec>> Engine::DataDiskSpecs(const std::string& instance_id) {
  auto disks = store::DisksOfInstance(db_, instance_id);
  if (!disks.ok()) return disks.status();
  std::vector<qemu::DiskSpec> specs;
  for (const auto& d : *disks) {
    if (d.usage == "DATA_DISK") specs.push_back(DiskSpecFor(d.disk_id, d.disk_type, d.size_gb));
  }
  return specs;
}

Status Engine::BeginDiskOperation(Run& run) {
  const OperationRecord& op = run.op;
  auto missing = [&] {
    return Status(err::kInvalidDiskIdNotFound, "The disk " + op.resource_id + " does not exist.");
  };
  auto first = store::LoadDisk(db_, op.resource_id);
  if (!first.ok()) return first.status();
  if (!first->has_value()) return missing();
  const std::string owner =
      (*first)->instance_id.empty() ? (*first)->disk_id : (*first)->instance_id;
  run.lock = std::unique_lock(InstanceLock(owner));
  auto loaded = store::LoadDisk(db_, op.resource_id);  // as it is now that we hold the lock
  if (!loaded.ok()) return loaded.status();
  if (!loaded->has_value()) return missing();
  run.disk = **loaded;
  run.loaded = true;
  CVM_RETURN_IF_ERROR(MarkRunning(op));
  spdlog::info("engine: {} {} ({})", op.action, run.disk.disk_id, op.request_id);
  return Status::Ok();
}

Status Engine::RecordDiskOutcome(store::Transaction& tx, const Run& run, const Status& st) {
  const OperationRecord& op = run.op;
  const store::DiskRecord& disk = run.disk;
  const std::string at_rest = disk.instance_id.empty() ? "UNATTACHED" : "ATTACHED";
  const std::string prompt = st.ok() ? std::string() : st.message();
  const std::string snapshot_id = op.args.value("SnapshotId", "");
  const std::string& a = op.action;
  if (a == op::kCreateDisk && !st.ok()) {  // never made: it never appears
    return store::DiscardDisk(tx, disk.disk_id, prompt);
  }
  if (a == op::kAttachDisk && !st.ok()) return store::UndoDiskAttach(tx, disk.disk_id, prompt);
  if (a == op::kDetachDisk && st.ok()) {
    return store::MarkDiskDetached(tx, disk.disk_id, disk.instance_id);
  }
  if (a == op::kResizeDisk && st.ok()) {
    CVM_RETURN_IF_ERROR(
        store::SetDiskSize(tx, disk.disk_id, op.args.value("DiskSize", disk.size_gb)));
  }
  if (a == op::kCreateSnapshot) {
    CVM_RETURN_IF_ERROR(st.ok() ? store::CompleteSnapshot(tx, snapshot_id)
                                : store::DiscardSnapshot(tx, snapshot_id));
  }
  if (a == op::kApplySnapshot) {
    CVM_RETURN_IF_ERROR(store::SetSnapshotState(tx, snapshot_id, "NORMAL"));
  }
  return store::SetDiskState(tx, disk.disk_id, at_rest, prompt);
}

void Engine::AfterDiskOperation(const Run& run, const Status& st) {
  if (run.op.action == op::kCreateDisk && !st.ok()) {
    std::error_code ec;
    fs::remove(DiskPath(run.disk.disk_id), ec);
  }
  if (run.op.action == op::kCreateSnapshot && !st.ok()) {
    std::error_code ec;
    fs::remove(SnapshotPath(run.op.args.value("SnapshotId", "")), ec);
  }
}

Status Engine::CopyDiskFlat(const store::DiskRecord& disk, bool live, const fs::path& target) {
  if (fs::exists(target)) return Status::Ok();
  const fs::path tmp = TmpPath(target);
  CVM_RETURN_IF_ERROR(MakeFile(tmp, [&]() -> Status {
    // Flattened: the copy never depends on the image a system disk was made from.
    if (!live) return images_->Convert(DiskPath(disk.disk_id), "qcow2", tmp, 30min);
    // Point-in-time while the guest writes on: QEMU copies the disk as of the job's start.
    const fs::path run = RunDir(disk.instance_id);
    auto size = hv_->LiveDiskSize(run, disk.disk_id);
    if (!size.ok()) return size.status();
    CVM_RETURN_IF_ERROR(images_->Create(tmp, *size));
    return hv_->CopyDiskLive(run, disk.disk_id, tmp, 30min);
  }));
  return PlaceFile(tmp, target);
}

Status Engine::RunDiskOperation(const OperationRecord& op, const store::DiskRecord& disk) {
  const std::string& a = op.action;
  const fs::path run = disk.instance_id.empty() ? fs::path() : RunDir(disk.instance_id);
  // A disk of a stopped instance is changed in its file; the next boot plugs it as it is.
  const bool live = !disk.instance_id.empty() && VmRunning(disk.instance_id);
  const fs::path file = DiskPath(disk.disk_id);

  if (a == op::kCreateDisk) {
    if (fs::exists(file)) return Status::Ok();  // made before a crash
    return CreateDiskFile(disk.disk_id, disk.size_gb, disk.source_snapshot_id);
  }
  if (a == op::kAttachDisk) {
    if (!live) return Status::Ok();
    return hv_->HotplugDisk(run, DiskSpecFor(disk.disk_id, disk.disk_type, disk.size_gb));
  }
  if (a == op::kDetachDisk) {
    if (!live) return Status::Ok();
    return hv_->HotUnplugDisk(run, disk.disk_id, options_.detach_timeout);
  }
  if (a == op::kResizeDisk) {
    const int64_t bytes = op.args.value("DiskSize", disk.size_gb) * kGiB;
    if (live) return hv_->GrowDiskLive(run, disk.disk_id, bytes);
    auto size = images_->VirtualSize(file);
    if (!size.ok()) return size.status();
    if (*size >= bytes) return Status::Ok();
    return images_->Resize(file, bytes);
  }
  if (a == op::kCreateSnapshot) {
    return CopyDiskFlat(disk, live, SnapshotPath(op.args.value("SnapshotId", "")));
  }
  if (a == op::kApplySnapshot) {
    if (live) {
      return Status(err::kUnsupportedOperationInstanceNotStopped,
                    "Instance " + disk.instance_id + " runs; stop it to roll its disk back.");
    }
    const fs::path tmp = TmpPath(file);
    CVM_RETURN_IF_ERROR(MakeFile(tmp, [&]() -> Status {
      CVM_RETURN_IF_ERROR(
          images_->Convert(SnapshotPath(op.args.value("SnapshotId", "")), "qcow2", tmp, 30min));
      auto size = images_->VirtualSize(tmp);
      if (!size.ok()) return size.status();
      // The disk grew after the snapshot: it keeps its size.
      return *size < disk.size_gb * kGiB ? images_->Resize(tmp, disk.size_gb * kGiB) : Status::Ok();
    }));
    return PlaceFile(tmp, file);
  }
  return Status(kind::kBug, "unknown disk operation " + a);
}

}  // namespace cvm::engine
