// Clean-up whose failure leaves the caller nothing to do (a rollback, a QMP command for a device
// or job that may already be gone, killing a QEMU that may already have exited): the failure is
// logged rather than silently dropped, and the caller carries on.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "common/status.h"

namespace cvm {

inline void BestEffort(const Status& st, std::string_view what) {
  if (!st.ok()) spdlog::debug("{} (best effort) failed: {}", what, st.ToString());
}

template <typename T>
void BestEffort(const Result<T>& r, std::string_view what) {
  if (!r.ok()) BestEffort(r.status(), what);
}

}  // namespace cvm
