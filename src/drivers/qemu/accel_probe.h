// Chooses the accelerator for guests: "kvm" only when a KVM guest is proven to run, "tcg"
// otherwise. /dev/kvm existing is not enough: on nested hosts the device opens but guests hang at
// kernel start, so the probe boots a real kernel under KVM and watches its serial output.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace cvm::drivers::qemu {

struct AccelProbeOptions {
  std::string qemu_binary = "qemu-system-x86_64";
  // Kernel to boot; empty: the newest readable /boot/vmlinuz-*.
  std::filesystem::path kernel;
  // Honour OPENCVM_ACCEL=tcg|kvm (tests, operators who know better).
  bool honour_env = true;
};

// Returns "kvm" or "tcg" within about `budget` (a hung KVM guest is killed when it runs out).
// Logs the reason for the choice. Thread-safe; no caching (callers probe once at start-up).
std::string ProbeAccelerator(std::chrono::milliseconds budget,
                             const AccelProbeOptions& options = {});

}  // namespace cvm::drivers::qemu
