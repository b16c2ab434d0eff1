// What the engine needs from the machine, as interfaces (as LevelDB's Env): the hypervisor and
// the instances' network. The real implementations (drivers/qemu, NetworkPlane) are the only
// production ones; unit tests inject failures through fakes.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "drivers/qemu/qemu_vm.h"
#include "store/instance_records.h"

namespace cvm::engine {

// Watching one VM's events; destroying it stops the watch (its callbacks no longer run).
class VmWatch {
 public:
  virtual ~VmWatch() = default;
};

class Hypervisor {
 public:
  using Ms = std::chrono::milliseconds;
  virtual ~Hypervisor() = default;

  virtual Result<drivers::qemu::VmStatus> Inspect(const std::filesystem::path& run_dir,
                                                  Ms qmp_timeout) = 0;
  virtual Status Start(const drivers::qemu::VmSpec& spec) = 0;
  virtual Status PowerDown(const std::filesystem::path& run_dir) = 0;
  virtual Status Reset(const std::filesystem::path& run_dir) = 0;
  virtual Status Kill(const std::filesystem::path& run_dir, Ms grace) = 0;
  virtual Result<std::unique_ptr<VmWatch>> Watch(
      const std::filesystem::path& run_dir, drivers::qemu::VmEventWatcher::EventCallback on_event,
      drivers::qemu::VmEventWatcher::DisconnectCallback on_disconnect) = 0;

  virtual Status HotplugDisk(const std::filesystem::path& run_dir,
                             const drivers::qemu::DiskSpec& disk) = 0;
  virtual Status HotUnplugDisk(const std::filesystem::path& run_dir, const std::string& disk_id,
                               Ms guest_timeout) = 0;
  virtual Result<int64_t> LiveDiskSize(const std::filesystem::path& run_dir,
                                       const std::string& disk_id) = 0;
  virtual Status GrowDiskLive(const std::filesystem::path& run_dir, const std::string& disk_id,
                              int64_t bytes) = 0;
  virtual Status CopyDiskLive(const std::filesystem::path& run_dir, const std::string& disk_id,
                              const std::filesystem::path& target, Ms timeout) = 0;
};

// QEMU through drivers/qemu.
std::unique_ptr<Hypervisor> NewQemuHypervisor();

// What a booting VM needs from the network.
struct NicAttachment {
  std::string tap, mac;
  std::string address_cidr;  // "172.16.0.4/20": the guest's address in its subnet
  std::string gateway;
};

// The instances' network as the engine uses it (NetworkPlane in production).
class InstanceNetwork {
 public:
  virtual ~InstanceNetwork() = default;
  virtual Status Start() = 0;
  virtual Status Sync() = 0;
  virtual Status EnsureAddressed(store::InstanceRecord& inst) = 0;
  virtual Result<NicAttachment> Address(const store::InstanceRecord& inst) = 0;
  virtual Result<NicAttachment> Plug(const store::InstanceRecord& inst) = 0;
  virtual void Unplug(const store::InstanceRecord& inst) = 0;
  virtual Result<int> OpenSshForward(const store::InstanceRecord& inst, int preferred) = 0;
  // The prefix QEMU's command line needs to reach the taps (e.g. nsenter into a namespace).
  virtual std::vector<std::string> Launcher() const = 0;
};

// Drivers an Engine uses; an empty one is the real one.
struct EngineDrivers {
  std::unique_ptr<Hypervisor> hypervisor;
  std::unique_ptr<InstanceNetwork> network;
};

}  // namespace cvm::engine
