#include "engine/host.h"

#include "drivers/qemu/block_devices.h"

namespace cvm::engine {

namespace fs = std::filesystem;
namespace qemu = drivers::qemu;

namespace {

class QemuWatch : public VmWatch {
 public:
  explicit QemuWatch(std::unique_ptr<qemu::VmEventWatcher> w) : w_(std::move(w)) {}

 private:
  std::unique_ptr<qemu::VmEventWatcher> w_;
};

class QemuHypervisor : public Hypervisor {
 public:
  Result<qemu::VmStatus> Inspect(const fs::path& run_dir, Ms qmp_timeout) override {
    return qemu::InspectVm(run_dir, qmp_timeout);
  }
  Status Start(const qemu::VmSpec& spec) override { return qemu::StartVm(spec); }
  Status PowerDown(const fs::path& run_dir) override { return qemu::PowerDownVm(run_dir); }
  Status Reset(const fs::path& run_dir) override { return qemu::ResetVm(run_dir); }
  Status Kill(const fs::path& run_dir, Ms grace) override { return qemu::KillVm(run_dir, grace); }
  Result<std::unique_ptr<VmWatch>> Watch(
      const fs::path& run_dir, qemu::VmEventWatcher::EventCallback on_event,
      qemu::VmEventWatcher::DisconnectCallback on_disconnect) override {
    auto w = qemu::VmEventWatcher::Start(run_dir, std::move(on_event), std::move(on_disconnect));
    if (!w.ok()) return w.status();
    return std::unique_ptr<VmWatch>(std::make_unique<QemuWatch>(std::move(*w)));
  }
  Status HotplugDisk(const fs::path& run_dir, const qemu::DiskSpec& disk) override {
    return qemu::HotplugDisk(run_dir, disk);
  }
  Status HotUnplugDisk(const fs::path& run_dir, const std::string& disk_id,
                       Ms guest_timeout) override {
    return qemu::HotUnplugDisk(run_dir, disk_id, guest_timeout);
  }
  Result<int64_t> LiveDiskSize(const fs::path& run_dir, const std::string& disk_id) override {
    return qemu::LiveDiskSize(run_dir, disk_id);
  }
  Status GrowDiskLive(const fs::path& run_dir, const std::string& disk_id, int64_t bytes) override {
    return qemu::GrowDiskLive(run_dir, disk_id, bytes);
  }
  Status CopyDiskLive(const fs::path& run_dir, const std::string& disk_id, const fs::path& target,
                      Ms timeout) override {
    return qemu::CopyDiskLive(run_dir, disk_id, target, timeout);
  }
};

}  // namespace

std::unique_ptr<Hypervisor> NewQemuHypervisor() { return std::make_unique<QemuHypervisor>(); }

}  // namespace cvm::engine
