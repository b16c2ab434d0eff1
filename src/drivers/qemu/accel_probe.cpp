#include "drivers/qemu/accel_probe.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/subprocess.h"

namespace cvm::drivers::qemu {
namespace {

namespace fs = std::filesystem;

fs::path NewestHostKernel() {
  std::vector<fs::path> kernels;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/boot", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("vmlinuz-", 0) == 0 && ::access(e.path().c_str(), R_OK) == 0) {
      kernels.push_back(e.path());
    }
  }
  if (kernels.empty()) return {};
  // Version strings sort well enough for "newest"; any bootable kernel proves the point.
  return *std::max_element(kernels.begin(), kernels.end());
}

}  // namespace

std::string ProbeAccelerator(std::chrono::milliseconds budget, const AccelProbeOptions& options) {
  if (options.honour_env) {
    if (const char* env = std::getenv("OPENCVM_ACCEL"); env && *env) {
      std::string v = env;
      if (v == "kvm" || v == "tcg") {
        spdlog::info("accel: {} (from OPENCVM_ACCEL)", v);
        return v;
      }
      spdlog::warn("accel: ignoring OPENCVM_ACCEL={} (want kvm or tcg)", v);
    }
  }
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    spdlog::info("accel: tcg (cannot open /dev/kvm: {})", std::strerror(errno));
    return "tcg";
  }
  ::close(fd);

  fs::path kernel = options.kernel.empty() ? NewestHostKernel() : options.kernel;
  if (kernel.empty()) {
    spdlog::warn("accel: tcg (/dev/kvm exists but no kernel in /boot to prove a KVM guest runs)");
    return "tcg";
  }

  // No disk, no initrd: a working KVM guest gets through early boot, fails to mount a root and
  // panics; panic=-1 reboots at once and -no-reboot turns that into QEMU exiting. A hung guest
  // prints nothing and is killed when the budget runs out.
  std::vector<std::string> argv = {options.qemu_binary,
                                   "-no-user-config",
                                   "-nodefaults",
                                   "-machine",
                                   "pc",
                                   "-accel",
                                   "kvm",
                                   "-cpu",
                                   "host",
                                   "-smp",
                                   "1",
                                   "-m",
                                   "256",
                                   "-display",
                                   "none",
                                   "-serial",
                                   "stdio",
                                   "-no-reboot",
                                   "-kernel",
                                   kernel.string(),
                                   "-append",
                                   "console=ttyS0 panic=-1 quiet"};
  const auto t0 = std::chrono::steady_clock::now();
  auto out = RunProcess(argv, budget);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  if (!out.ok()) {
    spdlog::warn("accel: tcg (a KVM guest showed no sign of life within {} ms: {})", ms,
                 out.status().message());
    return "tcg";
  }
  for (const char* marker : {"VFS: Unable to mount root", "Kernel panic", "Run /init"}) {
    if (out->stdout_data.find(marker) != std::string::npos) {
      spdlog::info("accel: kvm (a KVM guest booted {} to \"{}\" in {} ms)", kernel.string(), marker,
                   ms);
      return "kvm";
    }
  }
  std::string err = out->stderr_data.substr(0, 300);
  std::replace(err.begin(), err.end(), '\n', ' ');
  spdlog::warn(
      "accel: tcg (KVM guest ended after {} ms, exit {}, without reaching the kernel's "
      "root mount: {})",
      ms, out->exit_code, err);
  return "tcg";
}

}  // namespace cvm::drivers::qemu
