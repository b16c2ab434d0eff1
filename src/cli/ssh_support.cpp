#include "cli/ssh_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "common/error_codes.h"

extern char** environ;

namespace cvm::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Runs a tool to completion with the CLI's stdin and stderr; stdout goes to `stdout_path` when
// given. Returns the exit code, or -1 when it could not run.
int RunTool(const std::vector<std::string>& argv, const std::string& stdout_path = "") {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!stdout_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

}  // namespace

std::string HomeDir() {
  if (const char* home = std::getenv("HOME"); home && *home) return home;
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return ".";
}

std::string DefaultKeyPath() { return HomeDir() + "/.ssh/id_ed25519"; }

Result<std::string> EnsureLocalSshKey(const std::string& key_path) {
  const std::string pub_path = key_path + ".pub";
  std::error_code ec;
  if (!fs::exists(key_path, ec)) {
    fs::path dir = fs::path(key_path).parent_path();
    if (!fs::exists(dir, ec)) {
      fs::create_directories(dir, ec);
      fs::permissions(dir, fs::perms::owner_all, ec);  // ssh wants ~/.ssh private
    }
    std::cerr << "cvm: creating SSH key " << key_path << "\n";
    int rc = RunTool({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key_path});
    if (rc != 0) {
      return Status(err::kFailedOperation, "ssh-keygen could not create " + key_path +
                                               " (is OpenSSH's ssh-keygen installed?)");
    }
  }
  if (!fs::exists(pub_path, ec)) {
    // A private key without its .pub file: the public half can be derived from it.
    if (RunTool({"ssh-keygen", "-y", "-f", key_path}, pub_path) != 0) {
      return Status(err::kFailedOperation, "cannot read the public key of " + key_path);
    }
  }
  std::string line = FirstLine(pub_path);
  if (PublicKeyBody(line).empty()) {
    return Status(err::kFailedOperation, pub_path + " holds no OpenSSH public key");
  }
  return line;
}

std::string PublicKeyBody(const std::string& line) {
  std::istringstream in(line);
  std::string type, body;
  if (!(in >> type >> body)) return "";
  return type + " " + body;
}

std::string KeyPairNameForHost() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || !host[0])
    std::snprintf(host, sizeof host, "host");
  std::string name = "cvm_";
  for (const char* c = host; *c && *c != '.'; ++c) {
    name.push_back(std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_');
  }
  if (name.size() > 25) name.resize(25);
  return name;
}

std::string KnownHostsPath() {
  fs::path dir = fs::path(HomeDir()) / ".config/opencvm";
  std::error_code ec;
  fs::create_directories(dir, ec);
  return (dir / "known_hosts").string();
}

bool SshAnswers(const std::string& host, int port, std::chrono::milliseconds timeout) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (port <= 0 || port > 65535 || ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return false;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const auto deadline = Clock::now() + timeout;
  auto remaining_ms = [&] {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
  };
  bool ok = false;
  std::string banner;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 || errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, remaining_ms()) == 1 &&
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
      // Read until four bytes decide it, the peer closes, or time runs out.
      while (banner.size() < 4) {
        pollfd r{fd, POLLIN, 0};
        if (::poll(&r, 1, remaining_ms()) != 1) break;
        char buf[64];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        banner.append(buf, static_cast<size_t>(n));
      }
      ok = banner.rfind("SSH-", 0) == 0;
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace cvm::cli
