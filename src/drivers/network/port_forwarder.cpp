#include "drivers/network/port_forwarder.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <vector>

#include <spdlog/spdlog.h>

#include "common/error_codes.h"

namespace cvm::drivers::network {

namespace {

int ListenLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int BoundPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

bool WriteAll(int fd, const char* p, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, static_cast<size_t>(n));
    if (w <= 0) return false;
    p += w;
    n -= w;
  }
  return true;
}

// Copies both ways until both directions have ended (half-closes are passed on), `stop` becomes
// readable, or nothing moved for `idle`.
void Pump(int a, int b, int stop, std::chrono::milliseconds idle) {
  bool a_open = true, b_open = true;
  char buf[65536];
  while (a_open || b_open) {
    pollfd p[3] = {{a_open ? a : -1, POLLIN, 0}, {b_open ? b : -1, POLLIN, 0}, {stop, POLLIN, 0}};
    int ready = poll(p, 3, static_cast<int>(idle.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || p[2].revents) return;  // error, idle or stopping
    for (int i = 0; i < 2; ++i) {
      if (!p[i].revents) continue;
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      ssize_t n = read(from, buf, sizeof buf);
      if (n > 0) {
        if (!WriteAll(to, buf, n)) return;
        continue;
      }
      if (n < 0) return;  // an error: drop the connection
      shutdown(to, SHUT_WR);
      (i == 0 ? a_open : b_open) = false;
    }
  }
}

}  // namespace

PortForwarder::PortForwarder(const NetNamespace& ns, RelayLimits limits)
    : ns_(ns), limits_(limits) {
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  if (pipe2(stop_, O_CLOEXEC | O_NONBLOCK) != 0) stop_[0] = stop_[1] = -1;
  thread_ = std::thread([this] { Loop(); });
}

PortForwarder::~PortForwarder() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  Wake();
  thread_.join();  // the loop ends every relay before it returns
  for (auto& [key, f] : forwards_) close(f.listen_fd);
  for (int fd : retired_) close(fd);
  for (int fd : {wake_[0], wake_[1], stop_[0], stop_[1]}) close(fd);
}

void PortForwarder::Wake() {
  char c = 1;
  [[maybe_unused]] auto n = write(wake_[1], &c, 1);
}

Result<int> PortForwarder::Open(const std::string& key, int port, uint32_t ip, uint16_t target_port,
                                uint32_t mark) {
  std::lock_guard lock(mu_);
  auto old = forwards_.find(key);
  if (old != forwards_.end() && old->second.port == port && port != 0) {
    old->second.ip = ip;
    old->second.target_port = target_port;
    old->second.mark = mark;
    return port;
  }
  if (old != forwards_.end()) {
    retired_.push_back(old->second.listen_fd);
    forwards_.erase(old);
  }
  int fd = port > 0 ? ListenLoopback(port) : -1;
  if (fd < 0) fd = ListenLoopback(0);
  if (fd < 0) return Status(kind::kExternal, "cannot listen on a loopback port");
  Forward f{
      .listen_fd = fd, .port = BoundPort(fd), .ip = ip, .target_port = target_port, .mark = mark};
  forwards_[key] = f;
  Wake();
  return f.port;
}

void PortForwarder::Close(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = forwards_.find(key);
  if (it == forwards_.end()) return;
  retired_.push_back(it->second.listen_fd);
  forwards_.erase(it);
  Wake();
}

void PortForwarder::CloseRetiredLocked() {
  for (int fd : retired_) close(fd);
  retired_.clear();
}

void PortForwarder::ReapRelays(bool all) {
  for (auto it = relays_.begin(); it != relays_.end();) {
    if (all || (*it)->done) {
      (*it)->thread.join();
      it = relays_.erase(it);
    } else {
      ++it;
    }
  }
}

void PortForwarder::Loop() {
  while (true) {
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}};
    std::vector<Forward> targets{{}};
    {
      std::lock_guard lock(mu_);
      // Not polled any more from here on: closing them cannot hit a reused descriptor.
      CloseRetiredLocked();
      if (stopping_) break;
      for (const auto& [key, f] : forwards_) {
        fds.push_back({f.listen_fd, POLLIN, 0});
        targets.push_back(f);
      }
    }
    ReapRelays(/*all=*/false);
    if (poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents) {
      char buf[64];
      while (read(wake_[0], buf, sizeof buf) > 0) {
      }
      continue;  // the set of listeners may have changed: rebuild before accepting
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      int c = accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      if (active_relays_ >= limits_.max_relays) {
        spdlog::warn("port forward: {} relays open; refusing a connection", active_relays_.load());
        close(c);
        continue;
      }
      ++active_relays_;
      auto relay = std::make_unique<RelayThread>();
      RelayThread* r = relay.get();
      r->thread = std::thread([this, r, c, t = targets[i]] {
        Relay(c, t);
        --active_relays_;
        r->done = true;
      });
      relays_.push_back(std::move(relay));
    }
  }
  // Stopping: every relay sees stop_ readable and ends.
  char c = 1;
  [[maybe_unused]] auto n = write(stop_[1], &c, 1);
  ReapRelays(/*all=*/true);
}

void PortForwarder::Relay(int client, Forward t) {
  int s = -1;
  Status st = ns_.RunInside([&]() -> Status {
    s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return s < 0 ? Status(kind::kExternal, "socket") : Status::Ok();
  });
  if (st.ok()) {
    // The VPC's mark selects its routing table and conntrack zone (see links.h, firewall.h).
    setsockopt(s, SOL_SOCKET, SO_MARK, &t.mark, sizeof t.mark);
    timeval tv{.tv_sec = 10, .tv_usec = 0};
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(t.ip);
    a.sin_port = htons(t.target_port);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      timeval none{};
      setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
      Pump(client, s, stop_[0], limits_.idle_timeout);
    }
  }
  if (s >= 0) close(s);
  close(client);
}

}  // namespace cvm::drivers::network
