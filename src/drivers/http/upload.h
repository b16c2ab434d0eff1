// Uploads of a local file with an http(s) PUT (ExportImages to a bucket the configuration maps
// to a URL). The body is streamed from the file, never held in memory; a receiver that stops
// taking bytes (or never answers) is given up after `stall`, and anything but a 2xx answer is a
// failure whose reason names the URL and what it answered.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "common/status.h"

namespace cvm::drivers::http {

struct UploadLimits {
  std::chrono::seconds stall{30};  // no byte taken (nor an answer) for this long: failed
  std::chrono::seconds total{6 * 3600};
};

// Called from the uploading thread as bytes go out: (bytes sent, bytes in the file).
using UploadProgress = std::function<void(int64_t sent, int64_t total)>;

// True for an http(s) URL without user name or password whose host is not empty: what an
// upload (and the configuration naming its targets) accepts.
bool IsUploadUrl(const std::string& url);

// PUTs `file` to `url`. Redirects are not followed and no proxy is used. FailedOperation with
// the reason on any failure (connection refused, stall, a non-2xx answer, a short read).
Status UploadFile(const std::filesystem::path& file, const std::string& url,
                  const UploadLimits& limits, const UploadProgress& progress = {});

}  // namespace cvm::drivers::http
