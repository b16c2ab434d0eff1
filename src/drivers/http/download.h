// Downloads of untrusted files over http(s) (ImportImage's ImageUrl). Only hosts the
// configuration allows are fetched from, redirects are followed by hand so every hop is checked
// the same way, and a download that stalls, grows past its limit or ends early is refused with
// nothing left behind.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace cvm::drivers::http {

struct DownloadLimits {
  std::vector<std::string> allowed_hosts;  // host names or IP addresses, matched exactly
  int64_t max_bytes = 0;
  std::chrono::seconds stall{30};  // no byte for this long: refused
  std::chrono::seconds total{3600};
  int max_redirects = 5;
};

// True for an http:// or https:// URL (any other string is a local file for ImportImage).
bool IsHttpUrl(const std::string& url);

// Refused (InvalidParameter.InvalidParameterUrlError): not http(s), no host, a host that is not
// allowed, user names or passwords in the URL.
Status CheckDownloadUrl(const std::string& url, const std::vector<std::string>& allowed_hosts);

// Fetches `url` into `out` (replaced). On any failure `out` is removed and the Status says why
// (InvalidParameter.InvalidParameterUrlError for what the URL leads to, InvalidImageId.TooLarge
// past max_bytes).
Status DownloadFile(const std::string& url, const std::filesystem::path& out,
                    const DownloadLimits& limits);

}  // namespace cvm::drivers::http
