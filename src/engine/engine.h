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
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "drivers/qemu/qemu_vm.h"
#include "engine/operations.h"
#include "store/database.h"
#include "store/instance_records.h"

namespace cvm::engine {

struct EngineOptions {
  std::filesystem::path data_dir;
  std::string accel = "tcg";
  int workers = 4;
  std::chrono::seconds soft_stop_timeout{60};
  std::chrono::seconds reconcile_interval{15};
};

// Host resources available to instances, after overcommit.
struct HostCapacity {
  double cpus = 0;
  double memory_mib = 0;
};
HostCapacity MeasureHostCapacity(const Config& config);

class Engine {
 public:
  Engine(store::Database& db, const Config& config, EngineOptions options);
  ~Engine();

  // Reconciles the store with what really runs, resumes unfinished operations, then serves.
  Status Start();
  // Stops workers and event watchers; VMs keep running (they outlive the daemon).
  void Stop();

  void Submit(const std::string& operation_id);

  const std::string& accel() const { return options_.accel; }
  const HostCapacity& capacity() const { return capacity_; }
  std::filesystem::path RunDir(const std::string& instance_id) const;
  std::filesystem::path DiskPath(const std::string& disk_id) const;
  std::filesystem::path ConsoleLog(const std::string& instance_id) const;

 private:
  void Post(std::function<void()> task);
  void WorkerLoop();
  void Execute(const std::string& operation_id);
  Status RunOperation(const OperationRecord& op, store::InstanceRecord& inst,
                      std::string& final_state);

  // Steps (each idempotent: it checks what is already true before acting).
  Status EnsureSystemDisk(const store::InstanceRecord& inst, bool recreate,
                          const std::string& image_id);
  Status WriteSeed(const store::InstanceRecord& inst);
  Status BootVm(store::InstanceRecord& inst);
  Status ShutdownVm(const store::InstanceRecord& inst, const std::string& stop_type);
  Status DestroyInstanceFiles(const store::InstanceRecord& inst);

  void Watch(const std::string& instance_id);
  void Unwatch(const std::string& instance_id);
  void OnVmExited(const std::string& instance_id, const std::string& why);
  Status SetState(const std::string& instance_id, const std::string& state,
                  const std::string& reason = "");
  void Reconcile(bool at_start);
  std::mutex& InstanceLock(const std::string& instance_id);

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

  std::mutex watch_mu_;
  std::map<std::string, std::unique_ptr<drivers::qemu::VmEventWatcher>> watchers_;
  std::set<std::string> guest_shutdowns_;  // instances whose guest asked to power off
};

}  // namespace cvm::engine
