#include "drivers/qemu/qemu_vm.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/best_effort.h"
#include "common/error_codes.h"
#include "common/subprocess.h"
#include "drivers/qemu/qga_client.h"
#include "drivers/qemu/qmp_client.h"

namespace cvm::drivers::qemu {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uintmax_t kConsoleRotateBytes = 1 << 20;
constexpr size_t kMaxNodeName = 31;  // QEMU's BlockDriverState.node_name is char[32]
constexpr size_t kMaxVirtioSerial = 20;

Status Internal(std::string msg) { return Status(kind::kExternal, std::move(msg)); }
Status BadSpec(std::string msg) { return Status(kind::kBug, std::move(msg)); }

milliseconds Remaining(Clock::time_point deadline) {
  auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
  return std::max(left, milliseconds(0));
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Run dirs are compared textually with QEMU's command line, so always use one spelling.
fs::path NormalizeRunDir(const fs::path& run_dir) {
  fs::path p = fs::absolute(run_dir).lexically_normal();
  if (p.has_parent_path() && p.filename().empty()) p = p.parent_path();  // trailing slash
  return p;
}

// QEMU option values escape ',' as ",,".
std::string OptEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

bool IsQemuIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// QEMU ids: a letter first, then letters, digits, '-', '_', '.'.
bool IsQemuId(const std::string& s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
  for (char c : s) {
    if (!IsQemuIdChar(c)) return false;
  }
  return true;
}

bool IsMac(const std::string& s) {
  if (s.size() != 17) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i % 3 == 2) {
      if (s[i] != ':') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

bool HasControlChar(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

std::string QmpArg(const fs::path& run_dir) {
  return "unix:" + OptEscape(QmpSocketPath(run_dir).string()) + ",server=on,wait=off";
}

Status ValidateDisk(const DiskSpec& d, std::string_view what) {
  if (!IsQemuId(d.id, kMaxNodeName - 9)) {  // 9 = strlen("throttle-")
    return BadSpec(
        fmt::format("{} id '{}' is not a valid QEMU id (letter first, [A-Za-z0-9._-], "
                    "at most {} chars)",
                    what, d.id, kMaxNodeName - 9));
  }
  if (d.path.empty() || HasControlChar(d.path)) {
    return BadSpec(fmt::format("{} {}: bad path", what, d.id));
  }
  if (d.format != "qcow2" && d.format != "raw") {
    return BadSpec(fmt::format("{} {}: unsupported format '{}'", what, d.id, d.format));
  }
  const std::string& serial = d.serial.empty() ? d.id : d.serial;
  if (serial.size() > kMaxVirtioSerial || HasControlChar(serial)) {
    return BadSpec(fmt::format("{} {}: serial longer than {} bytes", what, d.id, kMaxVirtioSerial));
  }
  return Status::Ok();
}

Status ValidateSpec(const VmSpec& spec) {
  if (!IsQemuId(spec.instance_id, 64)) {
    return BadSpec(fmt::format("instance id '{}' is not usable as a QEMU name", spec.instance_id));
  }
  if (spec.run_dir.empty()) return BadSpec("run_dir is empty");
  if (spec.vcpus < 1 || spec.vcpus > 255) return BadSpec("vcpus out of range");
  if (spec.memory_mib < 16) return BadSpec("memory_mib too small");
  if (spec.accel != "kvm" && spec.accel != "tcg") {
    return BadSpec(fmt::format("accel must be kvm or tcg, not '{}'", spec.accel));
  }
  if (!spec.system_disk.path.empty() || !spec.system_disk.id.empty()) {
    CVM_RETURN_IF_ERROR(ValidateDisk(spec.system_disk, "system disk"));
  }
  for (const auto& d : spec.data_disks) CVM_RETURN_IF_ERROR(ValidateDisk(d, "data disk"));
  if (spec.seed_iso && (spec.seed_iso->empty() || HasControlChar(*spec.seed_iso))) {
    return BadSpec("bad seed iso path");
  }
  for (const auto& n : spec.nics) {
    if (n.tap_ifname.empty() || n.tap_ifname.size() > 15 ||
        n.tap_ifname.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"
                                       "789-_.") != std::string::npos) {
      return BadSpec(fmt::format("bad tap interface name '{}'", n.tap_ifname));
    }
    if (!IsMac(n.mac)) return BadSpec(fmt::format("bad MAC address '{}'", n.mac));
  }
  // unix socket paths must fit sockaddr_un.sun_path (108 bytes including NUL).
  fs::path run_dir = NormalizeRunDir(spec.run_dir);
  for (const fs::path& p :
       {QmpSocketPath(run_dir), EventsSocketPath(run_dir), SerialSocketPath(run_dir),
        VncSocketPath(run_dir), QgaSocketPath(run_dir)}) {
    if (p.string().size() >= sizeof(sockaddr_un{}.sun_path)) {
      return BadSpec(fmt::format("run directory too long for a unix socket path: {}", p.string()));
    }
  }
  if (HasControlChar(run_dir.string())) return BadSpec("run_dir contains control characters");
  return Status::Ok();
}

// Whether this QEMU binary was built with seccomp (-sandbox). Cached per binary.
bool SandboxSupported(const std::string& qemu_binary) {
  static std::mutex mu;
  static std::map<std::string, bool> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(qemu_binary); it != cache.end()) return it->second;
  auto out = RunProcess({qemu_binary, "-help"}, std::chrono::seconds(10));
  bool ok =
      out.ok() && out->exit_code == 0 && out->stdout_data.find("\n-sandbox ") != std::string::npos;
  if (out.ok() && out->exit_code == 0) cache[qemu_binary] = ok;  // do not cache failures
  return ok;
}

void AppendDisk(std::vector<std::string>& argv, const DiskSpec& d, std::optional<int> bootindex) {
  json dev = DiskDeviceJson(d);
  if (bootindex) dev["bootindex"] = *bootindex;
  // JSON syntax: file names never need QEMU's ",," escaping.
  if (d.throttle) argv.insert(argv.end(), {"-object", DiskThrottleGroupJson(d).dump()});
  argv.insert(argv.end(), {"-blockdev", DiskBlockdevJson(d).dump(), "-device", dev.dump()});
}

std::vector<std::string> BuildArgv(const VmSpec& spec, const fs::path& run_dir, bool sandbox) {
  const bool kvm = spec.accel == "kvm";
  std::vector<std::string> a = {
      spec.qemu_binary,
      "-name",
      fmt::format("guest={},debug-threads=on", spec.instance_id),
      "-no-user-config",
      "-nodefaults",
      // i440fx: virtio disks and NICs can be hot-plugged straight onto the root bus through ACPI,
      // which q35 would need pre-created PCIe root ports for; SeaBIOS boots either equally fast.
      "-machine",
      "pc",
      "-accel",
      kvm ? "kvm" : "tcg,tb-size=64",
      "-cpu",
      kvm ? "host" : "max",
      "-smp",
      std::to_string(spec.vcpus),
      "-m",
      std::to_string(spec.memory_mib),
      "-rtc",
      "base=utc",
      "-display",
      "none",
      "-vnc",
      "unix:" + OptEscape(VncSocketPath(run_dir).string()),
      "-device",
      "VGA",
      "-device",
      "virtio-rng-pci",
      "-daemonize",
      "-pidfile",
      PidfilePath(run_dir).string(),
      "-qmp",
      QmpArg(run_dir),
      "-qmp",
      "unix:" + OptEscape(EventsSocketPath(run_dir).string()) + ",server=on,wait=off",
      // A socket (for an interactive console later) whose output is also appended to
      // console.log, across boots, whether or not anyone is connected.
      "-chardev",
      fmt::format("socket,id=serial0,path={},server=on,wait=off,logfile={},logappend=on",
                  OptEscape(SerialSocketPath(run_dir).string()),
                  OptEscape(ConsoleLogPath(run_dir).string())),
      "-serial",
      "chardev:serial0",
      // The guest agent's channel: the port name is the one qemu-ga looks for.
      "-device",
      "virtio-serial-pci,id=vser0",
      "-chardev",
      fmt::format("socket,id=qga0,path={},server=on,wait=off",
                  OptEscape(QgaSocketPath(run_dir).string())),
      "-device",
      "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0",
      "-msg",
      "timestamp=on",
  };
  if (sandbox) {
    // elevateprivileges=deny and spawn=deny break -daemonize (setsid/fork), so not those.
    a.insert(a.end(), {"-sandbox", "on,obsolete=deny,resourcecontrol=deny"});
  }
  if (!spec.system_disk.path.empty()) AppendDisk(a, spec.system_disk, 1);
  for (const auto& d : spec.data_disks) AppendDisk(a, d, std::nullopt);
  if (spec.seed_iso) {
    DiskSpec seed{.id = "seed",
                  .path = *spec.seed_iso,
                  .format = "raw",
                  .read_only = true,
                  .serial = "cidata"};
    AppendDisk(a, seed, std::nullopt);
  }
  for (size_t i = 0; i < spec.nics.size(); ++i) {
    const auto& n = spec.nics[i];
    a.insert(a.end(), {"-netdev", fmt::format("tap,id=net{},ifname={},script=no,downscript=no{}", i,
                                              n.tap_ifname, kvm ? ",vhost=on" : "")});
    json dev = {{"driver", "virtio-net-pci"},
                {"id", fmt::format("nic{}", i)},
                {"netdev", fmt::format("net{}", i)},
                {"mac", n.mac}};
    a.insert(a.end(), {"-device", dev.dump()});
  }
  if (spec.start_paused) a.push_back("-S");
  a.insert(a.end(), spec.extra_args.begin(), spec.extra_args.end());
  return a;
}

std::optional<std::string> ReadSmallFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// Waits until the process behind pidfd has exited. True if it did within `timeout`.
bool WaitPidfd(int pidfd, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    pollfd p{pidfd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(Remaining(deadline).count()));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

struct OurProcess {
  pid_t pid = 0;
  Fd pidfd;  // pins the verified process: signals through it cannot hit a reused pid
};

// The QEMU of this run directory, if the pidfile names a live process whose command line is
// ours (the exact QMP socket argument, unique per run dir) — not a reused pid.
std::optional<OurProcess> FindOurProcess(const fs::path& run_dir) {
  auto text = ReadSmallFile(PidfilePath(run_dir));
  if (!text) return std::nullopt;
  pid_t pid = 0;
  try {
    pid = static_cast<pid_t>(std::stol(*text));
  } catch (...) {
    spdlog::warn("qemu: unparsable pidfile {}", PidfilePath(run_dir).string());
    return std::nullopt;
  }
  if (pid <= 1) return std::nullopt;
  Fd pidfd(PidfdOpen(pid));
  if (!pidfd.valid()) return std::nullopt;  // ESRCH: gone
  // Verify after pinning, so the checked process is the one the pidfd refers to.
  auto stat = ReadSmallFile(fmt::format("/proc/{}/stat", pid));
  if (!stat) return std::nullopt;
  if (size_t rp = stat->rfind(')'); rp != std::string::npos && rp + 2 < stat->size()) {
    char state = (*stat)[rp + 2];
    if (state == 'Z' || state == 'X') return std::nullopt;  // exited, not yet reaped
  }
  auto cmdline = ReadSmallFile(fmt::format("/proc/{}/cmdline", pid));
  if (!cmdline || cmdline->empty()) return std::nullopt;
  std::vector<std::string> args;
  std::string cur;
  for (char c : *cmdline) {
    if (c == '\0') {
      args.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) args.push_back(cur);
  if (args.empty() ||
      fs::path(args[0]).filename().string().find("qemu-system") == std::string::npos) {
    spdlog::warn("qemu: pidfile {} names pid {} which is not QEMU (pid reused?)",
                 PidfilePath(run_dir).string(), pid);
    return std::nullopt;
  }
  const std::string want = QmpArg(run_dir);
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "-qmp" && args[i + 1] == want) return OurProcess{pid, std::move(pidfd)};
  }
  spdlog::warn("qemu: pid {} from {} is a QEMU of another VM", pid, PidfilePath(run_dir).string());
  return std::nullopt;
}

void RemoveRuntimeFiles(const fs::path& run_dir) {
  std::error_code ec;
  for (const fs::path& p :
       {PidfilePath(run_dir), QmpSocketPath(run_dir), EventsSocketPath(run_dir),
        SerialSocketPath(run_dir), VncSocketPath(run_dir), QgaSocketPath(run_dir)}) {
    fs::remove(p, ec);
  }
}

enum class LockKind { kQmp, kLifecycle, kQga };

// Per-VM locks. kQmp: one command connection at a time, since QEMU serves one client per monitor
// and concurrent callers (an operation and the reconciler) would make each other time out.
// kLifecycle: StartVm/KillVm of one VM never overlap (a second start would delete the first
// one's sockets). The engine serializes operations anyway; this makes the driver safe alone.
std::shared_ptr<std::timed_mutex> VmLock(const fs::path& run_dir, LockKind kind) {
  static std::mutex mu;
  static std::map<std::pair<std::string, LockKind>, std::shared_ptr<std::timed_mutex>>
      locks;  // small entries; never pruned
  std::lock_guard lock(mu);
  auto& m = locks[{run_dir.string(), kind}];
  if (!m) m = std::make_shared<std::timed_mutex>();
  return m;
}

Result<json> WithQmp(const fs::path& run_dir, std::string_view command, const json& args,
                     milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto mu = VmLock(run_dir, LockKind::kQmp);
  std::unique_lock lock(*mu, std::defer_lock);
  if (!lock.try_lock_for(timeout)) {
    return Internal(fmt::format("QMP {} on {}: another command is still running (timed out)",
                                command, run_dir.string()));
  }
  auto client = QmpClient::Connect(QmpSocketPath(run_dir), Remaining(deadline));
  if (!client.ok()) return client.status();
  return (*client)->Execute(command, args, std::max(Remaining(deadline), milliseconds(1)));
}

// One guest agent connection per VM at a time, as for QMP (kQga).
Result<json> WithQga(const fs::path& run_dir, std::string_view command, const json& args,
                     milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto mu = VmLock(run_dir, LockKind::kQga);
  std::unique_lock lock(*mu, std::defer_lock);
  if (!lock.try_lock_for(timeout)) {
    return Status(kind::kTimeout,
                  fmt::format("QGA {} on {}: another guest agent command is still running", command,
                              run_dir.string()));
  }
  auto client = QgaClient::Connect(QgaSocketPath(run_dir), Remaining(deadline));
  if (!client.ok()) return client.status();
  return (*client)->Execute(command, args, std::max(Remaining(deadline), milliseconds(1)));
}

// KillVm without taking the lifecycle lock (StartVm holds it while cleaning up).
Status KillLocked(const fs::path& run_dir, milliseconds grace);

}  // namespace

std::string DiskFormatNodeName(const std::string& disk_id) { return "drive-" + disk_id; }
std::string DiskFileNodeName(const std::string& disk_id) { return "file-" + disk_id; }
std::string DiskThrottleNodeName(const std::string& disk_id) { return "throttle-" + disk_id; }
std::string DiskThrottleGroupName(const std::string& disk_id) { return "tg-" + disk_id; }
std::string DiskDeviceNodeName(const DiskSpec& d) {
  return d.throttle ? DiskThrottleNodeName(d.id) : DiskFormatNodeName(d.id);
}

json DiskBlockdevJson(const DiskSpec& d) {
  json file = {{"driver", "file"},
               {"filename", d.path},
               {"node-name", DiskFileNodeName(d.id)},
               {"read-only", d.read_only}};
  json fmt_node = {{"driver", d.format},
                   {"node-name", DiskFormatNodeName(d.id)},
                   {"read-only", d.read_only},
                   {"file", file}};
  // Guests' TRIM returns space to the pool file.
  if (!d.read_only) fmt_node["discard"] = "unmap";
  if (!d.throttle) return fmt_node;
  return {{"driver", "throttle"},
          {"node-name", DiskThrottleNodeName(d.id)},
          {"throttle-group", DiskThrottleGroupName(d.id)},
          {"read-only", d.read_only},
          {"file", fmt_node}};
}

json DiskThrottleGroupJson(const DiskSpec& d) {
  json limits = json::object();
  if (d.throttle->iops_total > 0) limits["iops-total"] = d.throttle->iops_total;
  if (d.throttle->bps_total > 0) limits["bps-total"] = d.throttle->bps_total;
  return {{"qom-type", "throttle-group"}, {"id", DiskThrottleGroupName(d.id)}, {"limits", limits}};
}

json DiskDeviceJson(const DiskSpec& d) {
  return {{"driver", "virtio-blk-pci"},
          {"id", d.id},
          {"drive", DiskDeviceNodeName(d)},
          {"serial", d.serial.empty() ? d.id : d.serial}};
}

fs::path PidfilePath(const fs::path& run_dir) { return run_dir / "qemu.pid"; }
fs::path QmpSocketPath(const fs::path& run_dir) { return run_dir / "qmp.sock"; }
fs::path EventsSocketPath(const fs::path& run_dir) { return run_dir / "events.sock"; }
fs::path SerialSocketPath(const fs::path& run_dir) { return run_dir / "serial.sock"; }
fs::path ConsoleLogPath(const fs::path& run_dir) { return run_dir / "console.log"; }
fs::path VncSocketPath(const fs::path& run_dir) { return run_dir / "vnc.sock"; }
fs::path QgaSocketPath(const fs::path& run_dir) { return run_dir / "qga.sock"; }

Result<std::vector<std::string>> BuildQemuArgv(const VmSpec& spec) {
  CVM_RETURN_IF_ERROR(ValidateSpec(spec));
  return BuildArgv(spec, NormalizeRunDir(spec.run_dir), SandboxSupported(spec.qemu_binary));
}

Status StartVm(const VmSpec& spec, milliseconds timeout) {
  const auto t0 = Clock::now();
  const auto deadline = t0 + timeout;
  CVM_RETURN_IF_ERROR(ValidateSpec(spec));
  const fs::path run_dir = NormalizeRunDir(spec.run_dir);
  auto mu = VmLock(run_dir, LockKind::kLifecycle);
  std::unique_lock lifecycle(*mu, std::defer_lock);
  if (!lifecycle.try_lock_for(timeout)) {
    return Internal(fmt::format("StartVm {}: another start/kill is in progress", spec.instance_id));
  }
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) return Internal(fmt::format("create {}: {}", run_dir.string(), ec.message()));

  if (auto p = FindOurProcess(run_dir)) {
    spdlog::info("qemu: {} already running as pid {}; not starting again", spec.instance_id,
                 p->pid);
    return Status::Ok();
  }
  RemoveRuntimeFiles(run_dir);  // stale leftovers of a crashed QEMU would make bind() fail
  const fs::path log = ConsoleLogPath(run_dir);
  if (fs::exists(log, ec) && fs::file_size(log, ec) > kConsoleRotateBytes) {
    fs::rename(log, fs::path(log.string() + ".1"), ec);
  }
  // QEMU daemonizes with umask 027: the guest's console output exists before, owner-only.
  if (int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600); fd >= 0) {
    ::close(fd);
  }

  auto argv = BuildArgv(spec, run_dir, SandboxSupported(spec.qemu_binary));
  argv.insert(argv.begin(), spec.launcher.begin(), spec.launcher.end());
  spdlog::info("qemu: starting {}: {}", spec.instance_id, FormatCommand(argv));
  // With -daemonize the launcher exits only once QEMU finished initialising (or failed).
  auto out = RunProcess(argv, Remaining(deadline));
  if (!out.ok() || out->exit_code != 0) {
    Status why =
        out.ok()
            ? Internal(fmt::format("QEMU for {} failed to start (exit {}): {}", spec.instance_id,
                                   out->exit_code, out->stderr_data.substr(0, 2000)))
            : out.status();
    BestEffort(KillLocked(run_dir, milliseconds(0)),
               "killing a half-started QEMU");  // a half-started daemon may have a pidfile
    return why;
  }

  // Ready when the command monitor answers.
  Status last = Internal("no attempt");
  while (Clock::now() < deadline) {
    auto st = WithQmp(run_dir, "query-status", json::object(), Remaining(deadline));
    if (st.ok()) {
      auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
      spdlog::info("qemu: {} started (pid file {}), QMP ready after {} ms, status {}",
                   spec.instance_id, PidfilePath(run_dir).string(), ms,
                   st->value("status", std::string("?")));
      return Status::Ok();
    }
    last = st.status();
    if (!FindOurProcess(run_dir)) break;  // died during start
    ::poll(nullptr, 0, 20);
  }
  BestEffort(KillVm(run_dir, milliseconds(0)), "killing a QEMU that never became ready");
  return Internal(
      fmt::format("QEMU for {} did not become ready: {}", spec.instance_id, last.message()));
}

Result<VmStatus> InspectVm(const fs::path& run_dir_in, milliseconds qmp_timeout) {
  const fs::path run_dir = NormalizeRunDir(run_dir_in);
  VmStatus st;
  auto p = FindOurProcess(run_dir);
  if (!p) return st;
  st.running = true;
  st.pid = p->pid;
  auto r = WithQmp(run_dir, "query-status", json::object(), qmp_timeout);
  if (r.ok()) {
    st.qmp_ok = true;
    st.qmp_status = r->value("status", std::string());
  } else {
    st.qmp_error = r.status().message();
    // The process may have exited while we asked.
    if (!WaitPidfd(p->pidfd.get(), milliseconds(0))) return st;
    st = VmStatus{};
  }
  return st;
}

Status PowerDownVm(const fs::path& run_dir, milliseconds timeout) {
  auto r = WithQmp(NormalizeRunDir(run_dir), "system_powerdown", json::object(), timeout);
  return r.ok() ? Status::Ok() : r.status();
}

Status ResumeVm(const fs::path& run_dir, milliseconds timeout) {
  auto r = WithQmp(NormalizeRunDir(run_dir), "cont", json::object(), timeout);
  return r.ok() ? Status::Ok() : r.status();
}

Status ResetVm(const fs::path& run_dir, milliseconds timeout) {
  auto r = WithQmp(NormalizeRunDir(run_dir), "system_reset", json::object(), timeout);
  return r.ok() ? Status::Ok() : r.status();
}

Result<json> ExecuteQmp(const fs::path& run_dir, std::string_view command, const json& args,
                        milliseconds timeout) {
  return WithQmp(NormalizeRunDir(run_dir), command, args, timeout);
}

Result<json> ExecuteQga(const fs::path& run_dir, std::string_view command, const json& args,
                        milliseconds timeout) {
  return WithQga(NormalizeRunDir(run_dir), command, args, timeout);
}

Status KillVm(const fs::path& run_dir_in, milliseconds grace) {
  const fs::path run_dir = NormalizeRunDir(run_dir_in);
  auto mu = VmLock(run_dir, LockKind::kLifecycle);
  std::unique_lock lifecycle(*mu, std::defer_lock);
  if (!lifecycle.try_lock_for(grace + std::chrono::seconds(30))) {
    return Internal(fmt::format("KillVm {}: another start/kill is in progress", run_dir.string()));
  }
  return KillLocked(run_dir, grace);
}

namespace {
Status KillLocked(const fs::path& run_dir, milliseconds grace) {
  const auto deadline = Clock::now() + grace;
  if (auto p = FindOurProcess(run_dir)) {
    if (grace.count() > 0) {
      // "quit" lets QEMU flush and close its images; its reply may be lost as it exits.
      auto q = WithQmp(run_dir, "quit", json::object(), std::min(grace, milliseconds(2000)));
      if (!q.ok()) spdlog::info("qemu: quit on {}: {}", run_dir.string(), q.status().message());
    }
    if (!WaitPidfd(p->pidfd.get(), Remaining(deadline))) {
      spdlog::warn("qemu: pid {} ({}) still alive after {} ms, sending SIGKILL", p->pid,
                   run_dir.string(), grace.count());
      if (PidfdSendSignal(p->pidfd.get(), SIGKILL) != 0 && errno != ESRCH) {
        return Internal(fmt::format("SIGKILL pid {}: {}", p->pid, std::strerror(errno)));
      }
      if (!WaitPidfd(p->pidfd.get(), std::chrono::seconds(10))) {
        return Internal(fmt::format("QEMU pid {} did not exit after SIGKILL", p->pid));
      }
    }
  }
  RemoveRuntimeFiles(run_dir);
  return Status::Ok();
}
}  // namespace

// ---------------------------------------------------------------------------------------------

struct VmEventWatcher::State {
  fs::path run_dir;
  std::unique_ptr<QmpClient> client;
  EventCallback on_event;
  DisconnectCallback on_disconnect;
  Fd stop_fd;  // eventfd that wakes the thread for Stop()
  std::atomic<bool> stopping{false};
};

namespace {
bool IsWatchedEvent(const std::string& name) {
  static const char* const kNames[] = {"SHUTDOWN",       "RESET", "POWERDOWN", "DEVICE_DELETED",
                                       "GUEST_PANICKED", "STOP",  "RESUME"};
  for (const char* n : kNames) {
    if (name == n) return true;
  }
  return name.rfind("BLOCK_JOB_", 0) == 0;
}
}  // namespace

Result<std::unique_ptr<VmEventWatcher>> VmEventWatcher::Start(const fs::path& run_dir,
                                                              EventCallback on_event,
                                                              DisconnectCallback on_disconnect,
                                                              milliseconds connect_timeout) {
  auto state = std::make_unique<State>();
  state->run_dir = NormalizeRunDir(run_dir);
  auto client = QmpClient::Connect(EventsSocketPath(state->run_dir), connect_timeout);
  if (!client.ok()) return client.status();
  state->client = std::move(*client);
  state->on_event = std::move(on_event);
  state->on_disconnect = std::move(on_disconnect);
  state->stop_fd = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!state->stop_fd.valid()) return Internal(fmt::format("eventfd: {}", std::strerror(errno)));
  std::unique_ptr<VmEventWatcher> w(new VmEventWatcher());
  w->state_ = std::move(state);
  w->thread_ = std::thread([raw = w.get()] { raw->Run(); });
  return w;
}

VmEventWatcher::~VmEventWatcher() { Stop(); }

void VmEventWatcher::Stop() {
  if (!state_) return;
  state_->stopping = true;
  uint64_t one = 1;
  if (::write(state_->stop_fd.get(), &one, sizeof one) != static_cast<ssize_t>(sizeof one)) {
    // An eventfd refuses only at its maximum count; the watcher's poll then wakes on its QMP
    // socket instead, so the join below cannot hang.
    spdlog::warn("qemu: waking the event watcher: {}", std::strerror(errno));
    ::shutdown(state_->client->fd(), SHUT_RDWR);
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void VmEventWatcher::Run() {
  State& s = *state_;
  auto deliver = [&] {
    for (auto& ev : s.client->TakeEvents()) {
      std::string name = ev.value("event", std::string());
      if (!IsWatchedEvent(name)) continue;
      VmEvent e{name, ev.value("data", json::object()), ev};
      if (s.on_event && !s.stopping) s.on_event(e);
    }
  };
  deliver();  // events that arrived during the capabilities handshake
  while (!s.stopping) {
    pollfd p[2] = {{s.client->fd(), POLLIN, 0}, {s.stop_fd.get(), POLLIN, 0}};
    int r = ::poll(p, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (s.stopping || p[1].revents) return;
    if (r < 0) {
      if (s.on_disconnect) s.on_disconnect(Internal(fmt::format("poll: {}", std::strerror(errno))));
      return;
    }
    Status st = s.client->Pump(milliseconds(0));
    deliver();
    if (!st.ok()) {
      spdlog::info("qemu: event monitor of {} disconnected: {}", s.run_dir.string(), st.message());
      if (s.on_disconnect && !s.stopping) s.on_disconnect(st);
      return;
    }
  }
}

}  // namespace cvm::drivers::qemu
