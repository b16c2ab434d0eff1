#include "drivers/qemu/block_devices.h"

#include <map>
#include <thread>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/best_effort.h"
#include "common/error_codes.h"

namespace cvm::drivers::qemu {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

Result<bool> QomHasChild(const fs::path& run_dir, const std::string& path,
                         const std::string& name) {
  auto r = ExecuteQmp(run_dir, "qom-list", {{"path", path}});
  if (!r.ok()) return r.status();
  for (const auto& p : *r) {
    if (p.value("name", "") == name) return true;
  }
  return false;
}

// The named block nodes, flat: node-name → virtual size.
Result<std::map<std::string, int64_t>> NamedNodes(const fs::path& run_dir) {
  auto r = ExecuteQmp(run_dir, "query-named-block-nodes", {{"flat", true}});
  if (!r.ok()) return r.status();
  std::map<std::string, int64_t> nodes;
  for (const auto& n : *r) {
    int64_t size = 0;
    if (n.contains("image")) size = n["image"].value("virtual-size", int64_t{0});
    nodes[n.value("node-name", "")] = size;
  }
  return nodes;
}

// The node a disk's device sits on, whichever topology it was plugged with.
Result<std::string> TopNode(const fs::path& run_dir, const std::string& disk_id) {
  auto nodes = NamedNodes(run_dir);
  if (!nodes.ok()) return nodes.status();
  if (nodes->count(DiskThrottleNodeName(disk_id))) return DiskThrottleNodeName(disk_id);
  if (nodes->count(DiskFormatNodeName(disk_id))) return DiskFormatNodeName(disk_id);
  return std::string();
}

}  // namespace

Result<bool> HasDevice(const fs::path& run_dir, const std::string& device_id) {
  return QomHasChild(run_dir, "/machine/peripheral", device_id);
}

Status HotplugDisk(const fs::path& run_dir, const DiskSpec& disk) {
  auto present = HasDevice(run_dir, disk.id);
  if (!present.ok()) return present.status();
  if (*present) return Status::Ok();
  // A crash may have left the first steps done: add only what is missing.
  if (disk.throttle) {
    auto group = QomHasChild(run_dir, "/objects", DiskThrottleGroupName(disk.id));
    if (!group.ok()) return group.status();
    if (!*group) {
      auto r = ExecuteQmp(run_dir, "object-add", DiskThrottleGroupJson(disk));
      if (!r.ok()) return r.status();
    }
  }
  auto top = TopNode(run_dir, disk.id);
  if (!top.ok()) return top.status();
  if (top->empty()) {
    auto r = ExecuteQmp(run_dir, "blockdev-add", DiskBlockdevJson(disk));
    if (!r.ok()) return r.status();
  }
  auto r = ExecuteQmp(run_dir, "device_add", DiskDeviceJson(disk));
  return r.ok() ? Status::Ok() : r.status();
}

Status HotUnplugDisk(const fs::path& run_dir, const std::string& disk_id,
                     std::chrono::milliseconds guest_timeout) {
  auto present = HasDevice(run_dir, disk_id);
  if (!present.ok()) return present.status();
  if (*present) {
    // A second device_del while the first is pending fails; the wait below covers both.
    BestEffort(ExecuteQmp(run_dir, "device_del", {{"id", disk_id}}), "device_del");
    auto deadline = Clock::now() + guest_timeout;
    for (;;) {
      auto still = HasDevice(run_dir, disk_id);
      if (!still.ok()) return still.status();
      if (!*still) break;
      if (Clock::now() >= deadline) {
        return Status(kind::kBusy,
                      "The guest did not release disk " + disk_id + " within " +
                          std::to_string(guest_timeout.count() / 1000) +
                          " s; it stays attached. Unmount it in the guest and try again.");
      }
      std::this_thread::sleep_for(50ms);
    }
  }
  // The device is gone; its node may still be referenced for a moment (QEMU finishes the unplug
  // after the device disappears), so deleting it is retried briefly.
  auto top = TopNode(run_dir, disk_id);
  if (!top.ok()) return top.status();
  if (!top->empty()) {
    Status last = Status::Ok();
    for (int attempt = 0; attempt < 40; ++attempt) {
      auto r = ExecuteQmp(run_dir, "blockdev-del", {{"node-name", *top}});
      if (r.ok()) {
        last = Status::Ok();
        break;
      }
      last = r.status();
      std::this_thread::sleep_for(50ms);
    }
    CVM_RETURN_IF_ERROR(last);
  }
  auto group = QomHasChild(run_dir, "/objects", DiskThrottleGroupName(disk_id));
  if (!group.ok()) return group.status();
  if (*group) {
    auto r = ExecuteQmp(run_dir, "object-del", {{"id", DiskThrottleGroupName(disk_id)}});
    if (!r.ok()) return r.status();
  }
  return Status::Ok();
}

Result<int64_t> LiveDiskSize(const fs::path& run_dir, const std::string& disk_id) {
  auto nodes = NamedNodes(run_dir);
  if (!nodes.ok()) return nodes.status();
  auto it = nodes->find(DiskFormatNodeName(disk_id));
  if (it == nodes->end()) {
    return Status(kind::kNotFound, "disk " + disk_id + " is not plugged into the VM");
  }
  return it->second;
}

Status GrowDiskLive(const fs::path& run_dir, const std::string& disk_id, int64_t bytes) {
  auto size = LiveDiskSize(run_dir, disk_id);
  if (!size.ok()) return size.status();
  if (*size >= bytes) return Status::Ok();
  auto top = TopNode(run_dir, disk_id);
  if (!top.ok()) return top.status();
  auto r = ExecuteQmp(run_dir, "block_resize", {{"node-name", *top}, {"size", bytes}});
  return r.ok() ? Status::Ok() : r.status();
}

namespace {

// Freezes the guest's file systems through its agent, if one answers: true when frozen. A
// freeze that timed out may still complete in the guest, so it is thawed as well.
bool FreezeGuest(const fs::path& run_dir) {
  if (!ExecuteQga(run_dir, "guest-ping", json::object(), 1s).ok()) return false;  // no agent
  auto r = ExecuteQga(run_dir, "guest-fsfreeze-freeze", json::object(), 10s);
  if (r.ok()) return true;
  spdlog::warn("qemu: {}: freezing the guest's file systems failed ({}); copying as is",
               run_dir.filename().string(), r.status().message());
  return r.status().code() == kind::kTimeout;
}

void ThawGuest(const fs::path& run_dir) {
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto r = ExecuteQga(run_dir, "guest-fsfreeze-thaw", json::object(), 5s);
    if (r.ok()) return;
    spdlog::warn("qemu: {}: thaw attempt {}: {}", run_dir.filename().string(), attempt,
                 r.status().message());
  }
}

}  // namespace

Status CopyDiskLive(const fs::path& run_dir, const std::string& disk_id, const fs::path& target,
                    std::chrono::milliseconds timeout) {
  const std::string node = "copy-" + disk_id;
  const std::string job = "copy-" + disk_id;
  auto cleanup = [&] {
    BestEffort(ExecuteQmp(run_dir, "job-dismiss", {{"id", job}}), "job-dismiss");
    BestEffort(ExecuteQmp(run_dir, "blockdev-del", {{"node-name", node}}), "blockdev-del");
  };
  cleanup();  // leftovers of an interrupted copy
  auto r = ExecuteQmp(run_dir, "blockdev-add",
                      {{"driver", "qcow2"},
                       {"node-name", node},
                       {"file", {{"driver", "file"}, {"filename", target.string()}}}});
  if (!r.ok()) return r.status();
  // The job's start fixes the point in time; the guest's file systems are frozen (flushed, no
  // writes) only around it, so the copy is consistent and the freeze lasts milliseconds.
  const auto freeze_began = Clock::now();
  const bool frozen = FreezeGuest(run_dir);
  // From the format node, below the throttle: the copy does not eat the guest's I/O budget.
  r = ExecuteQmp(run_dir, "blockdev-backup",
                 {{"job-id", job},
                  {"device", DiskFormatNodeName(disk_id)},
                  {"target", node},
                  {"sync", "full"},
                  {"auto-dismiss", false}});
  if (frozen) {
    ThawGuest(run_dir);
    spdlog::info(
        "qemu: {}: file systems frozen for {} ms around the copy of {}",
        run_dir.filename().string(),
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - freeze_began).count(),
        disk_id);
  }
  if (!r.ok()) {
    cleanup();
    return r.status();
  }
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto jobs = ExecuteQmp(run_dir, "query-jobs");
    if (!jobs.ok()) {
      cleanup();
      return jobs.status();
    }
    for (const auto& j : *jobs) {
      if (j.value("id", "") != job || j.value("status", "") != "concluded") continue;
      std::string error = j.value("error", "");
      cleanup();
      if (!error.empty()) return Status(kind::kExternal, "disk copy failed: " + error);
      return Status::Ok();
    }
    if (Clock::now() >= deadline) {
      BestEffort(ExecuteQmp(run_dir, "job-cancel", {{"id", job}}), "job-cancel");
      std::this_thread::sleep_for(200ms);
      cleanup();
      return Status(kind::kTimeout, "disk copy of " + disk_id + " timed out");
    }
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace cvm::drivers::qemu
