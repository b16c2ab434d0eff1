#include "common/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

namespace cvm {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class TempDir {
 public:
  TempDir() {
    std::string t = "/tmp/cvm-sp-XXXXXX";
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// True once pid is gone or a zombie (reaped or not, it no longer runs).
bool ProcessGone(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return true;
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t rp = s.rfind(')');
  return rp != std::string::npos && rp + 2 < s.size() && s[rp + 2] == 'Z';
}

bool WaitGone(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (ProcessGone(pid)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return ProcessGone(pid);
}

pid_t ReadPid(const std::filesystem::path& p) {
  for (int i = 0; i < 100; ++i) {
    std::ifstream in(p);
    pid_t pid = 0;
    if (in >> pid && pid > 0) return pid;
    std::this_thread::sleep_for(10ms);
  }
  return 0;
}

TEST(SubprocessTest, CapturesOutputAndExitCode) {
  auto r = RunProcess({"sh", "-c", "echo out; echo err >&2; exit 3"}, 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->term_signal, 0);
  EXPECT_EQ(r->stdout_data, "out\n");
  EXPECT_EQ(r->stderr_data, "err\n");
}

TEST(SubprocessTest, FeedsStdinLargerThanPipeBuffer) {
  std::string in(1 << 20, 'x');
  for (size_t i = 0; i < in.size(); i += 97) in[i] = '\n';
  auto r = RunProcess({"cat"}, 10s, in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_data, in);
}

TEST(SubprocessTest, ArgumentsAreNotInterpretedByAShell) {
  auto r = RunProcess({"printf", "%s|", "a b", "$HOME", "'q'", ";ls"}, 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stdout_data, "a b|$HOME|'q'|;ls|");
}

TEST(SubprocessTest, ReportsTerminatingSignal) {
  auto r = RunProcess({"sh", "-c", "kill -TERM $$"}, 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->term_signal, SIGTERM);
  EXPECT_EQ(r->exit_code, 128 + SIGTERM);
}

TEST(SubprocessTest, MissingProgramIsAnError) {
  auto r = RunProcess({"/nonexistent/opencvm-no-such-tool"}, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), "InternalError");
  EXPECT_NE(r.status().message().find("opencvm-no-such-tool"), std::string::npos);
}

TEST(SubprocessTest, TimeoutKillsTheWholeProcessGroup) {
  TempDir dir;
  auto pidfile = dir.path() / "child.pid";
  auto t0 = Clock::now();
  auto r = RunProcess({"sh", "-c", "sleep 30 & echo $! > " + pidfile.string() + "; wait"}, 300ms);
  auto elapsed = Clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), "InternalError");
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("sleep 30"), std::string::npos) << r.status().message();
  EXPECT_LT(elapsed, 2s);
  pid_t grandchild = ReadPid(pidfile);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(WaitGone(grandchild, 2s)) << "background child of the timed-out command survived";
  if (!ProcessGone(grandchild)) ::kill(grandchild, SIGKILL);
}

TEST(SubprocessTest, DoesNotWaitForADetachedDescendantHoldingTheOutput) {
  TempDir dir;
  auto pidfile = dir.path() / "daemon.pid";
  auto t0 = Clock::now();
  // Like qemu -daemonize: the launcher exits while a detached child still holds stdout.
  auto r = RunProcess(
      {"sh", "-c", "setsid sleep 20 & echo $! > " + pidfile.string() + "; echo launched"}, 10s);
  auto elapsed = Clock::now() - t0;
  pid_t daemon = ReadPid(pidfile);
  if (daemon > 0) ::kill(daemon, SIGKILL);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_data, "launched\n");
  EXPECT_LT(elapsed, 3s);
}

TEST(SubprocessTest, DoesNotLeakDescriptors) {
  int fd = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(fd, 3);
  auto r = RunProcess({"sh", "-c", "test -e /proc/$$/fd/" + std::to_string(fd)}, 5s);
  ::close(fd);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 1) << "fd " << fd << " leaked into the child";
}

TEST(SubprocessTest, FormatCommandQuotes) {
  EXPECT_EQ(FormatCommand({"qemu-img", "info", "/a b/c'd", "x=1,y"}),
            "qemu-img info '/a b/c'\\''d' x=1,y");
}

}  // namespace
}  // namespace cvm
