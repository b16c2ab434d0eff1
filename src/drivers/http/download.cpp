#include "drivers/http/download.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common/error_codes.h"
#include "drivers/http/curl_support.h"

namespace cvm::drivers::http {

namespace fs = std::filesystem;

namespace {

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

// Loopback, link-local, unspecified, multicast and broadcast: the host itself, its neighbours'
// configuration services, nothing a tenant's image lives on.
bool IsSpecialAddress(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    const uint32_t a = ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr);
    const uint32_t first = a >> 24;
    return first == 0 || first == 127 || (a >> 16) == 0xa9fe || first >= 224;
  }
  if (sa->sa_family != AF_INET6) return true;
  const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&a) || IN6_IS_ADDR_V4COMPAT(&a)) {
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    std::memcpy(&v4.sin_addr, &a.s6_addr[12], 4);
    return IsSpecialAddress(reinterpret_cast<const sockaddr*>(&v4));
  }
  return IN6_IS_ADDR_LOOPBACK(&a) || IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LINKLOCAL(&a) ||
         IN6_IS_ADDR_MULTICAST(&a);
}

// Whether a hop may connect to special addresses: only when its host is an address literal,
// which CheckDownloadUrl found listed in url_hosts (the operator's opt-in for that address).
struct HopPolicy {
  bool literal_host = false;
};

// Every connection of a transfer goes through here, with the address curl resolved and is about
// to connect to: the address checked is the one used, so a name that resolves once to a public
// address and then to a loopback one (DNS rebinding) never reaches the second.
curl_socket_t OpenCheckedSocket(void* user, curlsocktype, curl_sockaddr* address) {
  const auto* policy = static_cast<const HopPolicy*>(user);
  if (!policy->literal_host && IsSpecialAddress(&address->addr)) return CURL_SOCKET_BAD;
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

bool IsAddressLiteral(const std::string& host) {
  in6_addr buf{};
  return ::inet_pton(AF_INET, host.c_str(), &buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &buf) == 1;
}

// The URL's host as url_hosts names it: lower case, an IPv6 address without its brackets.
std::string HostOf(CURLU* u) {
  std::string host = curl::Lower(curl::UrlPart(u, CURLUPART_HOST));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
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
    return Status(kind::kBadUrl, "`" + shown + "` is not a valid URL.");
  }
  const std::string scheme = curl::Lower(curl::UrlPart(u.get(), CURLUPART_SCHEME));
  if (scheme != "http" && scheme != "https") {
    return Status(kind::kBadUrl, "`" + shown + "`: only http:// and https:// URLs are fetched.");
  }
  if (!curl::UrlPart(u.get(), CURLUPART_USER).empty()) {
    return Status(kind::kBadUrl, "`" + shown + "`: URLs with credentials are not fetched.");
  }
  const std::string host = HostOf(u.get());
  const bool allowed = std::any_of(allowed_hosts.begin(), allowed_hosts.end(),
                                   [&](const std::string& h) { return curl::Lower(h) == host; });
  if (host.empty() || !allowed) {
    return Status(kind::kBadUrl, "`" + shown + "`: the host `" + host.substr(0, 64) +
                                     "` is not one images may be downloaded from ([images] "
                                     "url_hosts).");
  }
  return Status::Ok();
}

Status DownloadFile(const std::string& url, const fs::path& out, const DownloadLimits& limits) {
  curl::GlobalInit();
  const std::string shown = url.substr(0, 200);
  // Whatever keeps the image from arriving (nothing listening, an address refused, a service
  // that is not HTTP, an HTTP error, a stall, a cut) gets one answer, so an ImageUrl tells
  // nothing about the services behind it; the log keeps the detail for the operator.
  auto unreachable = [&](const std::string& detail) {
    spdlog::info("image download from {} failed: {}", shown, detail);
    return Status(kind::kBadUrl, "The image at `" + shown + "` could not be downloaded.");
  };
  std::string current = url;
  Status result = Status::Ok();
  for (int hop = 0;; ++hop) {
    result = CheckDownloadUrl(current, limits.allowed_hosts);
    if (!result.ok()) break;
    if (hop > limits.max_redirects) {
      result = Status(kind::kBadUrl, "More than " + std::to_string(limits.max_redirects) +
                                         " redirects from `" + shown + "`.");
      break;
    }
    std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed(curl_url(), curl_url_cleanup);
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(out.c_str(), "wb"), std::fclose);
    if (!parsed || !curl || !file ||
        curl_url_set(parsed.get(), CURLUPART_URL, current.c_str(), 0) != CURLUE_OK) {
      result = Status(kind::kExternal, "cannot start a download into " + out.string());
      break;
    }
    HopPolicy policy{IsAddressLiteral(HostOf(parsed.get()))};
    Sink sink{file.get(), 0, limits.max_bytes, false};
    char error[CURL_ERROR_SIZE] = {};
    CURL* c = curl.get();
    // The URL as parsed for the check above, so the transfer connects to the host checked.
    curl_easy_setopt(c, CURLOPT_CURLU, parsed.get());
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, OpenCheckedSocket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &policy);
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
      result = Status(kind::kTooLarge, "The download from `" + shown + "` exceeds the limit of " +
                                           std::to_string(limits.max_bytes >> 20) + " MiB.");
      break;
    }
    if (rc != CURLE_OK) {
      result = unreachable(error[0] ? error : curl_easy_strerror(rc));
      break;
    }
    if (status >= 300 && status < 400) {
      char* location = nullptr;
      curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location);
      if (!location) {
        result = unreachable("HTTP " + std::to_string(status) + " without a Location");
        break;
      }
      current = location;
      continue;
    }
    if (status != 200) {
      result = unreachable(current.substr(0, 200) + " answered HTTP " + std::to_string(status));
      break;
    }
    if (std::fflush(file.get()) != 0) {
      result = Status(kind::kExternal, "writing " + out.string() + " failed");
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
