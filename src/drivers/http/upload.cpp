#include "drivers/http/upload.h"

#include <curl/curl.h>

#include <cstdio>
#include <memory>

#include "common/error_codes.h"
#include "drivers/http/curl_support.h"

namespace cvm::drivers::http {

namespace fs = std::filesystem;

namespace {

struct Source {
  FILE* file = nullptr;
  int64_t read = 0;
  bool failed = false;
};

size_t Read(char* buffer, size_t size, size_t n, void* user) {
  auto* src = static_cast<Source*>(user);
  const size_t got = std::fread(buffer, 1, size * n, src->file);
  if (got == 0 && std::ferror(src->file)) {
    src->failed = true;
    return CURL_READFUNC_ABORT;
  }
  src->read += static_cast<int64_t>(got);
  return got;
}

// The receiver's answer body is not kept: only its status counts.
size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

int Progress(void* user, curl_off_t, curl_off_t, curl_off_t ultotal, curl_off_t ulnow) {
  const auto* cb = static_cast<const UploadProgress*>(user);
  if (*cb) (*cb)(static_cast<int64_t>(ulnow), static_cast<int64_t>(ultotal));
  return 0;
}

}  // namespace

bool IsUploadUrl(const std::string& url) {
  // libcurl reads "http:///x" as host x; a URL here names its host itself.
  const size_t sep = url.find("://");
  if (sep == std::string::npos || url.compare(sep + 3, 1, "/") == 0) return false;
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return false;
  const std::string scheme = curl::Lower(curl::UrlPart(u.get(), CURLUPART_SCHEME));
  return (scheme == "http" || scheme == "https") &&
         !curl::UrlPart(u.get(), CURLUPART_HOST).empty() &&
         curl::UrlPart(u.get(), CURLUPART_USER).empty() &&
         curl::UrlPart(u.get(), CURLUPART_PASSWORD).empty();
}

Status UploadFile(const fs::path& file, const std::string& url, const UploadLimits& limits,
                  const UploadProgress& progress) {
  curl::GlobalInit();
  const std::string shown = url.substr(0, 200);
  if (!IsUploadUrl(url)) {
    return Status(kind::kRemoteFailed,
                  "`" + shown + "` is not an http(s) URL an image may be uploaded to.");
  }
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  std::unique_ptr<FILE, decltype(&std::fclose)> in(std::fopen(file.c_str(), "rb"), std::fclose);
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (ec || !in || !curl) {
    return Status(kind::kExternal, "cannot start an upload from " + file.string());
  }
  Source src{in.get(), 0, false};
  char error[CURL_ERROR_SIZE] = {};
  // No "Expect: 100-continue": the body goes at once, and a refusal is read from the answer.
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(
      curl_slist_append(nullptr, "Expect:"), curl_slist_free_all);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);  // PUT
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
  curl_easy_setopt(c, CURLOPT_READFUNCTION, Read);
  curl_easy_setopt(c, CURLOPT_READDATA, &src);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(limits.total.count()));
  // A receiver that takes no byte (or sends no answer) for `stall` seconds ends the transfer.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(limits.stall.count()));
  curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, Progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<UploadProgress*>(&progress));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "opencvm-image-export");
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (src.failed) return Status(kind::kExternal, "reading " + file.string() + " failed");
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Status(kind::kRemoteFailed,
                  "The upload to `" + shown + "` stalled or took too long (" + error + ").");
  }
  if (rc != CURLE_OK) {
    return Status(kind::kRemoteFailed, "The upload to `" + shown + "` failed: " +
                                           (error[0] ? error : curl_easy_strerror(rc)) + ".");
  }
  if (status < 200 || status >= 300) {
    return Status(kind::kRemoteFailed,
                  "`" + shown + "` answered HTTP " + std::to_string(status) + " to the upload.");
  }
  if (src.read != static_cast<int64_t>(size)) {
    return Status(kind::kRemoteFailed, "The upload to `" + shown + "` ended after " +
                                           std::to_string(src.read) + " of " +
                                           std::to_string(size) + " bytes.");
  }
  return Status::Ok();
}

}  // namespace cvm::drivers::http
