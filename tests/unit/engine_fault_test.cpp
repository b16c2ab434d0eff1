// The engine's fault paths, with the hypervisor, the disk files, HTTP and the network replaced by
// fakes that fail on demand (a QEMU that exits, a QMP timeout, a full disk, a dead server, a crash
// between two steps): every operation ends SUCCESS or FAILED with its reason, the resource comes
// back to the state reality says, and nothing it took (tap, watch, file) is left behind.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/error_codes.h"
#include "engine/engine.h"
#include "engine/operations.h"
#include "store/sqlite/sqlite_database.h"
#include "test_files.h"

namespace cvm::engine {
namespace {

namespace fs = std::filesystem;
namespace qemu = drivers::qemu;
using namespace std::chrono_literals;

// A hypervisor whose VMs are entries in a map. `on_start` and `on_power_button` decide what a
// start and a press of the ACPI button do.
class FakeHypervisor : public Hypervisor {
 public:
  struct Shared {
    std::mutex mu;
    std::map<fs::path, bool> running;
    int live_watches = 0;
    int power_button_presses = 0;
    int kills = 0;
    // Runs before an inspection answers (outside the lock): lets a test change the world then.
    std::function<void(const fs::path&)> on_inspect;
    std::function<Status(const qemu::VmSpec&)> on_start;
    // Returns whether the guest powers off on this press (1-based).
    std::function<bool(int press)> on_power_button = [](int) { return true; };
    Status hotplug;  // what a disk hot-plug answers
    Status kill;     // what killing a VM answers (failing, the VM runs on)
  };

  explicit FakeHypervisor(std::shared_ptr<Shared> s) : s_(std::move(s)) {}

  Result<qemu::VmStatus> Inspect(const fs::path& run_dir, Ms) override {
    std::function<void(const fs::path&)> hook;
    {
      std::lock_guard lock(s_->mu);
      hook = s_->on_inspect;
    }
    if (hook) hook(run_dir);
    std::lock_guard lock(s_->mu);
    qemu::VmStatus st;
    st.running = s_->running[run_dir];
    st.qmp_ok = st.running;
    return st;
  }
  Status Start(const qemu::VmSpec& spec) override {
    Status st = s_->on_start ? s_->on_start(spec) : Status::Ok();
    if (st.ok()) {
      std::lock_guard lock(s_->mu);
      s_->running[spec.run_dir] = true;
    }
    return st;
  }
  Status PowerDown(const fs::path& run_dir) override {
    std::lock_guard lock(s_->mu);
    if (s_->on_power_button(++s_->power_button_presses)) s_->running[run_dir] = false;
    return Status::Ok();
  }
  Status Reset(const fs::path&) override { return Status::Ok(); }
  Status Kill(const fs::path& run_dir, Ms) override {
    std::lock_guard lock(s_->mu);
    if (!s_->kill.ok()) return s_->kill;
    if (s_->running[run_dir]) ++s_->kills;
    s_->running[run_dir] = false;
    return Status::Ok();
  }
  // As QEMU's watcher: destroying it joins a thread that may be delivering an event (here, the
  // guest's SHUTDOWN, always).
  Result<std::unique_ptr<VmWatch>> Watch(const fs::path&,
                                         qemu::VmEventWatcher::EventCallback on_event,
                                         qemu::VmEventWatcher::DisconnectCallback) override {
    struct Counted : VmWatch {
      std::shared_ptr<Shared> s;
      qemu::VmEventWatcher::EventCallback on_event;
      Counted(std::shared_ptr<Shared> shared, qemu::VmEventWatcher::EventCallback cb)
          : s(std::move(shared)), on_event(std::move(cb)) {
        std::lock_guard lock(s->mu);
        ++s->live_watches;
      }
      ~Counted() override {
        std::thread delivering([this] {
          on_event({.name = "SHUTDOWN", .data = {{"guest", true}}, .raw = {}});
        });
        delivering.join();
        std::lock_guard lock(s->mu);
        --s->live_watches;
      }
    };
    return std::unique_ptr<VmWatch>(std::make_unique<Counted>(s_, std::move(on_event)));
  }
  Status HotplugDisk(const fs::path&, const qemu::DiskSpec&) override {
    std::lock_guard lock(s_->mu);
    return s_->hotplug;
  }
  Status HotUnplugDisk(const fs::path&, const std::string&, Ms) override { return Status::Ok(); }
  Result<int64_t> LiveDiskSize(const fs::path&, const std::string&) override { return 1 << 30; }
  Status GrowDiskLive(const fs::path&, const std::string&, int64_t) override {
    return Status::Ok();
  }
  Status CopyDiskLive(const fs::path&, const std::string&, const fs::path&, Ms) override {
    return Status::Ok();
  }

 private:
  std::shared_ptr<Shared> s_;
};

// A network that only counts what is plugged.
class FakeNetwork : public InstanceNetwork {
 public:
  struct Shared {
    std::mutex mu;
    std::set<std::string> plugged;
  };
  explicit FakeNetwork(std::shared_ptr<Shared> s) : s_(std::move(s)) {}

  Status Start() override { return Status::Ok(); }
  Status Sync() override { return Status::Ok(); }
  Status EnsureAddressed(store::InstanceRecord&) override { return Status::Ok(); }
  Result<NicAttachment> Address(const store::InstanceRecord& inst) override {
    return NicAttachment{
        .tap = "tap0", .mac = inst.mac, .address_cidr = "172.16.0.4/20", .gateway = "172.16.0.1"};
  }
  Result<NicAttachment> Plug(const store::InstanceRecord& inst) override {
    std::lock_guard lock(s_->mu);
    s_->plugged.insert(inst.instance_id);
    return Address(inst);
  }
  void Unplug(const store::InstanceRecord& inst) override {
    std::lock_guard lock(s_->mu);
    s_->plugged.erase(inst.instance_id);
  }
  Result<int> OpenSshForward(const store::InstanceRecord&, int) override { return 40022; }
  std::vector<std::string> Launcher() const override { return {}; }

 private:
  std::shared_ptr<Shared> s_;
};

// Disk files without qemu-img: each file holds its virtual size as text. With `full_disk`, every
// write stops half-way, as qemu-img does on a full file system, and leaves its partial file.
class FakeDiskImages : public DiskImages {
 public:
  struct Shared {
    std::mutex mu;
    bool full_disk = false;
    int writes = 0;  // files written (or attempted)
  };
  explicit FakeDiskImages(std::shared_ptr<Shared> s) : s_(std::move(s)) {}

  Status Create(const fs::path& out, int64_t bytes) override { return Write(out, bytes); }
  Status CreateOverlay(const fs::path& out, const fs::path&, int64_t bytes) override {
    return Write(out, bytes);
  }
  Status Convert(const fs::path& source, const std::string&, const fs::path& out, Ms) override {
    auto size = VirtualSize(source);
    return size.ok() ? Write(out, *size) : size.status();
  }
  Status Resize(const fs::path& file, int64_t bytes) override { return Write(file, bytes); }
  Result<int64_t> VirtualSize(const fs::path& file) override {
    std::ifstream in(file);
    int64_t size = 0;
    if (!(in >> size))
      return Status(err::kInternalError, "qemu-img info: cannot read " + file.string());
    return size;
  }
  Status Copy(const fs::path& source, const fs::path& out) override {
    return Convert(source, "qcow2", out, Ms(0));
  }
  Result<qemu::ImageFileInfo> InspectUntrusted(const fs::path& file, int64_t) override {
    auto size = VirtualSize(file);
    if (!size.ok()) return size.status();
    return qemu::ImageFileInfo{.format = "qcow2", .virtual_size = *size};
  }
  Status ImportUntrusted(const fs::path& source, const std::string&, const fs::path& out) override {
    return Convert(source, "qcow2", out, Ms(0));
  }
  int64_t Capacity(const fs::path&) override { return int64_t{1} << 40; }

 private:
  Status Write(const fs::path& out, int64_t bytes) {
    std::lock_guard lock(s_->mu);
    ++s_->writes;
    std::ofstream f(out, std::ios::trunc);
    if (s_->full_disk) {
      f << "partial";
      return Status(err::kInternalError,
                    "qemu-img convert failed: error while writing sector 2048: No space left on "
                    "device");
    }
    f << bytes;
    return Status::Ok();
  }

  std::shared_ptr<Shared> s_;
};

// HTTP servers that answer as `download` says; a failing one leaves a partial file.
class FakeTransfers : public Transfers {
 public:
  struct Shared {
    std::mutex mu;
    Status download;
  };
  explicit FakeTransfers(std::shared_ptr<Shared> s) : s_(std::move(s)) {}

  Status Download(const std::string&, const fs::path& out,
                  const drivers::http::DownloadLimits&) override {
    std::lock_guard lock(s_->mu);
    std::ofstream(out) << (s_->download.ok() ? "1073741824" : "partial");
    return s_->download;
  }
  Status Upload(const fs::path&, const std::string&, const drivers::http::UploadLimits&,
                const drivers::http::UploadProgress&) override {
    return Status::Ok();
  }

 private:
  std::shared_ptr<Shared> s_;
};

class EngineFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::OpenSqliteDatabase(dir_.path() / "test.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    options_.data_dir = dir_.path() / "data";
    options_.workers = 2;
    options_.soft_stop_timeout = 5s;
    options_.power_button_interval = 50ms;
    options_.final_write_retry = 10ms;
  }
  void TearDown() override {
    if (engine_) engine_->Stop();
  }

  // A 10 GiB CLOUD_PREMIUM disk of account 100 in ap-guangzhou-3.
  static store::DiskRecord Disk10G(const std::string& id, const std::string& usage,
                                   const std::string& state, const std::string& instance_id) {
    store::DiskRecord d;
    d.disk_id = id;
    d.owner_uin = "100";
    d.name = id;
    d.usage = usage;
    d.disk_type = "CLOUD_PREMIUM";
    d.size_gb = 10;
    d.zone = "ap-guangzhou-3";
    d.state = state;
    d.instance_id = instance_id;
    return d;
  }

  // An instance in `state` with a system disk, and `action` recorded on it as its handler does.
  std::string Record(const std::string& state, const std::string& action,
                     const nlohmann::json& args = nlohmann::json::object()) {
    return RecordAfter(
        [&](store::Transaction& tx) -> Status {
          store::InstanceRecord r;
          r.instance_id = "ins-00000001";
          r.uuid = r.instance_id;
          r.owner_uin = "100";
          r.name = r.host_name = "vm";
          r.instance_type = "S5.SMALL1";
          r.zone = "ap-guangzhou-3";
          r.region = "ap-guangzhou";
          r.image_id = "img-00000001";
          r.state = state;
          r.mac = "52:54:00:00:00:01";
          CVM_RETURN_IF_ERROR(store::InsertInstance(tx, r));
          store::DiskRecord d = Disk10G("disk-00000001", "SYSTEM_DISK", "ATTACHED", r.instance_id);
          d.portable = false;
          return store::InsertDisk(tx, d);
        },
        action, "ins-00000001", args);
  }

  // `action` on `resource_id`, recorded as a handler records it, after `prepare` wrote the rows
  // it needs in the same transaction. Returns the operation's id.
  std::string RecordAfter(const std::function<Status(store::Transaction&)>& prepare,
                          const std::string& action, const std::string& resource_id,
                          const nlohmann::json& args = nlohmann::json::object()) {
    std::string op_id;
    Status st = store::WithTransaction(*db_, [&](store::Transaction& tx) -> Status {
      CVM_RETURN_IF_ERROR(prepare(tx));
      api::RequestContext ctx;
      ctx.request_id = "req-" + action;
      ctx.action = "Act";
      ctx.owner_uin = ctx.caller_uin = "100";
      auto id = RecordOperation(tx, ctx, action, resource_id, args);
      if (!id.ok()) return id.status();
      op_id = *id;
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return op_id;
  }

  // Fake disk files and HTTP unless `real_files` (then qemu-img runs on real files).
  void StartEngine(bool real_files = false) {
    EngineDrivers drivers{.hypervisor = std::make_unique<FakeHypervisor>(hv_),
                          .network = std::make_unique<FakeNetwork>(net_)};
    if (!real_files) {
      drivers.images = std::make_unique<FakeDiskImages>(files_);
      drivers.transfers = std::make_unique<FakeTransfers>(http_);
    }
    engine_ = std::make_unique<Engine>(*db_, config_, options_, std::move(drivers));
    Status st = engine_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // The operation once it has ended (or as it is when waiting gives up).
  OperationRecord WaitForEnd(const std::string& op_id) {
    for (int i = 0; i < 600; ++i) {
      auto op = LoadOperation(*db_, op_id);
      if (op.ok() && (op->state == "SUCCESS" || op->state == "FAILED")) return *op;
      std::this_thread::sleep_for(50ms);
    }
    auto op = LoadOperation(*db_, op_id);
    return op.ok() ? *op : OperationRecord{};
  }

  store::InstanceRecord Instance() {
    auto inst = store::LoadInstance(*db_, "ins-00000001");
    EXPECT_TRUE(inst.ok() && inst->has_value());
    return inst.ok() && inst->has_value() ? **inst : store::InstanceRecord{};
  }

  fs::path RunDir() { return options_.data_dir / "run/instances/ins-00000001"; }

  // Data disk disk-00000002 (10 GiB, its file made) in `state`, attached to `instance_id` if
  // given, and `action` recorded on it with `args`; `prepare` adds rows in the same transaction.
  std::string RecordDiskOperation(const std::string& state, const std::string& instance_id,
                                  const std::string& action,
                                  const nlohmann::json& args = nlohmann::json::object(),
                                  const std::function<Status(store::Transaction&)>& prepare = {}) {
    fs::create_directories(options_.data_dir / "disks");
    std::ofstream(options_.data_dir / "disks/disk-00000002.qcow2") << (int64_t{10} << 30);
    return RecordAfter(
        [&](store::Transaction& tx) -> Status {
          CVM_RETURN_IF_ERROR(
              store::InsertDisk(tx, Disk10G("disk-00000002", "DATA_DISK", state, instance_id)));
          return prepare ? prepare(tx) : Status::Ok();
        },
        action, "disk-00000002", args);
  }

  // A snapshot row of disk-00000002 in `state`, as CreateSnapshots writes it.
  Status InsertSnapshot(store::Transaction& tx, const std::string& state) {
    return tx.Exec(
        "INSERT INTO snapshots(snapshot_id, owner_uin, name, disk_id, disk_usage, disk_size_gb, "
        "zone, region, state, percent, file_path, created_at) VALUES ('snap-00000001', '100', "
        "'s', 'disk-00000002', 'DATA_DISK', 10, 'ap-guangzhou-3', 'ap-guangzhou', ?, 0, ?, 0)",
        {state, SnapshotFile().string()});
  }
  fs::path SnapshotFile() { return options_.data_dir / "snapshots/snap-00000001.qcow2"; }

  store::DiskRecord Disk() {
    auto d = store::LoadDisk(*db_, "disk-00000002");
    EXPECT_TRUE(d.ok() && d->has_value());
    return d.ok() && d->has_value() ? **d : store::DiskRecord{};
  }

  // Files left in `dir` of the data directory.
  std::vector<std::string> FilesIn(const std::string& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(options_.data_dir / dir, ec)) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }

  testutil::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  Config config_;
  EngineOptions options_;
  std::shared_ptr<FakeHypervisor::Shared> hv_ = std::make_shared<FakeHypervisor::Shared>();
  std::shared_ptr<FakeNetwork::Shared> net_ = std::make_shared<FakeNetwork::Shared>();
  std::shared_ptr<FakeDiskImages::Shared> files_ = std::make_shared<FakeDiskImages::Shared>();
  std::shared_ptr<FakeTransfers::Shared> http_ = std::make_shared<FakeTransfers::Shared>();
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineFaultTest, AnExceptionInATaskFailsTheOperationAndFreesTheInstance) {
  hv_->on_start = [](const qemu::VmSpec&) -> Status { throw std::runtime_error("boom"); };
  const std::string op_id = Record("STARTING", op::kStart);
  StartEngine();
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "FAILED");
  EXPECT_EQ(op.error_code, err::kInternalError);
  EXPECT_NE(op.error_message.find("boom"), std::string::npos) << op.error_message;
  store::InstanceRecord inst = Instance();
  EXPECT_EQ(inst.state, "STOPPED");
  EXPECT_EQ(inst.latest_operation_state, "FAILED");
}

// The fake driver answers with an internal kind, as the real one does; the operation records the
// wire code it maps to.
TEST_F(EngineFaultTest, QemuExitingDuringStartFailsWithItsReasonAndLeavesNothingPlugged) {
  hv_->on_start = [](const qemu::VmSpec&) {
    return Status(kind::kExternal, "QEMU exited during start: cannot open disk");
  };
  const std::string op_id = Record("STARTING", op::kStart);
  StartEngine();
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "FAILED");
  EXPECT_EQ(op.error_code, err::kInternalError);
  EXPECT_NE(op.error_message.find("cannot open disk"), std::string::npos) << op.error_message;
  store::InstanceRecord inst = Instance();
  EXPECT_EQ(inst.state, "STOPPED");
  EXPECT_EQ(inst.latest_operation_state, "FAILED");
  EXPECT_NE(inst.latest_operation_error.find("cannot open disk"), std::string::npos);
  std::lock_guard lock(net_->mu);
  EXPECT_TRUE(net_->plugged.empty()) << "the tap of a VM that never ran stays plugged";
}

TEST_F(EngineFaultTest, ASoftStopPressesThePowerButtonAgainUntilABootingGuestObeys) {
  hv_->running[RunDir()] = true;
  hv_->on_power_button = [](int press) { return press >= 3; };  // still booting at first
  const std::string op_id = Record("STOPPING", op::kStop, {{"StopType", "SOFT"}});
  StartEngine();
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "SUCCESS") << op.error_message;
  EXPECT_EQ(Instance().state, "STOPPED");
  std::lock_guard lock(hv_->mu);
  EXPECT_EQ(hv_->power_button_presses, 3);
}

TEST_F(EngineFaultTest, ASoftStopTheGuestIgnoresFailsAndTheInstanceKeepsRunning) {
  hv_->running[RunDir()] = true;
  hv_->on_power_button = [](int) { return false; };
  options_.soft_stop_timeout = 1s;
  const std::string op_id = Record("STOPPING", op::kStop, {{"StopType", "SOFT"}});
  StartEngine();
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "FAILED");
  EXPECT_EQ(op.error_code, err::kFailedOperation);
  EXPECT_EQ(Instance().state, "RUNNING");
  EXPECT_EQ(Instance().latest_operation_state, "FAILED");
}

TEST_F(EngineFaultTest, AnOperationOnAMissingInstanceEndsFailedWithItsReason) {
  const std::string op_id =
      RecordAfter([](store::Transaction&) { return Status::Ok(); }, op::kStart, "ins-gone");
  StartEngine();
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "FAILED");
  EXPECT_EQ(op.error_code, err::kInvalidInstanceIdNotFound);
  EXPECT_FALSE(op.error_message.empty());
}

// qemu-img failing (here: the disk's file is missing) fails a resize with its reason; the disk
// keeps its size and comes back to rest.
TEST_F(EngineFaultTest, QemuImgFailingFailsAResizeAndTheDiskKeepsItsSize) {
  const std::string op_id =
      RecordDiskOperation("EXPANDING", "", op::kResizeDisk, {{"DiskSize", 20}});
  fs::remove(options_.data_dir / "disks/disk-00000002.qcow2");
  StartEngine(/*real_files=*/true);
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "FAILED");
  EXPECT_EQ(op.error_code, err::kInternalError);
  EXPECT_NE(op.error_message.find("qemu-img"), std::string::npos) << op.error_message;
  auto disk = store::LoadDisk(*db_, "disk-00000002");
  ASSERT_TRUE(disk.ok() && disk->has_value());
  EXPECT_EQ((*disk)->size_gb, 10);
  EXPECT_EQ((*disk)->state, "UNATTACHED");
  EXPECT_EQ((*disk)->error_prompt, op.error_message);
}

TEST_F(EngineFaultTest, StoppingTheEngineWhileItWatchesAVmReturns) {
  hv_->running[RunDir()] = true;
  Record("RUNNING", op::kStart);
  ASSERT_TRUE(store::WithTransaction(*db_, [&](store::Transaction& tx) {
                return tx.Exec("UPDATE operations SET state='SUCCESS'");
              }).ok());
  StartEngine();  // re-attaches to the running VM
  {
    std::lock_guard lock(hv_->mu);
    ASSERT_EQ(hv_->live_watches, 1);
  }
  auto stopped = std::async(std::launch::async, [&] { engine_->Stop(); });
  if (stopped.wait_for(30s) != std::future_status::ready) {
    ADD_FAILURE() << "Engine::Stop deadlocks with a watcher delivering an event";
    std::_Exit(1);  // the stuck thread cannot be joined
  }
  std::lock_guard lock(hv_->mu);
  EXPECT_EQ(hv_->live_watches, 0);
  EXPECT_TRUE(hv_->running[RunDir()]) << "VMs outlive the daemon";
}

// The reconciler reads an instance as STOPPED; before it acts, a StartInstances boots it (as
// the operation would, under the instance's lock). It must not kill the guest just booted.
TEST_F(EngineFaultTest, TheReconcilerNeverKillsAGuestAStartJustBooted) {
  options_.reconcile_interval = 50ms;
  Record("STOPPED", op::kStart);
  ASSERT_TRUE(store::WithTransaction(*db_, [&](store::Transaction& tx) {
                return tx.Exec("UPDATE operations SET state='SUCCESS'");
              }).ok());
  StartEngine();
  std::atomic<int> inspections_after{0};
  std::atomic<bool> booted{false};
  const fs::path run = RunDir();
  {
    std::lock_guard lock(hv_->mu);
    hv_->on_inspect = [&, run](const fs::path& dir) {
      if (dir != run) return;
      if (!booted.exchange(true)) {
        ASSERT_TRUE(store::WithTransaction(*db_, [&](store::Transaction& tx) {
                      return tx.Exec("UPDATE instances SET state='RUNNING'");
                    }).ok());
        std::lock_guard lock(hv_->mu);
        hv_->running[run] = true;
        return;
      }
      ++inspections_after;
    };
  }
  for (int i = 0; i < 400 && inspections_after < 5; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_GE(inspections_after.load(), 5);
  engine_->Stop();
  std::lock_guard lock(hv_->mu);
  hv_->on_inspect = nullptr;
  EXPECT_EQ(hv_->kills, 0);
  EXPECT_TRUE(hv_->running[run]);
  EXPECT_EQ(Instance().state, "RUNNING");
}

// A full disk stops the snapshot's copy half-way: the operation fails with qemu-img's reason,
// the snapshot is gone (record and every file) and the disk is back at rest.
TEST_F(EngineFaultTest, AFullDiskFailsASnapshotAndLeavesNoFile) {
  files_->full_disk = true;
  const std::string op_id =
      RecordDiskOperation("UNATTACHED", "", op::kCreateSnapshot, {{"SnapshotId", "snap-00000001"}},
                          [&](store::Transaction& tx) { return InsertSnapshot(tx, "CREATING"); });
  StartEngine();
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "FAILED");
  EXPECT_NE(op.error_message.find("No space left on device"), std::string::npos)
      << op.error_message;
  EXPECT_EQ(FilesIn("snapshots"), std::vector<std::string>{});
  auto rows = db_->Query("SELECT deleted FROM snapshots WHERE snapshot_id = 'snap-00000001'");
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  EXPECT_EQ(rows->front().Int(0), 1);
  EXPECT_EQ(Disk().state, "UNATTACHED");
  EXPECT_EQ(Disk().error_prompt, op.error_message);
}

// A full disk while a new data disk's file is made (at launch): the launch fails and no half
// file stays where the next attempt would take it for the disk.
TEST_F(EngineFaultTest, AFullDiskFailsALaunchAndLeavesNoDiskFile) {
  files_->full_disk = true;
  const std::string op_id = Record("PENDING", op::kLaunch);
  ASSERT_TRUE(store::WithTransaction(*db_, [&](store::Transaction& tx) {
                return tx.Exec(
                    "INSERT INTO images(image_id, owner_uin, image_type, image_source, name, "
                    "description, os_name, platform, architecture, state, size_gb, virtual_size, "
                    "file_path, default_user, min_memory_mib, created_at) VALUES "
                    "('img-00000001', NULL, 'PUBLIC_IMAGE', 'OFFICIAL', 'i', '', 'Linux', "
                    "'Linux', 'x86_64', 'NORMAL', 1, 1073741824, ?, 'root', 0, 0)",
                    {(dir_.path() / "base.qcow2").string()});
              }).ok());
  StartEngine();
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "FAILED");
  EXPECT_NE(op.error_message.find("No space left on device"), std::string::npos)
      << op.error_message;
  EXPECT_EQ(Instance().state, "LAUNCH_FAILED");
  EXPECT_EQ(FilesIn("disks"), std::vector<std::string>{});
  std::lock_guard lock(hv_->mu);
  EXPECT_FALSE(hv_->running[RunDir()]);
}

// QEMU does not answer the hot-plug in time: the attach fails with that reason, the disk is
// free again (not half-attached) and the guest runs on untouched.
TEST_F(EngineFaultTest, AQmpTimeoutFailsAnAttachAndTheDiskIsFreeAgain) {
  hv_->running[RunDir()] = true;
  hv_->hotplug = Status(err::kInternalError, "QMP device_add: no answer within 10000 ms");
  Record("RUNNING", op::kStart);
  ASSERT_TRUE(store::WithTransaction(*db_, [&](store::Transaction& tx) {
                return tx.Exec("UPDATE operations SET state='SUCCESS'");
              }).ok());
  const std::string op_id = RecordDiskOperation("ATTACHING", "ins-00000001", op::kAttachDisk);
  StartEngine();
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "FAILED");
  EXPECT_NE(op.error_message.find("no answer"), std::string::npos) << op.error_message;
  const store::DiskRecord disk = Disk();
  EXPECT_EQ(disk.state, "UNATTACHED");
  EXPECT_EQ(disk.instance_id, "");
  EXPECT_EQ(Instance().state, "RUNNING");
  std::lock_guard lock(hv_->mu);
  EXPECT_TRUE(hv_->running[RunDir()]);
  EXPECT_EQ(hv_->kills, 0);
}

// A crash after the snapshot's file was placed and before its outcome was written: the next
// start finishes the operation from the file already there, without copying the disk again.
TEST_F(EngineFaultTest, ACrashBetweenPlacingASnapshotAndRecordingItEndsInSuccessWithoutACopy) {
  const std::string op_id =
      RecordDiskOperation("UNATTACHED", "", op::kCreateSnapshot, {{"SnapshotId", "snap-00000001"}},
                          [&](store::Transaction& tx) { return InsertSnapshot(tx, "CREATING"); });
  ASSERT_TRUE(store::WithTransaction(*db_, [&](store::Transaction& tx) {
                return tx.Exec("UPDATE operations SET state='RUNNING' WHERE operation_id=?",
                               {op_id});
              }).ok());
  fs::create_directories(SnapshotFile().parent_path());
  std::ofstream(SnapshotFile()) << (int64_t{10} << 30);  // placed just before the crash
  StartEngine();
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "SUCCESS") << op.error_message;
  auto rows = db_->Query("SELECT state, deleted FROM snapshots WHERE snapshot_id='snap-00000001'");
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  EXPECT_EQ(rows->front().Str(0), "NORMAL");
  EXPECT_EQ(rows->front().Int(1), 0);
  EXPECT_TRUE(fs::exists(SnapshotFile()));
  std::lock_guard lock(files_->mu);
  EXPECT_EQ(files_->writes, 0);
}

// A crash while a snapshot's copy was being written: the half copy (its temporary file) is
// removed at start and the resumed operation makes a whole one.
TEST_F(EngineFaultTest, ACrashMidCopyLeavesAHalfFileThatTheResumedSnapshotReplaces) {
  const std::string op_id =
      RecordDiskOperation("UNATTACHED", "", op::kCreateSnapshot, {{"SnapshotId", "snap-00000001"}},
                          [&](store::Transaction& tx) { return InsertSnapshot(tx, "CREATING"); });
  fs::create_directories(SnapshotFile().parent_path());
  fs::path half = SnapshotFile();
  half += ".tmp";
  std::ofstream(half) << "partial";
  StartEngine();
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "SUCCESS") << op.error_message;
  EXPECT_EQ(FilesIn("snapshots"), std::vector<std::string>{"snap-00000001.qcow2"});
  std::ifstream in(SnapshotFile());
  int64_t size = 0;
  in >> size;
  EXPECT_EQ(size, int64_t{10} << 30);
}

// The server of an ImportImage URL dies mid-transfer: the import fails with that reason, the
// image is IMPORTFAILED, and neither the partial download nor an image file stays.
TEST_F(EngineFaultTest, ADeadServerFailsAnImportAndLeavesNoFile) {
  http_->download = Status(err::kInternalError, "downloading the image: connection reset");
  const std::string op_id = RecordAfter(
      [](store::Transaction& tx) {
        return tx.Exec(
            "INSERT INTO images(image_id, owner_uin, image_type, image_source, name, "
            "description, os_name, platform, architecture, state, size_gb, virtual_size, "
            "file_path, default_user, min_memory_mib, created_at) VALUES "
            "('img-00000002', '100', 'PRIVATE_IMAGE', 'IMPORT_IMAGE', 'i', '', 'Linux', "
            "'Linux', 'x86_64', 'IMPORTING', 1, 0, '', 'root', 0, 0)");
      },
      op::kImportImage, "img-00000002", {{"Url", "http://127.0.0.1:9/image.qcow2"}});
  StartEngine();
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "FAILED");
  EXPECT_NE(op.error_message.find("connection reset"), std::string::npos) << op.error_message;
  auto rows = db_->Query("SELECT state, file_path FROM images WHERE image_id='img-00000002'");
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  EXPECT_EQ(rows->front().Str(0), "IMPORTFAILED");
  EXPECT_EQ(rows->front().Str(1), "");
  EXPECT_EQ(FilesIn("images/private"), std::vector<std::string>{});
}

// A terminate whose VM cannot be killed fails, and leaves the instance RUNNING as it is (not
// TERMINATING, which no action leaves): a second TerminateInstances then succeeds.
TEST_F(EngineFaultTest, AFailedTerminateLeavesTheInstanceAsItIsSoItCanBeTerminatedAgain) {
  hv_->running[RunDir()] = true;
  hv_->kill = Status(err::kInternalError, "QEMU of ins-00000001 did not exit after SIGKILL");
  const std::string first = Record("TERMINATING", op::kTerminate);
  StartEngine();
  OperationRecord op = WaitForEnd(first);
  EXPECT_EQ(op.state, "FAILED");
  EXPECT_NE(op.error_message.find("did not exit"), std::string::npos) << op.error_message;
  EXPECT_EQ(Instance().state, "RUNNING");
  engine_->Stop();

  {
    std::lock_guard lock(hv_->mu);
    hv_->kill = Status::Ok();
  }
  const std::string second = RecordAfter(
      [](store::Transaction& tx) { return tx.Exec("UPDATE instances SET state='TERMINATING'"); },
      op::kTerminate, "ins-00000001");
  StartEngine();
  EXPECT_EQ(WaitForEnd(second).state, "SUCCESS");
  auto rows = db_->Query("SELECT state, deleted FROM instances WHERE instance_id='ins-00000001'");
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  EXPECT_EQ(rows->front().Str(0), "TERMINATED");
  EXPECT_EQ(rows->front().Int(1), 1);
  std::lock_guard lock(hv_->mu);
  EXPECT_FALSE(hv_->running[RunDir()]);
}

// CreateDisks leaves the file to a worker: a full disk fails it, and the disk, never made, is
// gone from the store (it never appeared) with no file left.
TEST_F(EngineFaultTest, AFullDiskFailsADiskCreationAndTheDiskNeverAppears) {
  files_->full_disk = true;
  const std::string op_id = RecordDiskOperation(store::kDiskCreating, "", op::kCreateDisk);
  fs::remove(options_.data_dir / "disks/disk-00000002.qcow2");
  StartEngine();
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "FAILED");
  EXPECT_NE(op.error_message.find("No space left on device"), std::string::npos)
      << op.error_message;
  auto rows = db_->Query("SELECT deleted FROM disks WHERE disk_id = 'disk-00000002'");
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  EXPECT_EQ(rows->front().Int(0), 1);
  EXPECT_EQ(FilesIn("disks"), std::vector<std::string>{});
}

// A crash after the new disk's file was placed: the resumed creation keeps it and the disk
// appears, UNATTACHED.
TEST_F(EngineFaultTest, AResumedDiskCreationKeepsTheFileMadeBeforeACrash) {
  const std::string op_id = RecordDiskOperation(store::kDiskCreating, "", op::kCreateDisk);
  StartEngine();
  EXPECT_EQ(WaitForEnd(op_id).state, "SUCCESS");
  EXPECT_EQ(Disk().state, "UNATTACHED");
  std::lock_guard lock(files_->mu);
  EXPECT_EQ(files_->writes, 0);
}

}  // namespace
}  // namespace cvm::engine
