#include "engine/engine.h"

#include <spdlog/spdlog.h>

#include <fstream>

#include "common/error_codes.h"
#include "common/time_format.h"
#include "drivers/guest/nocloud_seed.h"
#include "drivers/qemu/block_devices.h"
#include "engine/file_steps.h"
#include "engine/network_plane.h"
#include "store/disk_records.h"
#include "store/image_records.h"
#include "store/key_pair_records.h"
#include "store/snapshot_records.h"

namespace cvm::engine {

namespace fs = std::filesystem;
namespace qemu = drivers::qemu;
using namespace std::chrono_literals;

HostCapacity MeasureHostCapacity(const Config& config) {
  HostCapacity c;
  c.cpus = static_cast<double>(std::max(1u, std::thread::hardware_concurrency())) *
           config.cpu_overcommit;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  while (meminfo >> key >> kib) {
    if (key == "MemTotal:") break;
    meminfo.ignore(256, '\n');
  }
  c.memory_mib = static_cast<double>(kib) / 1024.0 * config.memory_overcommit;
  return c;
}

namespace {

// States in which an operation owns the instance.
bool IsTransitional(const std::string& s) {
  return s == "PENDING" || s == "STARTING" || s == "STOPPING" || s == "REBOOTING" ||
         s == "TERMINATING";
}

// Removes the files in `dir` other than "<id>.qcow2" for each of the `ids` the store claims.
void RemoveUnclaimedFiles(const Result<std::vector<std::string>>& ids, const fs::path& dir,
                          const char* what) {
  if (!ids.ok()) return;
  std::set<std::string> claimed;
  for (const auto& id : *ids) claimed.insert(id + ".qcow2");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || claimed.count(name)) continue;
    spdlog::warn("reconcile: removing orphan {} file {}", what, name);
    fs::remove(entry.path(), ec);
  }
}

}  // namespace

Engine::Engine(store::Database& db, const Config& config, EngineOptions options,
               EngineDrivers drivers)
    : db_(db),
      config_(config),
      options_(std::move(options)),
      capacity_(MeasureHostCapacity(config)),
      hv_(drivers.hypervisor ? std::move(drivers.hypervisor) : NewQemuHypervisor()),
      network_(drivers.network ? std::move(drivers.network)
                               : std::make_unique<NetworkPlane>(db, config)),
      images_(drivers.images ? std::move(drivers.images) : NewQemuDiskImages()),
      transfers_(drivers.transfers ? std::move(drivers.transfers) : NewHttpTransfers()) {}

Engine::~Engine() { Stop(); }

fs::path Engine::RunDir(const std::string& id) const {
  return options_.data_dir / "run/instances" / id;
}
fs::path Engine::DiskPath(const std::string& id) const {
  return options_.data_dir / "disks" / (id + ".qcow2");
}
fs::path Engine::ConsoleLog(const std::string& id) const {
  return qemu::ConsoleLogPath(RunDir(id));
}
fs::path Engine::SnapshotPath(const std::string& id) const {
  return options_.data_dir / "snapshots" / (id + ".qcow2");
}
fs::path Engine::PrivateImagePath(const std::string& id) const {
  return options_.data_dir / "images/private" / (id + ".qcow2");
}

bool Engine::VmRunning(const std::string& instance_id) {
  auto s = hv_->Inspect(RunDir(instance_id), 2s);
  return s.ok() && s->running;
}

std::mutex& Engine::InstanceLock(const std::string& id) {
  std::lock_guard lock(locks_mu_);
  auto& m = instance_locks_[id];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

Status Engine::Start() {
  std::error_code ec;
  fs::create_directories(options_.data_dir / "run/instances", ec);
  fs::create_directories(options_.data_dir / "disks", ec);
  fs::create_directories(options_.data_dir / "snapshots", ec);
  fs::create_directories(options_.data_dir / "images/private", ec);
  spdlog::info("engine: accelerator {}, capacity {:.0f} vCPUs / {:.0f} MiB", options_.accel,
               capacity_.cpus, capacity_.memory_mib);
  // Before any operation resumes: a booting VM needs its tap, a running one its firewall.
  Status net = network_->Start();
  if (!net.ok()) {
    return Status(net.code(), "cannot set up the network namespace " + config_.network_namespace +
                                  ": " + net.message());
  }
  // Everything the reconciler tidies at start happens before any operation runs: a resumed
  // operation's temporary file is never taken for an orphan.
  const auto reconcile_began = std::chrono::steady_clock::now();
  Reconcile(/*at_start=*/true);
  spdlog::info("engine: start-up reconciliation took {} ms",
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - reconcile_began)
                   .count());
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  ResumeOperations();
  reconciler_ = std::thread([this] {
    while (!stopping_) {
      std::unique_lock lock(queue_mu_);
      stop_cv_.wait_for(lock, options_.reconcile_interval, [this] { return stopping_.load(); });
      lock.unlock();
      if (stopping_) break;
      Reconcile(/*at_start=*/false);
      ResumeOperations();
      // A sync that failed after its change was committed is retried here.
      if (Status st = network_->Sync(); !st.ok())
        spdlog::warn("reconcile: network: {}", st.ToString());
    }
  });
  return Status::Ok();
}

void Engine::Stop() {
  if (stopping_.exchange(true)) return;
  queue_cv_.notify_all();
  stop_cv_.notify_all();
  for (auto& t : workers_) t.join();
  if (reconciler_.joinable()) reconciler_.join();
  // Destroyed outside watch_mu_: destroying a watch joins its thread, whose callbacks take it.
  std::map<std::string, std::unique_ptr<VmWatch>> watchers;
  {
    std::lock_guard lock(watch_mu_);
    watchers.swap(watchers_);
  }
  watchers.clear();  // VMs keep running; a restarted daemon re-attaches
}

void Engine::Post(std::function<void()> task) {
  {
    std::lock_guard lock(queue_mu_);
    queue_.push_back(std::move(task));
  }
  queue_cv_.notify_one();
}

void Engine::Submit(const std::string& operation_id) {
  {
    std::lock_guard lock(in_flight_mu_);
    if (!in_flight_.insert(operation_id).second) return;  // already queued or running
  }
  Post([this, operation_id] {
    Execute(operation_id);
    std::lock_guard lock(in_flight_mu_);
    in_flight_.erase(operation_id);
  });
}

void Engine::WorkerLoop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // unfinished operations stay recorded; the next start resumes
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("engine: task failed with exception: {}", e.what());
    }
  }
}

Status Engine::SetState(const std::string& id, const std::string& state,
                        const std::string& reason) {
  return store::WithTransaction(
      db_, [&](store::Transaction& tx) { return store::SetInstanceState(tx, id, state, reason); });
}

namespace {

// `f()`, with an exception turned into an InternalError: a bug fails its operation, never
// leaves it running.
template <typename F>
Status Guarded(const char* what, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    spdlog::error("engine: exception in {}: {}", what, e.what());
    return Status(kind::kBug, std::string("internal error in ") + what + ": " + e.what());
  } catch (...) {
    spdlog::error("engine: unknown exception in {}", what);
    return Status(kind::kBug, std::string("internal error in ") + what);
  }
}

}  // namespace

void Engine::Execute(const std::string& operation_id) {
  auto op = LoadOperation(db_, operation_id);
  if (!op.ok()) {
    // Still PENDING or RUNNING in the store: the reconciler submits it again.
    spdlog::error("engine: cannot load operation {}: {}", operation_id, op.status().ToString());
    return;
  }
  if (op->state == "SUCCESS" || op->state == "FAILED") return;
  Run run{.op = *op};
  Status st = Guarded("starting the operation", [&] { return Begin(run); });
  if (st.ok()) st = Guarded(op->action.c_str(), [&] { return Perform(run); });
  if (!st.ok()) {
    spdlog::warn("engine: {} {} failed: {}", op->action, op->resource_id, st.ToString());
  }
  const bool instance_op = !IsDiskOperation(op->action) && !IsImageOperation(op->action);
  if (instance_op && run.loaded && run.final_state.empty()) {
    // A step failed or threw before saying where it leaves the instance: what really runs
    // decides.
    run.final_state = VmRunning(run.inst.instance_id) ? "RUNNING"
                      : op->action == op::kLaunch     ? "LAUNCH_FAILED"
                                                      : "STOPPED";
  }
  // The outcome is written whatever happened above; a store that refuses it is retried, and
  // after that the reconciler runs the operation again (its steps find their work done).
  auto delay = options_.final_write_retry;
  for (int attempt = 1;; ++attempt) {
    Status written = Guarded("recording the outcome", [&] {
      return store::WithTransaction(db_,
                                    [&](store::Transaction& tx) { return Record(tx, run, st); });
    });
    if (written.ok()) break;
    spdlog::error("engine: recording the outcome of {} failed (attempt {}): {}", operation_id,
                  attempt, written.ToString());
    if (attempt == 5 || stopping_) return;
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }
  Status cleaned = Guarded("cleaning up", [&] {
    After(run, st);
    return Status::Ok();
  });
  if (!cleaned.ok()) spdlog::warn("engine: after {}: {}", operation_id, cleaned.ToString());
}

Status Engine::MarkRunning(const OperationRecord& op) {
  return store::WithTransaction(db_, [&](store::Transaction& tx) {
    return store::SetOperationState(tx, op.operation_id, "RUNNING", NowUnix());
  });
}

Status Engine::Begin(Run& run) {
  if (IsDiskOperation(run.op.action)) return BeginDiskOperation(run);
  if (IsImageOperation(run.op.action)) return BeginImageOperation(run);
  run.lock = std::unique_lock(InstanceLock(run.op.resource_id));
  auto loaded = store::LoadInstance(db_, run.op.resource_id);
  if (!loaded.ok()) return loaded.status();
  if (!loaded->has_value()) {
    return Status(err::kInvalidInstanceIdNotFound,
                  "The instance " + run.op.resource_id + " does not exist.");
  }
  run.inst = **loaded;
  run.loaded = true;
  CVM_RETURN_IF_ERROR(MarkRunning(run.op));
  spdlog::info("engine: {} {} ({})", run.op.action, run.inst.instance_id, run.op.request_id);
  return Status::Ok();
}

Status Engine::Perform(Run& run) {
  if (IsDiskOperation(run.op.action)) return RunDiskOperation(run.op, run.disk);
  if (IsImageOperation(run.op.action)) return RunImageOperation(run.op, run.virtual_size);
  return RunOperation(run.op, run.inst, run.final_state);
}

Status Engine::Record(store::Transaction& tx, const Run& run, const Status& st) {
  CVM_RETURN_IF_ERROR(FinishOperation(tx, run.op.operation_id, st));
  if (!run.loaded) return Status::Ok();  // nothing of the resource was touched
  if (IsDiskOperation(run.op.action)) return RecordDiskOutcome(tx, run, st);
  if (IsImageOperation(run.op.action)) return RecordImageOutcome(tx, run, st);
  return RecordInstanceOutcome(tx, run, st);
}

void Engine::After(const Run& run, const Status& st) {
  if (!run.loaded) return;
  if (IsDiskOperation(run.op.action)) return AfterDiskOperation(run, st);
  if (IsImageOperation(run.op.action)) return AfterImageOperation(run, st);
  // The last system disk on a deleted custom image may have gone with this instance.
  if (run.op.action == op::kTerminate && st.ok()) FreeUnusedImageFiles();
}

Status Engine::RecordInstanceOutcome(store::Transaction& tx, const Run& run, const Status& st) {
  const auto& inst = run.inst;
  if (run.op.action == op::kTerminate && st.ok()) {
    return store::MarkInstanceTerminated(tx, inst.instance_id);
  }
  const std::string why = st.ok() ? std::string() : st.message();
  return store::RecordInstanceOutcome(tx, inst.instance_id, run.op.request_id,
                                      {.state = run.final_state,
                                       .reason = why,
                                       .ssh_port = inst.ssh_port,
                                       .started_at = inst.started_at,
                                       .operation_state = st.ok() ? "SUCCESS" : "FAILED",
                                       .operation_error = why});
}

Status Engine::RunOperation(const OperationRecord& op, store::InstanceRecord& inst,
                            std::string& final_state) {
  const std::string& a = op.action;
  if (a == op::kLaunch) {
    final_state = "LAUNCH_FAILED";
    CVM_RETURN_IF_ERROR(EnsureSystemDisk(inst, false, inst.image_id));
    CVM_RETURN_IF_ERROR(EnsureDataDisks(inst));
    CVM_RETURN_IF_ERROR(WriteSeed(inst));
    CVM_RETURN_IF_ERROR(BootVm(inst));
    final_state = "RUNNING";
    return Status::Ok();
  }
  if (a == op::kStart) {
    final_state = "STOPPED";
    CVM_RETURN_IF_ERROR(WriteSeed(inst));
    CVM_RETURN_IF_ERROR(BootVm(inst));
    final_state = "RUNNING";
    return Status::Ok();
  }
  if (a == op::kStop) {
    final_state = "RUNNING";
    CVM_RETURN_IF_ERROR(ShutdownVm(inst, op.args.value("StopType", "SOFT_FIRST")));
    final_state = "STOPPED";
    return Status::Ok();
  }
  if (a == op::kReboot) {
    final_state = "RUNNING";
    std::string type = op.args.value("StopType", "SOFT_FIRST");
    if (type == "HARD") return hv_->Reset(RunDir(inst.instance_id));
    // Soft: the guest shuts down through ACPI and is booted again; SOFT_FIRST falls back to a
    // reset when the guest ignores the button.
    Status down = ShutdownVm(inst, "SOFT");
    if (!down.ok()) {
      if (type == "SOFT") return down;
      return hv_->Reset(RunDir(inst.instance_id));
    }
    final_state = "STOPPED";
    CVM_RETURN_IF_ERROR(WriteSeed(inst));
    CVM_RETURN_IF_ERROR(BootVm(inst));
    final_state = "RUNNING";
    return Status::Ok();
  }
  if (a == op::kRestart) {
    final_state = "RUNNING";
    CVM_RETURN_IF_ERROR(ShutdownVm(inst, "HARD"));
    final_state = "STOPPED";
    CVM_RETURN_IF_ERROR(WriteSeed(inst));
    CVM_RETURN_IF_ERROR(BootVm(inst));
    final_state = "RUNNING";
    return Status::Ok();
  }
  if (a == op::kTerminate) {
    // No state until QEMU is down: a terminate that fails there leaves the instance as QEMU
    // really is (Execute decides), never TERMINATING, so TerminateInstances can be sent again.
    CVM_RETURN_IF_ERROR(ShutdownVm(inst, "HARD"));
    final_state = "STOPPED";
    return DestroyInstanceFiles(inst);
  }
  if (a == op::kReset) {
    // Reinstall: a fresh system disk from the (possibly new) image; the instance keeps its id,
    // so its settings come from the regenerated seed. It ends as it began (running or not).
    bool was_running = op.args.value("WasRunning", false);
    final_state = was_running ? "RUNNING" : "STOPPED";
    CVM_RETURN_IF_ERROR(ShutdownVm(inst, "HARD"));
    final_state = "STOPPED";
    std::string image = op.args.value("ImageId", inst.image_id);
    if (op.args.value("DiskRecreated", false) == false) {
      CVM_RETURN_IF_ERROR(EnsureSystemDisk(inst, true, image));
    }
    inst.image_id = image;
    CVM_RETURN_IF_ERROR(WriteSeed(inst));
    if (was_running) {
      CVM_RETURN_IF_ERROR(BootVm(inst));
      final_state = "RUNNING";
    }
    return Status::Ok();
  }
  return Status(kind::kBug, "unknown operation " + a);
}

Result<store::DiskRecord> Engine::SystemDisk(const std::string& instance_id) {
  auto disks = store::DisksOfInstance(db_, instance_id);
  if (!disks.ok()) return disks.status();
  for (auto& d : *disks) {
    if (d.usage == "SYSTEM_DISK") return std::move(d);
  }
  return Status(kind::kBug, "instance " + instance_id + " has no system disk");
}

Status Engine::EnsureSystemDisk(const store::InstanceRecord& inst, bool recreate,
                                const std::string& image_id) {
  auto system_disk = SystemDisk(inst.instance_id);
  if (!system_disk.ok()) return system_disk.status();
  auto file = store::ImageFilePath(db_, image_id);
  if (!file.ok()) return file.status();
  if (!file->has_value()) return Status(kind::kBug, "image record missing");
  const std::string disk_id = system_disk->disk_id;
  const int64_t size_gb = system_disk->size_gb;
  const fs::path image_file = **file;
  fs::path disk = DiskPath(disk_id);
  if (fs::exists(disk) && !recreate) return Status::Ok();
  // Built under a temporary name and renamed: a crash never leaves a half-made disk in place.
  const fs::path tmp = TmpPath(disk);
  CVM_RETURN_IF_ERROR(
      MakeFile(tmp, [&] { return images_->CreateOverlay(tmp, image_file, size_gb << 30); }));
  CVM_RETURN_IF_ERROR(PlaceFile(tmp, disk));
  if (recreate) {
    return store::WithTransaction(
        db_, [&](store::Transaction& tx) { return store::SetDiskImage(tx, disk_id, image_id); });
  }
  return Status::Ok();
}

Status Engine::EnsureDataDisks(const store::InstanceRecord& inst) {
  auto disks = store::DisksOfInstance(db_, inst.instance_id);
  if (!disks.ok()) return disks.status();
  for (const auto& d : *disks) {
    if (d.usage != "DATA_DISK" || fs::exists(DiskPath(d.disk_id))) continue;
    CVM_RETURN_IF_ERROR(CreateDiskFile(d.disk_id, d.size_gb, d.source_snapshot_id));
  }
  return Status::Ok();
}

Status Engine::WriteSeed(store::InstanceRecord& inst) {
  drivers::guest::SeedConfig seed;
  seed.instance_id = inst.instance_id;
  seed.hostname = inst.host_name;
  for (const auto& key_id : inst.key_ids) {
    auto key = store::PublicKeyOf(db_, key_id);
    if (key.ok() && key->has_value()) seed.ssh_authorized_keys.push_back(**key);
  }
  // A '!' in front of the hash: keys were bound, which turns password login off.
  const bool locked = !inst.password_hash.empty() && inst.password_hash[0] == '!';
  std::string hash = locked ? inst.password_hash.substr(1) : inst.password_hash;
  if (!hash.empty()) seed.root_password_hash = hash;
  if (!hash.empty() || !inst.key_ids.empty()) seed.ssh_pwauth = !hash.empty() && !locked;
  seed.user_data = inst.user_data;
  CVM_RETURN_IF_ERROR(network_->EnsureAddressed(inst));
  auto address = network_->Address(inst);
  if (!address.ok()) return address.status();
  drivers::guest::SeedConfig::Net nic;
  nic.mac = inst.mac;
  nic.address_cidr = address->address_cidr;
  nic.gateway = address->gateway;
  nic.dns = address->dns;
  seed.nics.push_back(nic);
  fs::path run = RunDir(inst.instance_id);
  std::error_code ec;
  fs::create_directories(run, ec);
  return drivers::guest::WriteSeedIso(seed, run / "seed.iso");
}

Status Engine::BootVm(store::InstanceRecord& inst) {
  fs::path run = RunDir(inst.instance_id);
  auto status = hv_->Inspect(run, 2s);
  if (status.ok() && status->running) {  // already booted (a resumed step)
    Watch(inst.instance_id);
    return Status::Ok();
  }
  auto disk = SystemDisk(inst.instance_id);
  if (!disk.ok()) return disk.status();
  auto data_disks = DataDiskSpecs(inst.instance_id);
  if (!data_disks.ok()) return data_disks.status();

  auto nic = network_->Plug(inst);
  if (!nic.ok()) return nic.status();
  qemu::VmSpec spec;
  spec.instance_id = inst.instance_id;
  spec.run_dir = run;
  spec.vcpus = inst.cpu;
  spec.memory_mib = inst.memory_mib;
  spec.accel = options_.accel;
  spec.system_disk = DiskSpecFor(disk->disk_id, disk->disk_type, disk->size_gb);
  spec.data_disks = std::move(*data_disks);
  spec.seed_iso = (run / "seed.iso").string();
  spec.nics.push_back({.tap_ifname = nic->tap, .mac = nic->mac});
  spec.launcher = network_->Launcher();
  {
    std::lock_guard lock(watch_mu_);
    guest_shutdowns_.erase(inst.instance_id);
  }
  // A VM that did not start (an error or an exception) gives its tap and chains back.
  struct UnplugUnlessStarted {
    InstanceNetwork& network;
    const store::InstanceRecord& inst;
    bool started = false;
    ~UnplugUnlessStarted() {
      if (!started) network.Unplug(inst);
    }
  } plugged{*network_, inst};
  CVM_RETURN_IF_ERROR(hv_->Start(spec));
  plugged.started = true;
  inst.started_at = NowUnix();
  Watch(inst.instance_id);
  auto port = network_->OpenSshForward(inst, inst.ssh_port);
  if (!port.ok()) return port.status();
  inst.ssh_port = *port;
  return store::WithTransaction(db_, [&](store::Transaction& tx) {
    return store::SetInstanceBooted(tx, inst.instance_id, inst.ssh_port, inst.started_at);
  });
}

Status Engine::ShutdownVm(const store::InstanceRecord& inst, const std::string& stop_type) {
  fs::path run = RunDir(inst.instance_id);
  auto status = hv_->Inspect(run, 2s);
  if (status.ok() && !status->running) {
    Unwatch(inst.instance_id);
    CVM_RETURN_IF_ERROR(hv_->Kill(run, 5s));  // tidies a stale pidfile
    network_->Unplug(inst);
    return Status::Ok();
  }
  if (stop_type != "HARD") {
    // The button is pressed again at an interval: a guest still booting misses a press (its
    // ACPI handler is not listening yet), as Nova's soft shutdown retries.
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + options_.soft_stop_timeout;
    auto next_press = start;
    bool off = false;
    while (!off && std::chrono::steady_clock::now() < deadline) {
      if (std::chrono::steady_clock::now() >= next_press) {
        if (Status pd = hv_->PowerDown(run); !pd.ok()) {
          spdlog::info("engine: power button of {}: {}", inst.instance_id, pd.ToString());
        }
        next_press += options_.power_button_interval;
      }
      auto s = hv_->Inspect(run, 1s);
      off = s.ok() && !s->running;
      if (!off) std::this_thread::sleep_for(100ms);
    }
    auto s = hv_->Inspect(run, 1s);
    if (s.ok() && s->running) {
      if (stop_type == "SOFT") {
        return Status(err::kFailedOperation,
                      "The guest did not shut down within " +
                          std::to_string(options_.soft_stop_timeout.count()) +
                          " s; use StopType HARD or SOFT_FIRST.");
      }
      spdlog::info("engine: {} ignored the power button; forcing it off", inst.instance_id);
    }
  }
  Unwatch(inst.instance_id);
  CVM_RETURN_IF_ERROR(hv_->Kill(run, 3s));
  network_->Unplug(inst);
  return Status::Ok();
}

Status Engine::DestroyInstanceFiles(const store::InstanceRecord& inst) {
  auto disks = store::DisksOfInstance(db_, inst.instance_id);
  if (!disks.ok()) return disks.status();
  std::error_code ec;
  for (const auto& d : *disks) {
    if (d.usage == "SYSTEM_DISK" || d.delete_with_instance) fs::remove(DiskPath(d.disk_id), ec);
  }
  fs::remove_all(RunDir(inst.instance_id), ec);
  return store::WithTransaction(db_, [&](store::Transaction& tx) {
    return store::ReleaseInstanceDisks(tx, inst.instance_id);
  });
}

void Engine::Watch(const std::string& id) {
  std::lock_guard lock(watch_mu_);
  if (watchers_.count(id)) return;
  auto w = hv_->Watch(
      RunDir(id),
      [this, id](const qemu::VmEvent& ev) {
        if (ev.name == "SHUTDOWN" && ev.data.value("guest", false)) {
          std::lock_guard l(watch_mu_);
          guest_shutdowns_.insert(id);
        }
        // A guest may release a disk after DetachDisks gave up waiting (e.g. it was paused).
        std::string device = ev.data.value("device", "");
        if (ev.name == "DEVICE_DELETED" && device.rfind("disk-", 0) == 0) {
          Post([this, id, device] { OnDiskReleased(id, device); });
        }
      },
      [this, id](const Status& why) { Post([this, id, why] { OnVmExited(id, why.message()); }); });
  if (w.ok()) {
    watchers_[id] = std::move(*w);
  } else {
    spdlog::warn("engine: cannot watch {}: {}", id, w.status().ToString());
  }
}

void Engine::Unwatch(const std::string& id) {
  std::unique_ptr<VmWatch> w;
  {
    std::lock_guard lock(watch_mu_);
    auto it = watchers_.find(id);
    if (it == watchers_.end()) return;
    w = std::move(it->second);
    watchers_.erase(it);
  }
  w.reset();  // joins the watcher thread outside watch_mu_ (its callbacks take that lock)
}

void Engine::OnVmExited(const std::string& id, const std::string& why) {
  std::lock_guard inst_lock(InstanceLock(id));
  Unwatch(id);
  auto inst = store::LoadInstance(db_, id);
  if (!inst.ok() || !inst->has_value()) return;
  // An operation in flight owns the outcome; only an instance at rest changes here.
  if ((*inst)->state != "RUNNING") return;
  if (VmRunning(id)) {  // a stale disconnect; the VM is alive
    Watch(id);
    return;
  }
  bool by_guest;
  {
    std::lock_guard lock(watch_mu_);
    by_guest = guest_shutdowns_.erase(id) > 0;
  }
  std::string reason =
      by_guest ? "the guest powered itself off" : "QEMU exited unexpectedly (" + why + ")";
  spdlog::info("engine: {} stopped: {}", id, reason);
  if (Status st = hv_->Kill(RunDir(id), 1s); !st.ok()) {
    spdlog::warn("engine: tidying {}'s run directory: {}", id, st.ToString());
  }
  network_->Unplug(**inst);
  // Failing, the store still says RUNNING: the reconciler finds QEMU gone and writes it again.
  if (Status st = SetState(id, "STOPPED", reason); !st.ok()) {
    spdlog::error("engine: recording that {} stopped: {}", id, st.ToString());
  }
}

void Engine::OnDiskReleased(const std::string& instance_id, const std::string& disk_id) {
  std::lock_guard inst_lock(InstanceLock(instance_id));
  auto disk = store::LoadDisk(db_, disk_id);
  // A detach in flight finishes it itself; only a disk the store still calls ATTACHED is late.
  if (!disk.ok() || !disk->has_value() || (*disk)->instance_id != instance_id ||
      (*disk)->state != "ATTACHED") {
    return;
  }
  Status st = hv_->HotUnplugDisk(RunDir(instance_id), disk_id, 1s);
  if (!st.ok()) {
    spdlog::warn("engine: {} released by {} but not removed: {}", disk_id, instance_id,
                 st.ToString());
    return;
  }
  spdlog::info("engine: the guest of {} released {} late; it is detached now", instance_id,
               disk_id);
  Status written = store::WithTransaction(db_, [&](store::Transaction& tx) {
    return store::MarkDiskReleased(tx, disk_id, instance_id);
  });
  if (!written.ok()) {
    spdlog::error("engine: recording that {} left {}: {}", disk_id, instance_id,
                  written.ToString());
  }
}

void Engine::Reconcile(bool at_start) {
  FreeUnusedImageFiles();
  auto live = store::ListLiveInstances(db_);
  if (!live.ok()) {
    spdlog::error("reconcile: {}", live.status().ToString());
    return;
  }
  std::set<std::string> known;
  for (const auto& seen : *live) {
    known.insert(seen.instance_id);
    if (IsTransitional(seen.state)) continue;  // its operation decides (resumed below)
    const bool running = VmRunning(seen.instance_id);
    const bool at_rest_stopped = seen.state == "STOPPED" || seen.state == "LAUNCH_FAILED";
    if (seen.state == "RUNNING" && running && !at_start) {
      std::lock_guard lock(watch_mu_);
      if (watchers_.count(seen.instance_id)) continue;  // nothing to change
    }
    if (seen.state != "RUNNING" && !(running && at_rest_stopped)) continue;
    // A change: under the instance's lock, on the instance and the VM as they are now (an
    // operation may have started or stopped it since the read above).
    std::lock_guard inst_lock(InstanceLock(seen.instance_id));
    auto again = store::LoadInstance(db_, seen.instance_id);
    if (!again.ok() || !again->has_value()) continue;
    const store::InstanceRecord& inst = **again;
    const bool runs = VmRunning(inst.instance_id);
    if (inst.state == "RUNNING" && runs) {
      Watch(inst.instance_id);  // re-attach; never reboot a guest
      if (at_start) {
        if (auto port = network_->OpenSshForward(inst, inst.ssh_port); !port.ok()) {
          spdlog::warn("reconcile: SSH forward of {}: {}", inst.instance_id,
                       port.status().ToString());
        }
      }
    } else if (inst.state == "RUNNING") {
      spdlog::warn("reconcile: {} is not running; marking it STOPPED", inst.instance_id);
      Unwatch(inst.instance_id);
      network_->Unplug(inst);
      Status st = SetState(
          inst.instance_id, "STOPPED",
          at_start ? "found stopped when the daemon started" : "QEMU was found not running");
      if (!st.ok()) spdlog::error("reconcile: {}: {}", inst.instance_id, st.ToString());
    } else if (runs && (inst.state == "STOPPED" || inst.state == "LAUNCH_FAILED")) {
      spdlog::warn("reconcile: {} is {} but QEMU runs; stopping it", inst.instance_id, inst.state);
      if (Status st = hv_->Kill(RunDir(inst.instance_id), 5s); !st.ok()) {
        spdlog::error("reconcile: stopping {}: {}", inst.instance_id, st.ToString());
      }
    }
  }
  if (!at_start) return;

  // Image files no record claims, and every half-made one: removed before any operation runs
  // (Start resumes them only after this), so a resumed copy starts on a fresh file (a qemu-img
  // orphaned by the crash may still hold the old one's lock; unlinked, it writes on harmlessly).
  RemoveUnclaimedFiles(store::ImagesWithFiles(db_), options_.data_dir / "images/private", "image");
  // Orphans: a run directory the store does not know holds a QEMU nobody manages.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.data_dir / "run/instances", ec)) {
    std::string id = entry.path().filename().string();
    if (known.count(id)) continue;
    spdlog::warn("reconcile: orphan run directory {}; stopping its QEMU and removing it", id);
    if (Status st = hv_->Kill(entry.path(), 2s); !st.ok()) {
      spdlog::error("reconcile: stopping the QEMU of {}: {}", id, st.ToString());
    }
    fs::remove_all(entry.path(), ec);
  }
  // A leftover of an interrupted create, or of a deleted record: never data a user sees.
  RemoveUnclaimedFiles(store::LiveDiskIds(db_), options_.data_dir / "disks", "disk");
  RemoveUnclaimedFiles(store::LiveSnapshotIds(db_), options_.data_dir / "snapshots", "snapshot");
}

void Engine::ResumeOperations() {
  // What a crash interrupted, or what a failed final write left unfinished: every step checks
  // what is already done. Submit drops an operation already queued or running.
  auto ops = store::UnfinishedOperationIds(db_);
  if (!ops.ok()) {
    spdlog::error("reconcile: unfinished operations: {}", ops.status().ToString());
    return;
  }
  for (const auto& id : *ops) {
    {
      std::lock_guard lock(in_flight_mu_);
      if (in_flight_.count(id)) continue;
    }
    spdlog::info("reconcile: resuming operation {}", id);
    Submit(id);
  }
}

Status Engine::SyncNetwork() { return network_->Sync(); }

}  // namespace cvm::engine
