#include "drivers/qemu/unix_stream.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/error_codes.h"

namespace cvm::drivers::qemu {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<long>(left.count(), 0));
}

Result<int> ConnectUnixStream(const std::string& path, Clock::time_point deadline,
                              std::string_view what) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return Status(kind::kBug,
                  fmt::format("{} socket path too long ({} bytes): {}", what, path.size(), path));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status(kind::kExternal, fmt::format("socket: {}", std::strerror(errno)));
  while (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EINPROGRESS) {
      // Listen backlog full (unix sockets do not connect asynchronously): retry briefly.
      if (Clock::now() >= deadline) {
        ::close(fd);
        return Status(kind::kTimeout, fmt::format("{} connect to {} timed out", what, path));
      }
      ::poll(nullptr, 0, 10);
      continue;
    }
    int err = errno;
    ::close(fd);
    return Status(kind::kUnavailable,
                  fmt::format("{} connect to {}: {}", what, path, std::strerror(err)));
  }
  return fd;
}

Status SendAll(int fd, std::string_view data, Clock::time_point deadline, std::string_view what,
               const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      int left = RemainingMs(deadline);
      if (left == 0 || ::poll(&p, 1, left) == 0) {
        return Status(kind::kTimeout, fmt::format("{} write to {} timed out", what, path));
      }
      continue;
    }
    return Status(kind::kUnavailable,
                  fmt::format("{} write to {}: {}", what, path, std::strerror(errno)));
  }
  return Status::Ok();
}

Status ReceiveSome(int fd, std::string& buf, std::string_view what, const std::string& path) {
  char chunk[16384];
  while (true) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n > 0) {
      buf.append(chunk, static_cast<size_t>(n));
      return Status::Ok();
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Status::Ok();
    return Status(kind::kUnavailable,
                  n == 0 ? fmt::format("{} connection {} closed", what, path)
                         : fmt::format("{} read from {}: {}", what, path, std::strerror(errno)));
  }
}

Status WaitReadable(int fd, Clock::time_point deadline, std::string_view what,
                    const std::string& path) {
  while (true) {
    pollfd p{fd, POLLIN, 0};
    int left = RemainingMs(deadline);
    int pr = left == 0 ? 0 : ::poll(&p, 1, left);
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0)
      return Status(kind::kTimeout, fmt::format("{} read from {} timed out", what, path));
    if (pr < 0) {
      return Status(kind::kUnavailable,
                    fmt::format("{} poll {}: {}", what, path, std::strerror(errno)));
    }
    return Status::Ok();
  }
}

}  // namespace cvm::drivers::qemu
