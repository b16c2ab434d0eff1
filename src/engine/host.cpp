#include "engine/host.h"

#include <sys/statvfs.h>

#include <nlohmann/json.hpp>

#include "common/error_codes.h"
#include "common/subprocess.h"
#include "drivers/qemu/block_devices.h"

namespace cvm::engine {

namespace fs = std::filesystem;
namespace qemu = drivers::qemu;
using namespace std::chrono_literals;

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

// Runs `argv`; a non-zero exit fails with `failure_kind` as "<what> failed: <its stderr>".
Status RunTool(const std::vector<std::string>& argv, std::chrono::seconds timeout,
               std::string_view failure_kind, const std::string& what) {
  auto r = RunProcess(argv, timeout);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return Status(failure_kind, what + " failed: " + r->stderr_data.substr(0, 300));
  }
  return Status::Ok();
}

// `qemu-img <args>`.
Status RunQemuImg(std::vector<std::string> args, std::chrono::seconds timeout) {
  args.insert(args.begin(), "qemu-img");
  return RunTool(args, timeout, kind::kExternal, "qemu-img " + args[1]);
}

class QemuDiskImages : public DiskImages {
 public:
  Status Create(const fs::path& out, int64_t bytes) override {
    return RunQemuImg({"create", "-q", "-f", "qcow2", out.string(), std::to_string(bytes)}, 60s);
  }
  Status CreateOverlay(const fs::path& out, const fs::path& base, int64_t bytes) override {
    return RunQemuImg({"create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                       fs::absolute(base).string(), out.string(), std::to_string(bytes)},
                      60s);
  }
  Status Convert(const fs::path& source, const std::string& format, const fs::path& out,
                 Ms timeout) override {
    std::vector<std::string> args = {"convert", "-q", "-f", "qcow2", "-O", format};
    // VHD ("vpc") otherwise rounds the size up to a disk geometry: the copy would be larger.
    if (format == "vpc") args.insert(args.end(), {"-o", "force_size=on"});
    args.insert(args.end(), {source.string(), out.string()});
    return RunQemuImg(std::move(args), std::chrono::duration_cast<std::chrono::seconds>(timeout));
  }
  Status Resize(const fs::path& file, int64_t bytes) override {
    return RunQemuImg({"resize", "-q", "-f", "qcow2", file.string(), std::to_string(bytes)}, 60s);
  }
  Result<int64_t> VirtualSize(const fs::path& file) override {
    auto r = RunProcess({"qemu-img", "info", "--output=json", "-U", file.string()}, 30s);
    if (!r.ok()) return r.status();
    auto info = nlohmann::json::parse(r->stdout_data, nullptr, false);
    if (r->exit_code != 0 || info.is_discarded()) {
      return Status(kind::kExternal, "qemu-img info " + file.string() + ": " + r->stderr_data);
    }
    return info.value("virtual-size", int64_t{0});
  }
  Status Copy(const fs::path& source, const fs::path& out) override {
    return RunTool({"cp", "--reflink=auto", "--sparse=always", source.string(), out.string()},
                   60min, kind::kExternal, "copying " + source.filename().string());
  }
  Result<qemu::ImageFileInfo> InspectUntrusted(const fs::path& file,
                                               int64_t max_virtual_bytes) override {
    return qemu::InspectUntrustedImage(file, max_virtual_bytes);
  }
  Status ImportUntrusted(const fs::path& source, const std::string& format,
                         const fs::path& out) override {
    return RunTool(qemu::LimitedQemuImg({"convert", "-q", "-f", format, "-O", "qcow2",
                                         source.string(), out.string()}),
                   60min, kind::kBadImage, "Converting " + source.filename().string());
  }
  int64_t Capacity(const fs::path& dir) override {
    struct statvfs info {};
    if (::statvfs(dir.c_str(), &info) != 0) return 0;
    return static_cast<int64_t>(info.f_blocks) * static_cast<int64_t>(info.f_frsize);
  }
};

class HttpTransfers : public Transfers {
 public:
  Status Download(const std::string& url, const fs::path& out,
                  const drivers::http::DownloadLimits& limits) override {
    return drivers::http::DownloadFile(url, out, limits);
  }
  Status Upload(const fs::path& file, const std::string& url,
                const drivers::http::UploadLimits& limits,
                const drivers::http::UploadProgress& progress) override {
    return drivers::http::UploadFile(file, url, limits, progress);
  }
};

}  // namespace

std::unique_ptr<Hypervisor> NewQemuHypervisor() { return std::make_unique<QemuHypervisor>(); }
std::unique_ptr<DiskImages> NewQemuDiskImages() { return std::make_unique<QemuDiskImages>(); }
std::unique_ptr<Transfers> NewHttpTransfers() { return std::make_unique<HttpTransfers>(); }

}  // namespace cvm::engine
