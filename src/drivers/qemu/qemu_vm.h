// The hypervisor driver: QEMU processes driven over QMP, no libvirt.
//
// A VM is a daemonized qemu-system-x86_64 whose whole runtime state lives in its run directory:
//   qemu.pid      pidfile written by QEMU
//   qmp.sock      QMP monitor for commands (short-lived connections, one at a time per VM)
//   events.sock   second QMP monitor, held open by VmEventWatcher for asynchronous events
//   serial.sock   the serial console (interactive; nothing needs to be connected)
//   console.log   everything the serial console printed, appended across boots
//                 (rotated to console.log.1 at start once larger than 1 MiB)
//   vnc.sock      VNC server of the VGA display
//   qga.sock      the guest agent's virtio-serial port (org.qemu.guest_agent.0), see qga_client.h
// VMs outlive the daemon: a restarted daemon re-attaches through these files (InspectVm and
// friends take only the run directory) and never reboots a guest.
//
// QEMU runs without -no-shutdown and without -no-reboot: a guest reboot is a RESET event and the
// VM keeps running; a guest poweroff is a SHUTDOWN event followed by the process exiting.
//
// Functions here are thread-safe; QMP commands on one VM are serialized internally.
// Only the engine calls them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace cvm::drivers::qemu {

// I/O limits of one disk, enforced by a QEMU throttle group of its own. Zero: unlimited.
struct ThrottleLimits {
  int64_t iops_total = 0;
  int64_t bps_total = 0;
};

struct DiskSpec {
  std::string id;    // e.g. "disk-abc123"; QEMU device id. Letters, digits, '-', '_', '.'
  std::string path;  // image file
  std::string format = "qcow2";  // "qcow2" or "raw"
  bool read_only = false;
  std::string serial;  // virtio serial (max 20 bytes), defaults to id; guest sees
                       // /dev/disk/by-id/virtio-<serial>
  // With limits, the device sits on a throttle filter node ("throttle-<id>", group "tg-<id>")
  // above the format node, so the limits can change later without re-plugging.
  std::optional<ThrottleLimits> throttle;
};

// Block-layer node names derived from the disk id, so hot-plug/unplug can find them.
std::string DiskFormatNodeName(const std::string& disk_id);     // "drive-<id>", the image format
std::string DiskFileNodeName(const std::string& disk_id);       // "file-<id>", the protocol node
std::string DiskThrottleNodeName(const std::string& disk_id);   // "throttle-<id>"
std::string DiskThrottleGroupName(const std::string& disk_id);  // "tg-<id>"
// The node the virtio device is attached to: the throttle node when limited, else the format.
std::string DiskDeviceNodeName(const DiskSpec& d);
// The QMP/-blockdev, -object and -device definitions of a disk (one tree, one device), shared by
// the command line and hot-plug so both build the same topology.
nlohmann::json DiskBlockdevJson(const DiskSpec& d);
nlohmann::json DiskThrottleGroupJson(const DiskSpec& d);  // requires d.throttle
nlohmann::json DiskDeviceJson(const DiskSpec& d);

struct NicSpec {
  std::string tap_ifname;  // existing tap device, in the namespace QEMU runs in
  std::string mac;         // "52:54:00:xx:xx:xx"
};

struct VmSpec {
  std::string instance_id;        // QEMU -name; letters, digits, '-', '_'
  std::filesystem::path run_dir;  // created if missing; absolute path recommended
  int vcpus = 1;
  int memory_mib = 512;
  std::string accel = "tcg";  // "kvm" or "tcg" (see accel_probe.h)
  DiskSpec system_disk;       // empty path: no system disk (tests boot -kernel via extra_args)
  std::optional<std::string> seed_iso;  // NoCloud seed; attached read-only, serial "cidata"
  std::vector<DiskSpec> data_disks;
  std::vector<NicSpec> nics;
  // Start with the CPUs stopped (-S, status "prelaunch") so that a VmEventWatcher can attach
  // before the guest runs and no early SHUTDOWN/RESET is missed; then ResumeVm.
  bool start_paused = false;
  std::vector<std::string> extra_args;  // appended verbatim; tests only
  // Prefix of the QEMU command line, e.g. nsenter into the namespace holding the NICs' taps.
  std::vector<std::string> launcher;
  std::string qemu_binary = "qemu-system-x86_64";
};

// Paths inside a run directory.
std::filesystem::path PidfilePath(const std::filesystem::path& run_dir);
std::filesystem::path QmpSocketPath(const std::filesystem::path& run_dir);
std::filesystem::path EventsSocketPath(const std::filesystem::path& run_dir);
std::filesystem::path SerialSocketPath(const std::filesystem::path& run_dir);
std::filesystem::path ConsoleLogPath(const std::filesystem::path& run_dir);
std::filesystem::path VncSocketPath(const std::filesystem::path& run_dir);
std::filesystem::path QgaSocketPath(const std::filesystem::path& run_dir);

// The full QEMU argv StartVm runs (validated spec assumed). Exposed for tests and logs.
Result<std::vector<std::string>> BuildQemuArgv(const VmSpec& spec);

// Starts the VM and returns once its QMP monitor answers (query-status), within `timeout`;
// otherwise kills whatever started and cleans up. If a QEMU of this run directory is already
// running, returns OK without touching it (idempotent engine step).
Status StartVm(const VmSpec& spec, std::chrono::milliseconds timeout = std::chrono::seconds(30));

struct VmStatus {
  bool running = false;    // our QEMU process for this run dir is alive
  pid_t pid = 0;           // valid when running
  bool qmp_ok = false;     // QMP answered query-status in time
  std::string qmp_status;  // "running", "paused", "shutdown", "prelaunch", ... when qmp_ok
  std::string qmp_error;   // why QMP did not answer (e.g. process stopped) when !qmp_ok
};

// Reality check for one VM: reads the pidfile, verifies that /proc/<pid>/cmdline is a QEMU
// started for this run directory (guards against pid reuse), then asks QMP. A running process
// whose QMP does not answer reports running=true, qmp_ok=false (never blocks longer than
// qmp_timeout). Errors only for unexpected local failures.
Result<VmStatus> InspectVm(const std::filesystem::path& run_dir,
                           std::chrono::milliseconds qmp_timeout = std::chrono::seconds(2));

// ACPI power button (system_powerdown). The guest decides; expect SHUTDOWN and exit if it obeys.
Status PowerDownVm(const std::filesystem::path& run_dir,
                   std::chrono::milliseconds timeout = std::chrono::seconds(5));
// Starts the CPUs of a VM started paused or stopped with "stop" (QMP cont).
Status ResumeVm(const std::filesystem::path& run_dir,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));
// Hard reset (system_reset); the process keeps running.
Status ResetVm(const std::filesystem::path& run_dir,
               std::chrono::milliseconds timeout = std::chrono::seconds(5));
// Stops the VM for good: QMP "quit" (QEMU flushes disks), SIGKILL if the process still lives after
// `grace`, then removes pidfile and sockets. Idempotent: OK when nothing runs. A pidfile naming a
// process that is not our QEMU is removed, that process left alone.
Status KillVm(const std::filesystem::path& run_dir,
              std::chrono::milliseconds grace = std::chrono::seconds(5));

// Any other QMP command on the command monitor (device_add, blockdev-add, query-block, ...).
Result<nlohmann::json> ExecuteQmp(const std::filesystem::path& run_dir, std::string_view command,
                                  const nlohmann::json& args = nlohmann::json::object(),
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A command to the guest agent (qga.sock; see qga_client.h). kTimeout when no agent answers
// within `timeout` (none installed, not started yet, guest paused), kUnavailable when the VM
// does not run. Serialized per VM; never waits longer than `timeout`.
Result<nlohmann::json> ExecuteQga(const std::filesystem::path& run_dir, std::string_view command,
                                  const nlohmann::json& args = nlohmann::json::object(),
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

struct VmEvent {
  std::string name;     // "SHUTDOWN", "RESET", "POWERDOWN", "DEVICE_DELETED", "BLOCK_JOB_*", ...
  nlohmann::json data;  // e.g. SHUTDOWN {"guest": true, "reason": "guest-shutdown"}
  nlohmann::json raw;   // the whole QMP event including its timestamp
};

// Holds the events monitor (events.sock) of one VM on its own thread and reports:
//   on_event      for SHUTDOWN, RESET, POWERDOWN, DEVICE_DELETED, BLOCK_JOB_*, GUEST_PANICKED,
//                 STOP, RESUME (other events are dropped);
//   on_disconnect once, when the monitor connection ends without Stop(): the process exited
//                 (after SHUTDOWN, on "quit", or killed, also by SIGKILL).
// Callbacks run on the watcher thread, must be quick, and must not destroy the watcher.
// One watcher per VM (QEMU serves one client per monitor). Events that happened while no
// watcher was connected are lost; the reconciler covers them.
class VmEventWatcher {
 public:
  using EventCallback = std::function<void(const VmEvent&)>;
  using DisconnectCallback = std::function<void(const Status& why)>;

  static Result<std::unique_ptr<VmEventWatcher>> Start(
      const std::filesystem::path& run_dir, EventCallback on_event,
      DisconnectCallback on_disconnect,
      std::chrono::milliseconds connect_timeout = std::chrono::seconds(5));

  VmEventWatcher(const VmEventWatcher&) = delete;
  VmEventWatcher& operator=(const VmEventWatcher&) = delete;
  ~VmEventWatcher();  // Stop()

  // Ends the thread without calling on_disconnect. Idempotent.
  void Stop();

 private:
  VmEventWatcher() = default;
  void Run();

  struct State;
  std::unique_ptr<State> state_;
  std::thread thread_;
};

}  // namespace cvm::drivers::qemu
