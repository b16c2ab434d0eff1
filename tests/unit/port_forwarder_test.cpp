// The SSH port forwarder's relays are bounded: a limit on how many run at once, an idle timeout,
// and destroying the forwarder ends them all (no thread outlives it). Runs in a network
// namespace of its own, against an echo server inside it (needs root).
#include "drivers/network/port_forwarder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace cvm::drivers::network {
namespace {

using namespace std::chrono_literals;

class PortForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    ns_ = std::make_unique<NetNamespace>("cvmfwd" + std::to_string(getpid()));
    ASSERT_TRUE(ns_->Ensure().ok());
    // An echo server on the namespace's loopback: the socket belongs to the namespace.
    ASSERT_TRUE(ns_->RunInside([&]() -> Status {
                     listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                     sockaddr_in a{};
                     a.sin_family = AF_INET;
                     a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                     if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
                         listen(listen_fd_, 16) != 0) {
                       return Status("InternalError", "echo server");
                     }
                     socklen_t len = sizeof a;
                     getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
                     echo_port_ = ntohs(a.sin_port);
                     return Status::Ok();
                   })
                    .ok());
    server_ = std::thread([this] {
      for (;;) {
        int c = accept(listen_fd_, nullptr, nullptr);
        if (c < 0) return;
        std::thread([c] {
          char buf[256];
          ssize_t n;
          while ((n = read(c, buf, sizeof buf)) > 0) {
            if (write(c, buf, static_cast<size_t>(n)) != n) break;
          }
          close(c);
        }).detach();
      }
    });
  }
  void TearDown() override {
    if (!ns_) return;
    shutdown(listen_fd_, SHUT_RDWR);
    if (server_.joinable()) server_.join();
    close(listen_fd_);
    for (int fd : clients_) close(fd);
    EXPECT_TRUE(ns_->IpBatch({"netns del " + ns_->name()}, true).ok());
  }

  int Connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{.tv_sec = 10, .tv_usec = 0};  // a relay that never ends fails, not hangs
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    clients_.push_back(fd);
    return fd;
  }
  // What one byte sent through `fd` comes back as: "x" relayed, "" closed, "timeout".
  static std::string Echo(int fd) {
    if (write(fd, "x", 1) != 1) return "";
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n == 1) return std::string(1, c);
    return n == 0 || errno == ECONNRESET ? "" : "timeout";
  }
  static std::string ReadEnd(int fd) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return "closed";
    return n < 0 ? "timeout" : "data";
  }

  Result<int> Open(PortForwarder& f) {
    return f.Open("ins-1", 0, INADDR_LOOPBACK, static_cast<uint16_t>(echo_port_), 0);
  }

  std::unique_ptr<NetNamespace> ns_;
  int listen_fd_ = -1;
  int echo_port_ = 0;
  std::thread server_;
  std::vector<int> clients_;
};

TEST_F(PortForwarderTest, ConnectionsBeyondTheLimitAreRefused) {
  PortForwarder f(*ns_, {.max_relays = 2, .idle_timeout = 1h});
  auto port = Open(f);
  ASSERT_TRUE(port.ok());
  int a = Connect(*port), b = Connect(*port);
  EXPECT_EQ(Echo(a), "x");
  EXPECT_EQ(Echo(b), "x");
  int c = Connect(*port);
  EXPECT_EQ(ReadEnd(c), "closed");
  EXPECT_EQ(Echo(a), "x");
}

TEST_F(PortForwarderTest, AnIdleRelayIsClosed) {
  PortForwarder f(*ns_, {.max_relays = 8, .idle_timeout = 200ms});
  auto port = Open(f);
  ASSERT_TRUE(port.ok());
  int a = Connect(*port);
  EXPECT_EQ(Echo(a), "x");
  EXPECT_EQ(ReadEnd(a), "closed");
}

TEST_F(PortForwarderTest, DestroyingTheForwarderEndsItsRelays) {
  std::vector<int> fds;
  {
    PortForwarder f(*ns_, {.max_relays = 8, .idle_timeout = 1h});
    auto port = Open(f);
    ASSERT_TRUE(port.ok());
    for (int i = 0; i < 3; ++i) fds.push_back(Connect(*port));
    for (int fd : fds) EXPECT_EQ(Echo(fd), "x");
  }
  for (int fd : fds) EXPECT_EQ(ReadEnd(fd), "closed");
}

TEST_F(PortForwarderTest, AClosedForwardStopsAcceptingAndAReopenedOneServes) {
  PortForwarder f(*ns_, {.max_relays = 64, .idle_timeout = 1h});
  for (int i = 0; i < 20; ++i) {  // close and reopen while the loop polls
    auto port = Open(f);
    ASSERT_TRUE(port.ok());
    EXPECT_EQ(Echo(Connect(*port)), "x");
    f.Close("ins-1");
  }
}

}  // namespace
}  // namespace cvm::drivers::network
