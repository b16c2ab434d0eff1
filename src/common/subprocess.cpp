#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/error_codes.h"

extern char** environ;

namespace cvm {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxCapture = 16 << 20;
// After the direct child exits, how long to keep reading output that a detached descendant
// may still be holding open.
constexpr auto kDrainGrace = std::chrono::milliseconds(200);

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

Status Errno(std::string_view what, int e) {
  return Status(err::kInternalError, fmt::format("{}: {}", what, std::strerror(e)));
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Reads everything currently available; closes the fd on EOF or error.
void DrainInto(Fd& fd, std::string& out) {
  char buf[65536];
  while (fd.valid()) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      size_t room = out.size() < kMaxCapture ? kMaxCapture - out.size() : 0;
      out.append(buf, std::min(room, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    fd.Reset();  // EOF or hard error
  }
}

int DecodeWaitStatus(int status, int* term_signal) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    *term_signal = WTERMSIG(status);
    return 128 + *term_signal;
  }
  return -1;
}

}  // namespace

std::string FormatCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_not_of(
                                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
                                   "YZ0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    out += '\'';
  }
  return out;
}

Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout, std::string_view stdin_data) {
  if (argv.empty()) return Status(err::kInternalError, "RunProcess: empty argv");
  const auto deadline = Clock::now() + timeout;

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Errno("pipe2", errno);
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Errno("pipe2", errno);
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  // stdin is a socket pair rather than a pipe so that writing to a child that stopped reading
  // can use MSG_NOSIGNAL instead of raising SIGPIPE in the daemon.
  Fd in_w, in_r;
  if (!stdin_data.empty()) {
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
      return Errno("socketpair", errno);
    }
    in_w.Reset(sp[0]);
    in_r.Reset(sp[1]);
  }

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (in_r.valid()) {
    posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  } else {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  // The daemon holds listening sockets, databases and QMP connections: none of them may leak
  // into QEMU or qemu-img, whether or not their owners remembered O_CLOEXEC.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);  // e.g. an ignored SIGPIPE must not be inherited
  posix_spawnattr_setpgroup(&attr, 0);         // own group, so a timeout kills its children too
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0].c_str(), &fa, &attr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Errno(fmt::format("cannot run '{}'", argv[0]), rc);

  out_w.Reset();
  err_w.Reset();
  in_r.Reset();
  SetNonBlocking(out_r.get());
  SetNonBlocking(err_r.get());
  if (in_w.valid()) SetNonBlocking(in_w.get());
  Fd pidfd(PidfdOpen(pid));

  ProcessOutput result;
  size_t in_off = 0;
  bool exited = false;
  Clock::time_point drain_deadline{};

  auto reap = [&](int flags) {
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid, &status, flags);
    } while (r < 0 && errno == EINTR);
    if (r == pid) {
      result.exit_code = DecodeWaitStatus(status, &result.term_signal);
      exited = true;
      drain_deadline = Clock::now() + kDrainGrace;
      pidfd.Reset();
    } else if (r < 0) {
      // Someone else reaped it (a SIGCHLD handler with waitpid(-1)): we cannot know the status.
      result.exit_code = -1;
      exited = true;
      drain_deadline = Clock::now() + kDrainGrace;
      pidfd.Reset();
    }
  };

  while (true) {
    if (!exited) reap(WNOHANG);
    if (exited && !out_r.valid() && !err_r.valid()) break;
    auto now = Clock::now();
    if (exited && now >= drain_deadline) break;
    if (!exited && now >= deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      reap(0);
      return Status(err::kInternalError, fmt::format("command '{}' timed out after {} ms",
                                                     FormatCommand(argv), timeout.count()));
    }
    auto limit = exited ? drain_deadline : deadline;
    auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(limit - now).count();
    if (!exited && !pidfd.valid()) wait_ms = std::min<long>(wait_ms, 10);  // no pidfd: poll

    pollfd pfds[4];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1, pid_i = -1;
    if (out_r.valid()) out_i = n, pfds[n++] = {out_r.get(), POLLIN, 0};
    if (err_r.valid()) err_i = n, pfds[n++] = {err_r.get(), POLLIN, 0};
    if (in_w.valid()) in_i = n, pfds[n++] = {in_w.get(), POLLOUT, 0};
    if (pidfd.valid()) pid_i = n, pfds[n++] = {pidfd.get(), POLLIN, 0};
    int pr = ::poll(pfds, n, static_cast<int>(std::max<long>(wait_ms, 0)));
    if (pr < 0 && errno != EINTR) {
      int e = errno;
      ::kill(-pid, SIGKILL);
      reap(0);
      return Errno("poll", e);
    }
    if (pr <= 0) continue;
    if (out_i >= 0 && pfds[out_i].revents) DrainInto(out_r, result.stdout_data);
    if (err_i >= 0 && pfds[err_i].revents) DrainInto(err_r, result.stderr_data);
    if (in_i >= 0 && pfds[in_i].revents) {
      ssize_t w = ::send(in_w.get(), stdin_data.data() + in_off, stdin_data.size() - in_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) in_off += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == stdin_data.size()) {
        in_w.Reset();  // all written (EOF for the child), or the child closed its stdin
      }
    }
    if (pid_i >= 0 && pfds[pid_i].revents) reap(0);
  }
  return result;
}

}  // namespace cvm
