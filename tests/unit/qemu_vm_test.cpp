// The QEMU driver against real qemu-system-x86_64 under TCG. Guests are 512-byte boot sectors
// (halt / reboot once / power off), which SeaBIOS reaches in well under a second, so the tests
// cost little CPU; one test boots the host kernel through extra_args instead of a disk.
#include "drivers/qemu/qemu_vm.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "common/error_codes.h"
#include "common/subprocess.h"
#include "drivers/qemu/block_devices.h"
#include "drivers/qemu/qmp_client.h"

namespace cvm::drivers::qemu {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Real-mode boot sectors.
const std::vector<uint8_t> kHaltGuest = {0xfa, 0xf4, 0xeb, 0xfd};  // cli; hlt; jmp hlt
// Reboots once through the keyboard controller, remembering that in CMOS byte 0x7e (which
// survives a reset), then halts: one guest-initiated RESET.
const std::vector<uint8_t> kRebootOnceGuest = {
    0xb0, 0x7e, 0xe6, 0x70,  // mov al,0x7e; out 0x70,al
    0xe4, 0x71,              // in al,0x71
    0x84, 0xc0, 0x75, 0x0c,  // test al,al; jnz halt
    0xb0, 0x7e, 0xe6, 0x70,  // mov al,0x7e; out 0x70,al
    0xb0, 0x01, 0xe6, 0x71,  // mov al,1; out 0x71,al
    0xb0, 0xfe, 0xe6, 0x64,  // mov al,0xfe; out 0x64,al   (pulse reset)
    0xfa, 0xf4, 0xeb, 0xfc,  // halt: cli; hlt; jmp halt
};
// ACPI S5 through PIIX4 PM1a_CNT (0x604): SLP_TYP=0, SLP_EN.
const std::vector<uint8_t> kPoweroffGuest = {0xba, 0x04, 0x06, 0xb8, 0x00, 0x20, 0xef, 0xeb, 0xfe};

bool ProcessGone(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return true;
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t rp = s.rfind(')');
  return rp != std::string::npos && rp + 2 < s.size() && s[rp + 2] == 'Z';
}

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

// Collects watcher callbacks for assertions.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<VmEvent> events;
  bool disconnected = false;

  VmEventWatcher::EventCallback OnEvent() {
    return [this](const VmEvent& e) {
      std::lock_guard l(mu);
      events.push_back(e);
      cv.notify_all();
    };
  }
  VmEventWatcher::DisconnectCallback OnDisconnect() {
    return [this](const Status&) {
      std::lock_guard l(mu);
      disconnected = true;
      cv.notify_all();
    };
  }
  std::optional<VmEvent> WaitEvent(const std::string& name, std::chrono::milliseconds timeout) {
    std::unique_lock l(mu);
    std::optional<VmEvent> found;
    cv.wait_for(l, timeout, [&] {
      for (const auto& e : events) {
        if (e.name == name) {
          found = e;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  bool WaitDisconnect(std::chrono::milliseconds timeout) {
    std::unique_lock l(mu);
    return cv.wait_for(l, timeout, [&] { return disconnected; });
  }
};

class QemuVmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = "/tmp/cvm-vm-XXXXXX";  // short: unix socket paths are limited to 107 bytes
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
  }
  void TearDown() override {
    for (const auto& rd : started_) (void)KillVm(rd, 0ms);
    fs::remove_all(dir_);
  }

  fs::path WriteBootSector(const std::string& name, const std::vector<uint8_t>& code) {
    std::vector<char> img(1 << 20, 0);  // SeaBIOS will not boot a disk of a single sector
    std::copy(code.begin(), code.end(), img.begin());
    img[510] = 0x55;
    img[511] = static_cast<char>(0xaa);
    fs::path p = dir_ / (name + ".img");
    std::ofstream(p, std::ios::binary).write(img.data(), static_cast<std::streamsize>(img.size()));
    return p;
  }

  VmSpec Spec(const std::string& id, const std::vector<uint8_t>& guest) {
    VmSpec s;
    s.instance_id = id;
    s.run_dir = dir_ / id;
    s.vcpus = 1;
    s.memory_mib = 128;
    s.accel = "tcg";
    s.system_disk =
        DiskSpec{.id = "disk-sys", .path = WriteBootSector(id, guest).string(), .format = "raw"};
    return s;
  }

  Status Start(const VmSpec& s) {
    started_.push_back(s.run_dir);
    auto t0 = Clock::now();
    Status st = StartVm(s);
    spdlog::info("test: StartVm({}) took {} ms", s.instance_id,
                 std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
    return st;
  }

  pid_t PidOf(const fs::path& run_dir) {
    auto st = InspectVm(run_dir);
    return st.ok() && st->running ? st->pid : 0;
  }

  fs::path dir_;
  std::vector<fs::path> started_;
};

TEST_F(QemuVmTest, StartInspectQueryKillWithHostKernel) {
  std::vector<fs::path> kernels;
  for (const auto& e : fs::directory_iterator("/boot")) {
    if (e.path().filename().string().rfind("vmlinuz-", 0) == 0) kernels.push_back(e.path());
  }
  if (kernels.empty()) GTEST_SKIP() << "no /boot/vmlinuz-*";
  VmSpec s;
  s.instance_id = "ins-kernel";
  s.run_dir = dir_ / "ins-kernel";
  s.memory_mib = 256;
  s.extra_args = {"-kernel", kernels.front().string(), "-append", "console=ttyS0 panic=-1"};
  ASSERT_TRUE(Start(s).ok());

  auto st = InspectVm(s.run_dir);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_TRUE(st->running);
  EXPECT_TRUE(st->qmp_ok) << st->qmp_error;
  EXPECT_EQ(st->qmp_status, "running");
  pid_t pid = st->pid;
  EXPECT_GT(pid, 0);
  for (const fs::path& p :
       {PidfilePath(s.run_dir), QmpSocketPath(s.run_dir), EventsSocketPath(s.run_dir),
        SerialSocketPath(s.run_dir), VncSocketPath(s.run_dir)}) {
    EXPECT_TRUE(fs::exists(p)) << p;
  }

  auto q = ExecuteQmp(s.run_dir, "query-status");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ((*q)["status"], "running");
  auto bad = ExecuteQmp(s.run_dir, "no-such-command");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(QmpErrorClass(bad.status()), "CommandNotFound") << bad.status().message();

  // Starting again is a no-op, not a second QEMU.
  ASSERT_TRUE(StartVm(s).ok());
  EXPECT_EQ(PidOf(s.run_dir), pid);

  auto t0 = Clock::now();
  ASSERT_TRUE(KillVm(s.run_dir, 3s).ok());
  spdlog::info("test: KillVm took {} ms",
               std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_FALSE(fs::exists(PidfilePath(s.run_dir)));
  EXPECT_FALSE(fs::exists(QmpSocketPath(s.run_dir)));
  EXPECT_FALSE(fs::exists(EventsSocketPath(s.run_dir)));
  st = InspectVm(s.run_dir);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->running);
  EXPECT_TRUE(KillVm(s.run_dir, 1s).ok());  // idempotent
}

TEST_F(QemuVmTest, HostResetIsAResetEventAndTheVmKeepsRunning) {
  VmSpec s = Spec("ins-reset", kHaltGuest);
  // Also a qcow2 data disk and a seed ISO, to check the block devices QEMU really built.
  fs::path data = dir_ / "data.qcow2";
  auto img = RunProcess({"qemu-img", "create", "-q", "-f", "qcow2", data.string(), "64M"}, 30s);
  ASSERT_TRUE(img.ok() && img->exit_code == 0);
  s.data_disks = {DiskSpec{.id = "disk-data1", .path = data.string()}};
  s.seed_iso = WriteBootSector("seed", {}).string();  // any raw file will do for QEMU
  ASSERT_TRUE(Start(s).ok());
  auto blocks = ExecuteQmp(s.run_dir, "query-block");
  ASSERT_TRUE(blocks.ok()) << blocks.status().ToString();
  std::map<std::string, json> by_qdev;
  for (const auto& b : *blocks) by_qdev[b.value("qdev", "")] = b;  // device's QOM path
  by_qdev["disk-sys"] = by_qdev["/machine/peripheral/disk-sys/virtio-backend"];
  by_qdev["disk-data1"] = by_qdev["/machine/peripheral/disk-data1/virtio-backend"];
  by_qdev["seed"] = by_qdev["/machine/peripheral/seed/virtio-backend"];
  ASSERT_EQ(blocks->size(), 3u) << blocks->dump();
  EXPECT_EQ(by_qdev["disk-sys"]["inserted"]["node-name"], "drive-disk-sys");
  EXPECT_EQ(by_qdev["disk-data1"]["inserted"]["node-name"], "drive-disk-data1");
  EXPECT_EQ(by_qdev["disk-data1"]["inserted"]["drv"], "qcow2");
  EXPECT_EQ(by_qdev["seed"]["inserted"]["ro"], true);
  Recorder rec;
  auto w = VmEventWatcher::Start(s.run_dir, rec.OnEvent(), rec.OnDisconnect());
  ASSERT_TRUE(w.ok()) << w.status().ToString();

  ASSERT_TRUE(ResetVm(s.run_dir).ok());
  auto ev = rec.WaitEvent("RESET", 5s);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->data.value("guest", true), false);
  EXPECT_TRUE(ev->raw.contains("timestamp"));

  ASSERT_TRUE(PowerDownVm(s.run_dir).ok());  // halted guest ignores the button
  EXPECT_TRUE(rec.WaitEvent("POWERDOWN", 5s).has_value());

  auto st = InspectVm(s.run_dir);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->running);
  EXPECT_EQ(st->qmp_status, "running");

  (*w)->Stop();
  ASSERT_TRUE(KillVm(s.run_dir, 2s).ok());
  EXPECT_FALSE(rec.disconnected) << "Stop() must not report a disconnect";
}

TEST_F(QemuVmTest, GuestRebootStaysARebootAndGuestPoweroffEndsTheProcess) {
  // Reboot: RESET(guest) and the VM keeps running.
  VmSpec r = Spec("ins-reboot", kRebootOnceGuest);
  r.start_paused = true;  // until the watcher listens
  VmSpec o = Spec("ins-poweroff", kPoweroffGuest);
  o.start_paused = true;
  ASSERT_TRUE(Start(r).ok());
  ASSERT_TRUE(Start(o).ok());
  Recorder rrec, orec;
  auto rw = VmEventWatcher::Start(r.run_dir, rrec.OnEvent(), rrec.OnDisconnect());
  ASSERT_TRUE(rw.ok()) << rw.status().ToString();
  auto ow = VmEventWatcher::Start(o.run_dir, orec.OnEvent(), orec.OnDisconnect());
  ASSERT_TRUE(ow.ok()) << ow.status().ToString();
  pid_t opid = PidOf(o.run_dir);
  ASSERT_GT(opid, 0);
  auto ost0 = InspectVm(o.run_dir);
  ASSERT_TRUE(ost0.ok());
  EXPECT_EQ(ost0->qmp_status, "prelaunch");
  ASSERT_TRUE(ResumeVm(r.run_dir).ok());
  ASSERT_TRUE(ResumeVm(o.run_dir).ok());

  auto reset = rrec.WaitEvent("RESET", 20s);
  ASSERT_TRUE(reset.has_value());
  EXPECT_EQ(reset->data.value("guest", false), true);
  EXPECT_EQ(reset->data.value("reason", ""), "guest-reset");

  auto shutdown = orec.WaitEvent("SHUTDOWN", 20s);
  ASSERT_TRUE(shutdown.has_value());
  EXPECT_EQ(shutdown->data.value("guest", false), true);
  EXPECT_EQ(shutdown->data.value("reason", ""), "guest-shutdown");
  EXPECT_TRUE(orec.WaitDisconnect(10s)) << "process did not exit after guest poweroff";
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(opid); }, 5s));
  auto ost = InspectVm(o.run_dir);
  ASSERT_TRUE(ost.ok());
  EXPECT_FALSE(ost->running);

  auto rst = InspectVm(r.run_dir);
  ASSERT_TRUE(rst.ok());
  EXPECT_TRUE(rst->running);
  EXPECT_EQ(rst->qmp_status, "running");
  EXPECT_FALSE(rrec.disconnected);
  {
    std::lock_guard l(rrec.mu);
    EXPECT_EQ(std::count_if(rrec.events.begin(), rrec.events.end(),
                            [](const VmEvent& e) { return e.name == "SHUTDOWN"; }),
              0);
  }
  (*rw)->Stop();
  (*ow)->Stop();
}

TEST_F(QemuVmTest, Sigkill9IsNoticedByTheWatcher) {
  VmSpec s = Spec("ins-kill9", kHaltGuest);
  ASSERT_TRUE(Start(s).ok());
  Recorder rec;
  auto w = VmEventWatcher::Start(s.run_dir, rec.OnEvent(), rec.OnDisconnect());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  pid_t pid = PidOf(s.run_dir);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_TRUE(rec.WaitDisconnect(5s));
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(pid); }, 5s));
  auto st = InspectVm(s.run_dir);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->running);
  EXPECT_TRUE(fs::exists(PidfilePath(s.run_dir)));  // stale, until KillVm cleans up
  ASSERT_TRUE(KillVm(s.run_dir, 1s).ok());
  EXPECT_FALSE(fs::exists(PidfilePath(s.run_dir)));
  EXPECT_FALSE(fs::exists(QmpSocketPath(s.run_dir)));
}

TEST_F(QemuVmTest, PidfileOfAForeignProcessIsNotOurVm) {
  // A reused pid: this test process is alive but is not QEMU.
  fs::path foreign = dir_ / "ins-foreign";
  fs::create_directories(foreign);
  std::ofstream(PidfilePath(foreign)) << ::getpid() << "\n";
  auto st = InspectVm(foreign);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->running);
  ASSERT_TRUE(KillVm(foreign, 1s).ok());  // must not signal us
  EXPECT_FALSE(fs::exists(PidfilePath(foreign)));

  // The QEMU of another VM is not ours either.
  VmSpec a = Spec("ins-a", kHaltGuest);
  ASSERT_TRUE(Start(a).ok());
  pid_t apid = PidOf(a.run_dir);
  ASSERT_GT(apid, 0);
  fs::path b = dir_ / "ins-b";
  fs::create_directories(b);
  fs::copy_file(PidfilePath(a.run_dir), PidfilePath(b));
  st = InspectVm(b);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->running);
  ASSERT_TRUE(KillVm(b, 1s).ok());
  EXPECT_FALSE(ProcessGone(apid));
  EXPECT_EQ(PidOf(a.run_dir), apid);
  ASSERT_TRUE(KillVm(a.run_dir, 2s).ok());
  EXPECT_TRUE(ProcessGone(apid));
}

TEST_F(QemuVmTest, StoppedQemuTimesOutInsteadOfHanging) {
  VmSpec s = Spec("ins-sigstop", kHaltGuest);
  ASSERT_TRUE(Start(s).ok());
  pid_t pid = PidOf(s.run_dir);
  ASSERT_GT(pid, 0);
  {
    auto c = QmpClient::Connect(QmpSocketPath(s.run_dir), 5s);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_EQ(::kill(pid, SIGSTOP), 0);
    auto t0 = Clock::now();
    auto r = (*c)->Execute("query-status", json::object(), 300ms);
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
    EXPECT_LT(Clock::now() - t0, 1500ms);
  }
  auto t0 = Clock::now();
  auto st = InspectVm(s.run_dir, 300ms);
  EXPECT_LT(Clock::now() - t0, 1500ms);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->running);  // alive but unresponsive: not to be taken for stopped
  EXPECT_FALSE(st->qmp_ok);
  EXPECT_FALSE(st->qmp_error.empty());

  // KillVm gets past a QEMU that cannot answer "quit".
  t0 = Clock::now();
  ASSERT_TRUE(KillVm(s.run_dir, 500ms).ok());
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_TRUE(WaitFor([&] { return ProcessGone(pid); }, 5s));
}

TEST_F(QemuVmTest, FailedStartCleansUp) {
  VmSpec s = Spec("ins-broken", kHaltGuest);
  s.data_disks.push_back(DiskSpec{.id = "disk-missing", .path = (dir_ / "missing.qcow2").string()});
  Status st = Start(s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("missing.qcow2"), std::string::npos) << st.message();
  EXPECT_FALSE(fs::exists(PidfilePath(s.run_dir)));
  EXPECT_FALSE(fs::exists(QmpSocketPath(s.run_dir)));
  EXPECT_FALSE(fs::exists(EventsSocketPath(s.run_dir)));
}

TEST_F(QemuVmTest, CommandLineShape) {
  VmSpec s = Spec("ins-argv", kHaltGuest);
  s.system_disk = DiskSpec{.id = "disk-sys1", .path = "/pool/a,b.qcow2"};
  s.data_disks = {DiskSpec{.id = "disk-data1", .path = "/pool/d.qcow2", .serial = "SER1"}};
  s.seed_iso = "/run/seed.iso";
  s.nics = {NicSpec{.tap_ifname = "tap0", .mac = "52:54:00:12:34:56"}};
  auto argv = BuildQemuArgv(s);
  ASSERT_TRUE(argv.ok()) << argv.status().ToString();
  std::string joined = FormatCommand(*argv);
  spdlog::info("test: {}", joined);
  auto has = [&](const std::string& a, const std::string& b) {
    for (size_t i = 0; i + 1 < argv->size(); ++i) {
      if ((*argv)[i] == a && (*argv)[i + 1] == b) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("-accel", "tcg,tb-size=64"));
  EXPECT_TRUE(has("-cpu", "max"));
  EXPECT_TRUE(has("-daemonize", "-pidfile"));
  EXPECT_TRUE(has("-pidfile", PidfilePath(s.run_dir).string()));
  EXPECT_TRUE(has("-qmp", "unix:" + QmpSocketPath(s.run_dir).string() + ",server=on,wait=off"));
  EXPECT_TRUE(has("-qmp", "unix:" + EventsSocketPath(s.run_dir).string() + ",server=on,wait=off"));
  EXPECT_TRUE(has("-device", "virtio-rng-pci"));
  EXPECT_TRUE(has("-chardev", "socket,id=qga0,path=" + QgaSocketPath(s.run_dir).string() +
                                  ",server=on,wait=off"));
  EXPECT_TRUE(
      has("-device", "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0"));
  EXPECT_EQ(joined.find("-no-shutdown"), std::string::npos);
  EXPECT_EQ(joined.find("-no-reboot"), std::string::npos);
  EXPECT_TRUE(has("-blockdev", json({{"driver", "qcow2"},
                                     {"node-name", "drive-disk-sys1"},
                                     {"read-only", false},
                                     {"discard", "unmap"},
                                     {"file",
                                      {{"driver", "file"},
                                       {"filename", "/pool/a,b.qcow2"},
                                       {"node-name", "file-disk-sys1"},
                                       {"read-only", false}}}})
                                   .dump()));
  EXPECT_TRUE(has("-device", json({{"driver", "virtio-blk-pci"},
                                   {"id", "disk-sys1"},
                                   {"drive", "drive-disk-sys1"},
                                   {"serial", "disk-sys1"},
                                   {"bootindex", 1}})
                                 .dump()));
  EXPECT_NE(joined.find("\"serial\":\"SER1\""), std::string::npos);
  EXPECT_NE(joined.find("\"serial\":\"cidata\""), std::string::npos);
  EXPECT_TRUE(has("-netdev", "tap,id=net0,ifname=tap0,script=no,downscript=no"));

  s.accel = "kvm";
  argv = BuildQemuArgv(s);
  ASSERT_TRUE(argv.ok());
  EXPECT_TRUE(has("-accel", "kvm"));
  EXPECT_TRUE(has("-cpu", "host"));

  VmSpec bad = s;
  bad.data_disks[0].id = "1bad id";
  EXPECT_EQ(BuildQemuArgv(bad).status().code(), cvm::kind::kBug);
  bad = s;
  bad.run_dir = "/tmp/" + std::string(100, 'x');
  EXPECT_FALSE(BuildQemuArgv(bad).ok());
  bad = s;
  bad.nics[0].mac = "52:54:00:12:34";
  EXPECT_FALSE(BuildQemuArgv(bad).ok());
}

// A guest without an agent: the channel exists, nothing answers on it, and asking costs no
// more than the deadline (also for a second caller queued behind the first).
TEST_F(QemuVmTest, GuestWithoutAgentTimesOut) {
  VmSpec s = Spec("ins-noagent", kHaltGuest);
  ASSERT_TRUE(Start(s).ok());
  EXPECT_TRUE(fs::exists(QgaSocketPath(s.run_dir)));
  std::thread other([&] {
    auto r = ExecuteQga(s.run_dir, "guest-ping", json::object(), 400ms);
    EXPECT_EQ(r.status().code(), kind::kTimeout) << r.status().ToString();
  });
  auto r = ExecuteQga(s.run_dir, "guest-ping", json::object(), 400ms);
  other.join();
  EXPECT_EQ(r.status().code(), kind::kTimeout) << r.status().ToString();
  ASSERT_TRUE(KillVm(s.run_dir, 3s).ok());
  EXPECT_FALSE(fs::exists(QgaSocketPath(s.run_dir)));
  r = ExecuteQga(s.run_dir, "guest-ping", json::object(), 400ms);
  EXPECT_EQ(r.status().code(), kind::kUnavailable) << r.status().ToString();
}

// The tiny public image's agent over the real channel, when that image is at hand
// ($CVM_PUBLIC_IMAGES/tiny-linux.qcow2; scripts/test installs it before the end-to-end tests).
TEST_F(QemuVmTest, TinyImageAgentAnswers) {
  const char* images = std::getenv("CVM_PUBLIC_IMAGES");
  if (!images || !fs::exists(fs::path(images) / "tiny-linux.qcow2")) {
    GTEST_SKIP() << "CVM_PUBLIC_IMAGES has no tiny-linux.qcow2";
  }
  fs::path overlay = dir_ / "tiny.qcow2";
  auto made = RunProcess({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                          (fs::path(images) / "tiny-linux.qcow2").string(), overlay.string()},
                         30s);
  ASSERT_TRUE(made.ok() && made->exit_code == 0);
  VmSpec s;
  s.instance_id = "ins-agent";
  s.run_dir = dir_ / "ins-agent";
  s.memory_mib = 128;
  s.system_disk = DiskSpec{.id = "disk-sys", .path = overlay.string()};
  ASSERT_TRUE(Start(s).ok());

  // The agent starts once the guest has booted; each ping is bounded.
  Result<json> ping = Status(kind::kTimeout, "not asked yet");
  for (int i = 0; i < 120 && !ping.ok(); ++i) {
    ping = ExecuteQga(s.run_dir, "guest-ping", json::object(), 1s);
    if (!ping.ok()) std::this_thread::sleep_for(500ms);
  }
  ASSERT_TRUE(ping.ok()) << ping.status().ToString();

  auto exec = ExecuteQga(s.run_dir, "guest-exec",
                         {{"path", "/bin/sh"},
                          {"arg", {"-c", "cat; echo oops >&2; exit 7"}},
                          {"input-data", "aGVsbG8="},  // "hello"
                          {"capture-output", true}});
  ASSERT_TRUE(exec.ok()) << exec.status().ToString();
  json st;
  for (int i = 0; i < 100; ++i) {
    auto r = ExecuteQga(s.run_dir, "guest-exec-status", {{"pid", (*exec)["pid"]}});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    st = *r;
    if (st.value("exited", false)) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(st, json({{"exited", true},
                      {"exitcode", 7},
                      {"out-data", "aGVsbG8="},
                      {"err-data", "b29wcwo="}}));  // "oops\n"

  auto bad = ExecuteQga(s.run_dir, "no-such-command");
  EXPECT_EQ(bad.status().code(), kind::kExternal);
  EXPECT_NE(bad.status().message().find("CommandNotFound"), std::string::npos);

  auto frozen = ExecuteQga(s.run_dir, "guest-fsfreeze-freeze");
  ASSERT_TRUE(frozen.ok()) << frozen.status().ToString();
  EXPECT_GE(frozen->get<int>(), 1);  // the root file system
  EXPECT_EQ(*ExecuteQga(s.run_dir, "guest-fsfreeze-status"), "frozen");
  auto thawed = ExecuteQga(s.run_dir, "guest-fsfreeze-thaw");
  ASSERT_TRUE(thawed.ok()) << thawed.status().ToString();
  EXPECT_EQ(*ExecuteQga(s.run_dir, "guest-fsfreeze-status"), "thawed");

  auto pw =
      ExecuteQga(s.run_dir, "guest-set-user-password",
                 {{"username", "root"}, {"password", "TmV3LXBhc3N3MHJk"}, {"crypted", false}});
  EXPECT_TRUE(pw.ok()) << pw.status().ToString();
  auto nouser = ExecuteQga(s.run_dir, "guest-set-user-password",
                           {{"username", "nobody-here"}, {"password", "eA=="}, {"crypted", false}});
  EXPECT_FALSE(nouser.ok());
}

// Disks of a running VM: a throttled hot-plug (twice: idempotent), online growth, a
// point-in-time copy, and a guest without ACPI hot-plug support (the halting boot sector) that
// never releases the disk: the unplug gives up busy and the disk stays.
TEST_F(QemuVmTest, DiskHotplugGrowCopyAndAGuestThatKeepsIt) {
  VmSpec s = Spec("ins-hotplug", kHaltGuest);
  ASSERT_TRUE(Start(s).ok());
  fs::path raw = dir_ / "pattern.raw";
  {
    std::ofstream out(raw, std::ios::binary);
    for (int i = 0; i < (8 << 20) / 4; ++i) out.write(reinterpret_cast<const char*>(&i), 4);
  }
  fs::path data = dir_ / "data.qcow2";
  auto made =
      RunProcess({"qemu-img", "convert", "-q", "-O", "qcow2", raw.string(), data.string()}, 30s);
  ASSERT_TRUE(made.ok() && made->exit_code == 0);
  DiskSpec disk{.id = "disk-hp1",
                .path = data.string(),
                .throttle = ThrottleLimits{.iops_total = 150, .bps_total = 2 << 20}};
  ASSERT_TRUE(HotplugDisk(s.run_dir, disk).ok());
  ASSERT_TRUE(HotplugDisk(s.run_dir, disk).ok());
  auto present = HasDevice(s.run_dir, "disk-hp1");
  ASSERT_TRUE(present.ok() && *present);
  auto limits =
      ExecuteQmp(s.run_dir, "qom-get", {{"path", "/objects/tg-disk-hp1"}, {"property", "limits"}});
  ASSERT_TRUE(limits.ok()) << limits.status().ToString();
  EXPECT_EQ((*limits)["iops-total"], 150);
  EXPECT_EQ((*limits)["bps-total"], 2 << 20);

  ASSERT_TRUE(GrowDiskLive(s.run_dir, "disk-hp1", 16 << 20).ok());
  ASSERT_TRUE(GrowDiskLive(s.run_dir, "disk-hp1", 12 << 20).ok());  // never shrinks
  auto size = LiveDiskSize(s.run_dir, "disk-hp1");
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 16 << 20);

  fs::path copy = dir_ / "copy.qcow2";
  made = RunProcess(
      {"qemu-img", "create", "-q", "-f", "qcow2", copy.string(), std::to_string(*size)}, 30s);
  ASSERT_TRUE(made.ok() && made->exit_code == 0);
  Status copied = CopyDiskLive(s.run_dir, "disk-hp1", copy, 60s);
  ASSERT_TRUE(copied.ok()) << copied.ToString();
  auto same = RunProcess({"qemu-img", "compare", "-U", data.string(), copy.string()}, 30s);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->exit_code, 0) << same->stdout_data << same->stderr_data;

  Status unplug = HotUnplugDisk(s.run_dir, "disk-hp1", 1500ms);
  EXPECT_EQ(unplug.code(), cvm::kind::kBusy);
  present = HasDevice(s.run_dir, "disk-hp1");
  ASSERT_TRUE(present.ok());
  EXPECT_TRUE(*present);
}

}  // namespace
}  // namespace cvm::drivers::qemu
