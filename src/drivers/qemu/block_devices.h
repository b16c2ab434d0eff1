// Disks of a running VM, over its QMP monitor: hot-plug, hot-unplug, online growth and
// point-in-time copies. Every function is idempotent (it checks what QEMU already has before
// acting), so an operation interrupted by a daemon crash can simply be run again.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "common/status.h"
#include "drivers/qemu/qemu_vm.h"

namespace cvm::drivers::qemu {

// Whether the VM has a device with this id (qdev, /machine/peripheral).
Result<bool> HasDevice(const std::filesystem::path& run_dir, const std::string& device_id);

// Adds the disk's throttle group, block node tree and virtio device (serial = its id), as the
// command line would have. OK at once when the device is already there.
Status HotplugDisk(const std::filesystem::path& run_dir, const DiskSpec& disk);

// Asks the guest to release the device (ACPI), waits up to `guest_timeout` for it to go, then
// removes the block nodes and throttle group. A guest that keeps the device gives
// ResourceBusy and the disk stays plugged and intact. OK when nothing is left to remove.
Status HotUnplugDisk(const std::filesystem::path& run_dir, const std::string& disk_id,
                     std::chrono::milliseconds guest_timeout);

// The disk's virtual size as QEMU sees it, in bytes.
Result<int64_t> LiveDiskSize(const std::filesystem::path& run_dir, const std::string& disk_id);

// Grows the disk while the guest runs (block_resize on the device's node, so every layer and the
// guest see the new size). No-op when it is already at least that large.
Status GrowDiskLive(const std::filesystem::path& run_dir, const std::string& disk_id,
                    int64_t bytes);

// Copies the disk as it is at this instant, flattened (backing files included), into `target`,
// an existing empty qcow2 of the same virtual size: a blockdev-backup (sync full) job. The guest
// keeps running and writing; the copy is point-in-time.
Status CopyDiskLive(const std::filesystem::path& run_dir, const std::string& disk_id,
                    const std::filesystem::path& target, std::chrono::milliseconds timeout);

}  // namespace cvm::drivers::qemu
