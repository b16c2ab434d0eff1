// The engine's fault paths, with the hypervisor and the network replaced by fakes that fail on
// demand: every operation ends SUCCESS or FAILED with its reason, the instance leaves OPERATING
// in the state reality says, and nothing it took (tap, watch) is left behind.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <chrono>
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
  Status HotplugDisk(const fs::path&, const qemu::DiskSpec&) override { return Status::Ok(); }
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
    return NicAttachment{.tap = "tap0", .mac = inst.mac, .address_cidr = "172.16.0.4/20",
                         .gateway = "172.16.0.1"};
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

  // An instance in `state` with a system disk, and `action` recorded on it as its handler does.
  std::string Record(const std::string& state, const std::string& action,
                     const nlohmann::json& args = nlohmann::json::object()) {
    std::string op_id;
    Status st = store::WithTransaction(*db_, [&](store::Transaction& tx) -> Status {
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
      store::DiskRecord d;
      d.disk_id = "disk-00000001";
      d.owner_uin = "100";
      d.name = "sys";
      d.usage = "SYSTEM_DISK";
      d.disk_type = "CLOUD_PREMIUM";
      d.size_gb = 10;
      d.zone = r.zone;
      d.state = "ATTACHED";
      d.instance_id = r.instance_id;
      d.portable = false;
      CVM_RETURN_IF_ERROR(store::InsertDisk(tx, d));
      api::RequestContext ctx;
      ctx.request_id = "req-1";
      ctx.action = "Act";
      ctx.owner_uin = ctx.caller_uin = "100";
      auto id = RecordOperation(tx, ctx, action, r.instance_id, args);
      if (!id.ok()) return id.status();
      op_id = *id;
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return op_id;
  }

  void StartEngine() {
    engine_ = std::make_unique<Engine>(
        *db_, config_, options_,
        EngineDrivers{.hypervisor = std::make_unique<FakeHypervisor>(hv_),
                      .network = std::make_unique<FakeNetwork>(net_)});
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

  testutil::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  Config config_;
  EngineOptions options_;
  std::shared_ptr<FakeHypervisor::Shared> hv_ = std::make_shared<FakeHypervisor::Shared>();
  std::shared_ptr<FakeNetwork::Shared> net_ = std::make_shared<FakeNetwork::Shared>();
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
  std::string op_id;
  ASSERT_TRUE(store::WithTransaction(*db_, [&](store::Transaction& tx) -> Status {
                api::RequestContext ctx;
                ctx.request_id = "req-2";
                ctx.owner_uin = ctx.caller_uin = "100";
                auto id = RecordOperation(tx, ctx, op::kStart, "ins-gone", {});
                if (!id.ok()) return id.status();
                op_id = *id;
                return Status::Ok();
              }).ok());
  StartEngine();
  OperationRecord op = WaitForEnd(op_id);
  EXPECT_EQ(op.state, "FAILED");
  EXPECT_EQ(op.error_code, err::kInvalidInstanceIdNotFound);
  EXPECT_FALSE(op.error_message.empty());
}

// qemu-img failing (here: the disk's file is missing) fails a resize with its reason; the disk
// keeps its size and comes back to rest.
TEST_F(EngineFaultTest, QemuImgFailingFailsAResizeAndTheDiskKeepsItsSize) {
  std::string op_id;
  ASSERT_TRUE(store::WithTransaction(*db_, [&](store::Transaction& tx) -> Status {
                store::DiskRecord d;
                d.disk_id = "disk-00000002";
                d.owner_uin = "100";
                d.name = "data";
                d.usage = "DATA_DISK";
                d.disk_type = "CLOUD_PREMIUM";
                d.size_gb = 10;
                d.zone = "ap-guangzhou-3";
                d.state = "EXPANDING";
                CVM_RETURN_IF_ERROR(store::InsertDisk(tx, d));
                api::RequestContext ctx;
                ctx.request_id = "req-3";
                ctx.owner_uin = ctx.caller_uin = "100";
                auto id = RecordOperation(tx, ctx, op::kResizeDisk, d.disk_id, {{"DiskSize", 20}});
                if (!id.ok()) return id.status();
                op_id = *id;
                return Status::Ok();
              }).ok());
  StartEngine();
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

}  // namespace
}  // namespace cvm::engine
