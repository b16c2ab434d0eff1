// What the download and upload drivers share of libcurl: its one-time global set-up and reading
// one part of a URL as libcurl itself will read it (so a check and the transfer never disagree).
#pragma once

#include <curl/curl.h>

#include <cctype>
#include <mutex>
#include <string>

namespace cvm::drivers::http::curl {

inline void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

inline std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One part of a parsed URL, "" when absent.
inline std::string UrlPart(CURLU* u, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(u, part, &value, 0) != CURLUE_OK || !value) return "";
  std::string s = value;
  curl_free(value);
  return s;
}

}  // namespace cvm::drivers::http::curl
