// QgaClient protocol details against a scripted in-process guest agent; the real agents are
// covered by the end-to-end tests.
#include "drivers/qemu/qga_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/error_codes.h"
#include "test_files.h"

namespace cvm::drivers::qemu {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

using testutil::TempDir;

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

// A guest agent as QEMU's socket presents it: no greeting, no ids; replies in request order;
// a 0xFF byte resets its parser. It starts with output left over from an earlier client, as a
// real agent would after a client gave up on it. Serves connections one after another.
class FakeAgent {
 public:
  explicit FakeAgent(const std::filesystem::path& p) : listen_fd_(Listen(p)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeAgent() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (int c = conn_.load(); c >= 0) ::shutdown(c, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }
  int syncs() const { return syncs_; }

 private:
  void Send(const std::string& s) { (void)!::write(conn_, s.data(), s.size()); }
  void Reply(const json& j) { Send(j.dump() + "\n"); }
  void Serve() {
    while (!stop_) {
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      conn_ = c;
      Send("{\"return\": {\"stale\": true}}\n{\"ret");  // a late reply and half of another
      ServeOne();
      conn_ = -1;
      ::close(c);
    }
  }
  void ServeOne() {
    std::string buf;
    char c[4096];
    bool slow_pending = false;
    while (true) {
      ssize_t n = ::read(conn_, c, sizeof c);
      if (n <= 0) return;
      buf.append(c, static_cast<size_t>(n));
      if (size_t ff = buf.rfind('\xff'); ff != std::string::npos) buf.erase(0, ff + 1);
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        json req = json::parse(buf.substr(0, nl));
        buf.erase(0, nl + 1);
        std::string cmd = req["execute"];
        json args = req.value("arguments", json::object());
        if (slow_pending) {  // the answer to the command the client gave up on comes first
          Reply({{"return", "late reply of slow"}});
          slow_pending = false;
        }
        if (cmd == "guest-sync-delimited") {
          ++syncs_;
          Send("\xff");
          Reply({{"return", args["id"]}});
        } else if (cmd == "guest-ping") {
          Reply({{"return", json::object()}});
        } else if (cmd == "guest-fail") {
          Reply({{"error", {{"class", "GenericError"}, {"desc", "no such user"}}}});
        } else if (cmd == "slow") {
          slow_pending = true;
        } else if (cmd == "echo") {
          Reply({{"return", args}});
        }
      }
    }
  }

  int listen_fd_;
  std::atomic<int> conn_{-1};
  std::atomic<bool> stop_{false};
  std::atomic<int> syncs_{0};
  std::thread thread_;
};

TEST(QemuQgaClientTest, NothingListeningIsUnavailable) {
  TempDir dir;
  auto c = QgaClient::Connect(dir.path() / "qga.sock", 5s);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), kind::kUnavailable);
}

TEST(QemuQgaClientTest, SilentAgentTimesOutInsteadOfHanging) {
  TempDir dir;
  // QEMU accepts on the guest's behalf even when no agent runs in the guest; nothing answers.
  int fd = Listen(dir.path() / "qga.sock");
  ASSERT_GE(fd, 0);
  std::thread acceptor([fd] {
    int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c >= 0) {
      char b[256];
      while (::read(c, b, sizeof b) > 0) {
      }
      ::close(c);
    }
  });
  {
    auto c = QgaClient::Connect(dir.path() / "qga.sock", 300ms);
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), kind::kTimeout) << c.status().ToString();
    EXPECT_NE(c.status().message().find("guest agent not answering"), std::string::npos);
  }  // closing the client's connection ends the acceptor
  acceptor.join();
  ::close(fd);
}

TEST(QemuQgaClientTest, SyncDropsStaleOutputAndErrorsCarryTheirClass) {
  TempDir dir;
  FakeAgent agent(dir.path() / "qga.sock");
  auto c = QgaClient::Connect(dir.path() / "qga.sock", 5s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  QgaClient& q = **c;

  auto ping = q.Execute("guest-ping");
  ASSERT_TRUE(ping.ok()) << ping.status().ToString();
  EXPECT_EQ(*ping, json::object());  // not the stale {"stale": true}

  auto echo = q.Execute("echo", {{"path", "/bin/true"}});
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_EQ(*echo, json({{"path", "/bin/true"}}));

  auto failed = q.Execute("guest-fail");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), kind::kExternal);
  EXPECT_NE(failed.status().message().find("QGA guest-fail failed: GenericError: no such user"),
            std::string::npos)
      << failed.status().message();
}

TEST(QemuQgaClientTest, LateReplyAfterTimeoutIsNotTakenForTheNextAnswer) {
  TempDir dir;
  FakeAgent agent(dir.path() / "qga.sock");
  auto c = QgaClient::Connect(dir.path() / "qga.sock", 5s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  QgaClient& q = **c;
  EXPECT_EQ(agent.syncs(), 1);

  auto slow = q.Execute("slow", json::object(), 200ms);
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.status().code(), kind::kTimeout);

  // The agent now answers "slow" before anything else; the client re-synchronizes first.
  auto echo = q.Execute("echo", {{"n", 7}});
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_EQ(*echo, json({{"n", 7}}));
  EXPECT_EQ(agent.syncs(), 2);
}

}  // namespace
}  // namespace cvm::drivers::qemu
