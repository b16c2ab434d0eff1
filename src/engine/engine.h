// The engine carries out operations through the drivers, on its own worker threads: handlers
// only record intent. It also watches every running VM's QMP events and reconciles the store
// with reality (QEMU processes, disk files) at start and periodically.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "drivers/qemu/qemu_vm.h"
#include "engine/host.h"
#include "engine/operations.h"
#include "store/database.h"
#include "store/instance_records.h"

namespace cvm::engine {

struct EngineOptions {
  std::filesystem::path data_dir;
  std::string accel = "tcg";
  int workers = 4;
  std::chrono::seconds soft_stop_timeout{60};
  // A soft stop presses the power button again at this interval until soft_stop_timeout: a
  // guest still booting misses a press.
  std::chrono::milliseconds power_button_interval{10000};
  // How long a failed final write of an operation is retried before the reconciler takes over.
  std::chrono::milliseconds final_write_retry{100};
  std::chrono::milliseconds reconcile_interval{15000};
  // How long a guest may take to release a hot-unplugged disk before DetachDisks gives up.
  std::chrono::seconds detach_timeout{20};
};

// Host resources available to instances, after overcommit.
struct HostCapacity {
  double cpus = 0;
  double memory_mib = 0;
};
HostCapacity MeasureHostCapacity(const Config& config);

class Engine {
 public:
  Engine(store::Database& db, const Config& config, EngineOptions options,
         EngineDrivers drivers = {});
  ~Engine();

  // Reconciles the store with what really runs, resumes unfinished operations, then serves.
  // `drivers` left empty are the real ones (QEMU, the network namespace).
  Status Start();
  // Stops workers and event watchers; VMs keep running (they outlive the daemon).
  void Stop();

  // Carries out a recorded operation on a worker (once: a second submission while it is queued
  // or running is dropped).
  void Submit(const std::string& operation_id);

  const std::string& accel() const { return options_.accel; }
  const HostCapacity& capacity() const { return capacity_; }
  std::filesystem::path RunDir(const std::string& instance_id) const;
  std::filesystem::path DiskPath(const std::string& disk_id) const;
  std::filesystem::path ConsoleLog(const std::string& instance_id) const;
  std::filesystem::path SnapshotPath(const std::string& snapshot_id) const;
  // A custom image's file: DATA_DIR/images/private/<image-id>.qcow2.
  std::filesystem::path PrivateImagePath(const std::string& image_id) const;
  // Where an export to an http(s) target converts the image before uploading it:
  // DATA_DIR/images/private/<operation-id>.export (removed when the operation ends; after a
  // crash, by the reconciler at start, as any file no image claims).
  std::filesystem::path ExportStagingPath(const std::string& operation_id) const;
  // Bytes an export's upload has sent and will send in all, while it runs (nothing otherwise).
  std::optional<std::pair<int64_t, int64_t>> UploadProgress(const std::string& operation_id);
  // Removes the files of deleted custom images that no live disk uses any more (system disks
  // are overlays on them) and clears their file_path.
  void FreeUnusedImageFiles();

  // Provisioned GiB the storage pool may hold (config, or the size of its file system).
  int64_t StorageCapacityGb() const;

  // Brings the data path (links, routes, NAT and every security group rule) in line with the
  // store after a committed change to groups, rules, bindings or addresses. Synchronous: when it
  // returns OK the change is enforced on running instances.
  Status SyncNetwork();

 private:
  // One operation being carried out: what its steps learned, for its final write.
  struct Run {
    OperationRecord op;
    std::unique_lock<std::mutex> lock;  // the resource's, held until the outcome is written
    bool loaded = false;                // the resource was found (Begin succeeded)
    store::InstanceRecord inst;         // instance operations
    std::string final_state;            //   the state the instance is left in
    store::DiskRecord disk;             // disk operations
    int64_t virtual_size = 0;           // image operations
  };

  void Post(std::function<void()> task);
  void WorkerLoop();
  // The one path every operation takes: Begin (lock, load, mark RUNNING), Perform, then the
  // final write, retried until it holds; an exception anywhere is a FAILED InternalError.
  void Execute(const std::string& operation_id);
  Status Begin(Run& run);
  Status Perform(Run& run);
  Status Record(store::Transaction& tx, const Run& run, const Status& st);
  void After(const Run& run, const Status& st);
  Status MarkRunning(const OperationRecord& op);
  Status RunOperation(const OperationRecord& op, store::InstanceRecord& inst,
                      std::string& final_state);
  Status RecordInstanceOutcome(store::Transaction& tx, const Run& run, const Status& st);

  // The instance's live system disk (an internal error when it has none).
  Result<store::DiskRecord> SystemDisk(const std::string& instance_id);
  // Steps (each idempotent: it checks what is already true before acting).
  Status EnsureSystemDisk(const store::InstanceRecord& inst, bool recreate,
                          const std::string& image_id);
  Status EnsureDataDisks(const store::InstanceRecord& inst);
  Status WriteSeed(store::InstanceRecord& inst);  // may give a pre-network instance its address
  Status BootVm(store::InstanceRecord& inst);
  Status ShutdownVm(const store::InstanceRecord& inst, const std::string& stop_type);
  Status DestroyInstanceFiles(const store::InstanceRecord& inst);

  // Disk operations (engine/disk_operations.cpp).
  // Makes a data disk's file: empty, or holding a snapshot's contents grown to `size_gb`. Built
  // under a temporary name, so a crash never leaves a half-made disk.
  Status CreateDiskFile(const std::string& disk_id, int64_t size_gb,
                        const std::string& snapshot_id = "");
  Status BeginDiskOperation(Run& run);
  Status RunDiskOperation(const OperationRecord& op, const store::DiskRecord& disk);
  Status RecordDiskOutcome(store::Transaction& tx, const Run& run, const Status& st);
  void AfterDiskOperation(const Run& run, const Status& st);
  drivers::qemu::DiskSpec DiskSpecFor(const std::string& disk_id, const std::string& disk_type,
                                      int64_t size_gb) const;
  Result<std::vector<drivers::qemu::DiskSpec>> DataDiskSpecs(const std::string& instance_id);
  // A flattened qcow2 copy of a disk at `target` (kept if already there): point-in-time from
  // the running VM when `live`, else from its file.
  Status CopyDiskFlat(const store::DiskRecord& disk, bool live,
                      const std::filesystem::path& target);

  // Image operations (engine/image_operations.cpp).
  Status BeginImageOperation(Run& run);
  Status RunImageOperation(const OperationRecord& op, int64_t& virtual_size);
  Status RecordImageOutcome(store::Transaction& tx, const Run& run, const Status& st);
  void AfterImageOperation(const Run& run, const Status& st);
  // ImportImage: fetches an http(s) source first, then inspects and converts it into `target`.
  Status ImportImageFile(const OperationRecord& op, const std::filesystem::path& target);
  // ExportImages to an http(s) target: converts `image` into the staging file, PUTs it.
  Status UploadExport(const OperationRecord& op, const std::filesystem::path& image);

  void Watch(const std::string& instance_id);
  void Unwatch(const std::string& instance_id);
  void OnVmExited(const std::string& instance_id, const std::string& why);
  void OnDiskReleased(const std::string& instance_id, const std::string& disk_id);
  Status SetState(const std::string& instance_id, const std::string& state,
                  const std::string& reason = "");
  // Brings the store and the VMs in line; at start, also removes what no record claims (before
  // any operation runs).
  void Reconcile(bool at_start);
  // Submits every operation the store holds unfinished that is not queued or running.
  void ResumeOperations();
  std::mutex& InstanceLock(const std::string& instance_id);
  bool VmRunning(const std::string& instance_id);

  store::Database& db_;
  const Config& config_;
  EngineOptions options_;
  HostCapacity capacity_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;  // workers only: a notify_one must reach a worker
  std::condition_variable stop_cv_;   // the reconciler's sleep
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> workers_;
  std::thread reconciler_;
  std::atomic<bool> stopping_{false};

  std::mutex locks_mu_;
  std::map<std::string, std::unique_ptr<std::mutex>> instance_locks_;

  std::unique_ptr<Hypervisor> hv_;
  std::unique_ptr<InstanceNetwork> network_;
  std::unique_ptr<DiskImages> images_;
  std::unique_ptr<Transfers> transfers_;

  std::mutex in_flight_mu_;
  std::set<std::string> in_flight_;  // operations queued or running

  std::mutex uploads_mu_;
  std::map<std::string, std::pair<int64_t, int64_t>> uploads_;  // operation id -> sent, total

  std::mutex watch_mu_;
  std::map<std::string, std::unique_ptr<VmWatch>> watchers_;
  std::set<std::string> guest_shutdowns_;  // instances whose guest asked to power off
};

}  // namespace cvm::engine
