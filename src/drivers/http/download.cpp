#include "drivers/http/download.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "drivers/http/curl_support.h"

namespace cvm::drivers::http {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBadUrl = "InvalidParameter.InvalidParameterUrlError";

struct Sink {
  FILE* file = nullptr;
  int64_t written = 0;
  int64_t max_bytes = 0;
  bool too_large = false;
};

size_t Write(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t len = size * n;
  if (sink->written + static_cast<int64_t>(len) > sink->max_bytes) {
    sink->too_large = true;
    return 0;  // aborts the transfer
  }
  sink->written += static_cast<int64_t>(len);
  return std::fwrite(data, 1, len, sink->file);
}

}  // namespace

bool IsHttpUrl(const std::string& url) {
  const std::string l = curl::Lower(url.substr(0, 8));
  return l.rfind("http://", 0) == 0 || l.rfind("https://", 0) == 0;
}

Status CheckDownloadUrl(const std::string& url, const std::vector<std::string>& allowed_hosts) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  const std::string shown = url.substr(0, 200);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return Status(kBadUrl, "`" + shown + "` is not a valid URL.");
  }
  const std::string scheme = curl::Lower(curl::UrlPart(u.get(), CURLUPART_SCHEME));
  if (scheme != "http" && scheme != "https") {
    return Status(kBadUrl, "`" + shown + "`: only http:// and https:// URLs are fetched.");
  }
  if (!curl::UrlPart(u.get(), CURLUPART_USER).empty()) {
    return Status(kBadUrl, "`" + shown + "`: URLs with credentials are not fetched.");
  }
  std::string host = curl::Lower(curl::UrlPart(u.get(), CURLUPART_HOST));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const bool allowed = std::any_of(allowed_hosts.begin(), allowed_hosts.end(),
                                   [&](const std::string& h) { return curl::Lower(h) == host; });
  if (host.empty() || !allowed) {
    return Status(kBadUrl, "`" + shown + "`: the host `" + host.substr(0, 64) +
                               "` is not one images may be downloaded from ([images] "
                               "url_hosts).");
  }
  return Status::Ok();
}

Status DownloadFile(const std::string& url, const fs::path& out, const DownloadLimits& limits) {
  curl::GlobalInit();
  std::string current = url;
  Status result = Status::Ok();
  for (int hop = 0;; ++hop) {
    result = CheckDownloadUrl(current, limits.allowed_hosts);
    if (!result.ok()) break;
    if (hop > limits.max_redirects) {
      result = Status(kBadUrl, "More than " + std::to_string(limits.max_redirects) +
                                   " redirects from `" + url.substr(0, 200) + "`.");
      break;
    }
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(out.c_str(), "wb"), std::fclose);
    if (!curl || !file) {
      result = Status("InternalError", "cannot start a download into " + out.string());
      break;
    }
    Sink sink{file.get(), 0, limits.max_bytes, false};
    char error[CURL_ERROR_SIZE] = {};
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, current.c_str());
    // Redirects are followed below, each hop checked like the first URL.
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");  // hosts are checked as given, never a proxy's
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(limits.total.count()));
    // A server that stops sending: under 1 byte/s for `stall` seconds ends the transfer.
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(limits.stall.count()));
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_bytes));
    // Large reads: a loopback image server sends GiBs; 16 KiB writes would cost CPU per call.
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 1L << 20);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "opencvm-image-import");
    const CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      result = Status("InvalidImageId.TooLarge",
                      "The download from `" + url.substr(0, 200) + "` exceeds the limit of " +
                          std::to_string(limits.max_bytes >> 20) + " MiB.");
      break;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      result = Status(kBadUrl, "The download from `" + url.substr(0, 200) +
                                   "` stalled or took too long (" + error + ").");
      break;
    }
    if (rc != CURLE_OK) {
      result = Status(kBadUrl, "The download from `" + url.substr(0, 200) + "` failed: " +
                                   (error[0] ? error : curl_easy_strerror(rc)) + ".");
      break;
    }
    if (status >= 300 && status < 400) {
      char* location = nullptr;
      curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location);
      if (!location) {
        result = Status(kBadUrl, "`" + current.substr(0, 200) + "` redirects nowhere.");
        break;
      }
      current = location;
      continue;
    }
    if (status != 200) {
      result = Status(kBadUrl, "`" + current.substr(0, 200) + "` answered HTTP " +
                                   std::to_string(status) + ".");
      break;
    }
    if (std::fflush(file.get()) != 0) {
      result = Status("InternalError", "writing " + out.string() + " failed");
    }
    break;
  }
  if (!result.ok()) {
    std::error_code ec;
    fs::remove(out, ec);
  }
  return result;
}

}  // namespace cvm::drivers::http
