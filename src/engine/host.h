// What the engine needs from the machine, as interfaces (as LevelDB's Env): the hypervisor, the
// disk and image files qemu-img makes, HTTP transfers and the instances' network. The real
// implementations (drivers/qemu, drivers/http, NetworkPlane) are the only production ones; unit
// tests inject failures (a QMP timeout, a full disk, a dead server) through fakes.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "drivers/http/download.h"
#include "drivers/http/upload.h"
#include "drivers/qemu/image_files.h"
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

// Disk and image files (qcow2 unless said otherwise). A call that fails may leave a partial
// `out` behind (a full disk stops qemu-img half-way): the engine removes it.
class DiskImages {
 public:
  using Ms = std::chrono::milliseconds;
  virtual ~DiskImages() = default;

  virtual Status Create(const std::filesystem::path& out, int64_t bytes) = 0;
  // A copy-on-write disk over `base` (a read-only image file), `bytes` large.
  virtual Status CreateOverlay(const std::filesystem::path& out, const std::filesystem::path& base,
                               int64_t bytes) = 0;
  // A flattened copy of a qcow2 file the engine made, as `format` (qcow2, raw, vpc, vmdk, ...).
  virtual Status Convert(const std::filesystem::path& source, const std::string& format,
                         const std::filesystem::path& out, Ms timeout) = 0;
  virtual Status Resize(const std::filesystem::path& file, int64_t bytes) = 0;
  virtual Result<int64_t> VirtualSize(const std::filesystem::path& file) = 0;
  // A byte-for-byte copy (reflinked where the file system can).
  virtual Status Copy(const std::filesystem::path& source, const std::filesystem::path& out) = 0;
  // An untrusted file from outside: inspected (and refused as InspectUntrustedImage says), then
  // converted to qcow2 under resource limits.
  virtual Result<drivers::qemu::ImageFileInfo> InspectUntrusted(const std::filesystem::path& file,
                                                                int64_t max_virtual_bytes) = 0;
  virtual Status ImportUntrusted(const std::filesystem::path& source, const std::string& format,
                                 const std::filesystem::path& out) = 0;
  // What the file system holding `dir` can hold, in bytes (0 when unknown).
  virtual int64_t Capacity(const std::filesystem::path& dir) = 0;
};

// qemu-img and the local file system.
std::unique_ptr<DiskImages> NewQemuDiskImages();

// Image files fetched from and sent to HTTP servers (drivers/http in production).
class Transfers {
 public:
  virtual ~Transfers() = default;
  virtual Status Download(const std::string& url, const std::filesystem::path& out,
                          const drivers::http::DownloadLimits& limits) = 0;
  virtual Status Upload(const std::filesystem::path& file, const std::string& url,
                        const drivers::http::UploadLimits& limits,
                        const drivers::http::UploadProgress& progress) = 0;
};

std::unique_ptr<Transfers> NewHttpTransfers();

// What a booting VM needs from the network.
struct NicAttachment {
  std::string tap, mac;
  std::string address_cidr;  // "172.16.0.4/20": the guest's address in its subnet
  std::string gateway;
  std::vector<std::string> dns;  // the VPC's DnsServers: the resolvers the guest is given
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
  std::unique_ptr<DiskImages> images;
  std::unique_ptr<Transfers> transfers;
};

}  // namespace cvm::engine
