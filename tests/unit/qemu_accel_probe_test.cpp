#include "drivers/qemu/accel_probe.h"

#include <stdlib.h>

#include <chrono>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace cvm::drivers::qemu {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(QemuAccelProbeTest, FallsBackToTcgWithinBudgetOnThisHost) {
  ScopedEnv env("OPENCVM_ACCEL", nullptr);
  auto t0 = Clock::now();
  std::string accel = ProbeAccelerator(3s);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  spdlog::info("test: ProbeAccelerator -> {} in {} ms", accel, ms);
  EXPECT_LT(ms, 4000);
  // The development hosts have /dev/kvm but cannot run nested guests. On a host where KVM
  // really works, set OPENCVM_TEST_KVM_WORKS=1.
  const char* kvm_works = ::getenv("OPENCVM_TEST_KVM_WORKS");
  EXPECT_EQ(accel, kvm_works && std::string(kvm_works) == "1" ? "kvm" : "tcg");
}

TEST(QemuAccelProbeTest, EnvironmentOverride) {
  {
    ScopedEnv env("OPENCVM_ACCEL", "kvm");
    EXPECT_EQ(ProbeAccelerator(1s), "kvm");
  }
  {
    ScopedEnv env("OPENCVM_ACCEL", "tcg");
    EXPECT_EQ(ProbeAccelerator(1s), "tcg");
  }
  {
    ScopedEnv env("OPENCVM_ACCEL", "kvm");
    AccelProbeOptions opts;
    opts.honour_env = false;
    opts.kernel = "/nonexistent/vmlinuz";
    EXPECT_EQ(ProbeAccelerator(1s, opts), "tcg");
  }
}

}  // namespace
}  // namespace cvm::drivers::qemu
