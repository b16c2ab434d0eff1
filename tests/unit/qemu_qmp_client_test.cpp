// QmpClient protocol details against a scripted in-process QMP peer; the real-QEMU paths are
// covered by qemu_vm_test.cpp.
#include "drivers/qemu/qmp_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace cvm::drivers::qemu {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class TempDir {
 public:
  TempDir() {
    std::string t = "/tmp/cvm-qmp-XXXXXX";
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

int Listen(const std::filesystem::path& p) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, p.c_str(), sizeof(a.sun_path) - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A QMP peer that follows a small script keyed by command name.
class FakeQmp {
 public:
  explicit FakeQmp(const std::filesystem::path& p) : listen_fd_(Listen(p)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeQmp() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (conn_ >= 0) ::shutdown(conn_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
    if (conn_ >= 0) ::close(conn_);
  }

 private:
  void Send(const json& j) {
    std::string s = j.dump() + "\r\n";
    (void)!::write(conn_, s.data(), s.size());
  }
  static json Event(const std::string& name) {
    return {{"event", name},
            {"data", json::object()},
            {"timestamp", {{"seconds", 1}, {"microseconds", 2}}}};
  }
  void Serve() {
    conn_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn_ < 0) return;
    Send({{"QMP", {{"version", json::object()}, {"capabilities", json::array()}}}});
    std::string buf;
    char c[4096];
    json slow_id;
    while (true) {
      ssize_t n = ::read(conn_, c, sizeof c);
      if (n <= 0) return;
      buf.append(c, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        json req = json::parse(buf.substr(0, nl));
        buf.erase(0, nl + 1);
        std::string cmd = req["execute"];
        json id = req["id"];
        if (cmd == "qmp_capabilities") {
          Send({{"return", json::object()}, {"id", id}});
        } else if (cmd == "failing") {
          Send(Event("RESET"));
          Send({{"error", {{"class", "DeviceNotFound"}, {"desc", "Device 'x' not found"}}},
                {"id", id}});
        } else if (cmd == "slow") {
          slow_id = id;  // answered only later, after the client gave up
        } else if (cmd == "fast") {
          Send({{"return", "late reply of slow"}, {"id", slow_id}});
          Send({{"return", {{"v", 2}}}, {"id", id}});
        } else if (cmd == "emit") {
          Send({{"return", json::object()}, {"id", id}});
          Send(Event("POWERDOWN"));
          Send(Event("SHUTDOWN"));
        } else if (cmd == "echo") {
          Send({{"return", req.value("arguments", json::object())}, {"id", id}});
        }
      }
    }
  }

  int listen_fd_;
  int conn_ = -1;
  std::thread thread_;
};

TEST(QemuQmpClientTest, MissingSocketFailsAtOnce) {
  TempDir dir;
  auto t0 = Clock::now();
  auto c = QmpClient::Connect(dir.path() / "nothing.sock", 5s);
  ASSERT_FALSE(c.ok());
  EXPECT_LT(Clock::now() - t0, 1s);
}

TEST(QemuQmpClientTest, SilentPeerTimesOutInsteadOfHanging) {
  TempDir dir;
  int fd = Listen(dir.path() / "silent.sock");  // listens, never accepts or greets
  ASSERT_GE(fd, 0);
  auto t0 = Clock::now();
  auto c = QmpClient::Connect(dir.path() / "silent.sock", 300ms);
  auto elapsed = Clock::now() - t0;
  ::close(fd);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("timed out"), std::string::npos) << c.status().message();
  EXPECT_LT(elapsed, 2s);
}

TEST(QemuQmpClientTest, ErrorsEventsAndStaleReplies) {
  TempDir dir;
  FakeQmp peer(dir.path() / "qmp.sock");
  auto c = QmpClient::Connect(dir.path() / "qmp.sock", 5s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  QmpClient& q = **c;
  EXPECT_TRUE(q.greeting().contains("QMP"));

  auto echo = q.Execute("echo", {{"device", "disk-1"}});
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_EQ(*echo, json({{"device", "disk-1"}}));

  // A QMP error carries its class and description; the event that came first is queued.
  auto failed = q.Execute("failing");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(QmpErrorClass(failed.status()), "DeviceNotFound");
  EXPECT_NE(failed.status().message().find("Device 'x' not found"), std::string::npos);
  auto events = q.TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["event"], "RESET");
  EXPECT_TRUE(q.TakeEvents().empty());

  // A command that times out; its late reply must not be taken for the next command's.
  auto t0 = Clock::now();
  auto slow = q.Execute("slow", json::object(), 200ms);
  ASSERT_FALSE(slow.ok());
  EXPECT_NE(slow.status().message().find("timed out"), std::string::npos);
  EXPECT_EQ(QmpErrorClass(slow.status()), "");
  EXPECT_LT(Clock::now() - t0, 1s);
  auto fast = q.Execute("fast");
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  EXPECT_EQ(*fast, json({{"v", 2}}));

  // WaitEvent returns the matching event and keeps the others queued.
  ASSERT_TRUE(q.Execute("emit").ok());
  auto shut = q.WaitEvent([](const json& e) { return e["event"] == "SHUTDOWN"; }, 2s);
  ASSERT_TRUE(shut.ok()) << shut.status().ToString();
  EXPECT_EQ((*shut)["event"], "SHUTDOWN");
  events = q.TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["event"], "POWERDOWN");

  auto none = q.WaitEvent([](const json&) { return true; }, 100ms);
  EXPECT_FALSE(none.ok());
}

}  // namespace
}  // namespace cvm::drivers::qemu
