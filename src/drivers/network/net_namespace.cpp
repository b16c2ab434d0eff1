#include "drivers/network/net_namespace.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/error_codes.h"
#include "common/subprocess.h"

namespace cvm::drivers::network {

using namespace std::chrono_literals;

namespace {
Status RunIp(const std::vector<std::string>& argv, std::string_view input, std::string* out) {
  auto r = RunProcess(argv, 30s, input);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return Status(kind::kExternal,
                  FormatCommand(argv) + " failed: " + r->stderr_data.substr(0, 2000));
  }
  if (out) *out = std::move(r->stdout_data);
  return Status::Ok();
}
}  // namespace

bool NetNamespace::Exists() const { return std::filesystem::exists(Path()); }

Status NetNamespace::Ensure() const {
  if (!Exists()) {
    auto st = RunIp({"ip", "netns", "add", name_}, {}, nullptr);
    // Another cvmd (or a retry) may have made it meanwhile.
    if (!st.ok() && !Exists()) return st;
  }
  return IpBatch({"link set dev lo up"});
}

Status NetNamespace::RunInside(const std::function<Status()>& fn) const {
  Status result;
  std::thread worker([&] {
    int fd = open(Path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      result = Status(kind::kExternal, "cannot open " + Path());
      return;
    }
    int rc = setns(fd, CLONE_NEWNET);
    close(fd);
    if (rc != 0) {
      result = Status(kind::kExternal, "setns into " + Path() + " failed");
      return;
    }
    result = fn();
  });
  worker.join();
  return result;
}

Status NetNamespace::IpBatch(const std::vector<std::string>& commands, bool host) const {
  if (commands.empty()) return Status::Ok();
  std::string input;
  for (const auto& c : commands) input += c + "\n";
  std::vector<std::string> argv = {"ip"};
  if (!host) argv.insert(argv.end(), {"-n", name_});
  argv.insert(argv.end(), {"-batch", "-"});
  return RunIp(argv, input, nullptr);
}

Result<std::string> NetNamespace::IpJson(const std::vector<std::string>& args, bool host) const {
  std::vector<std::string> argv = {"ip", "-j"};
  if (!host) argv.insert(argv.end(), {"-n", name_});
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  CVM_RETURN_IF_ERROR(RunIp(argv, {}, &out));
  return out;
}

Status NetNamespace::WriteSysctl(const std::string& key, const std::string& value) const {
  return RunInside([&]() -> Status {
    std::ofstream f("/proc/sys/" + key);
    f << value;
    f.close();
    if (!f) return Status(kind::kExternal, "cannot set " + key + " in " + name_);
    return Status::Ok();
  });
}

std::vector<std::string> NetNamespace::Wrap(std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {"nsenter", "--net=" + Path(), "--"});
  return argv;
}

}  // namespace cvm::drivers::network
