// The parts of an HTTP request that the wire protocol needs, independent of the HTTP library.
#pragma once

#include <map>
#include <string>

namespace cvm::api {

struct HttpRequest {
  std::string method;                          // "POST", "GET", ...
  std::string target;                          // path plus "?query" as received
  std::map<std::string, std::string> headers;  // names lower-cased, values verbatim
  std::string body;                            // raw bytes as received
  std::string peer_address;                    // caller's IP address

  const std::string& Header(const std::string& lower_name) const {
    static const std::string kEmpty;
    auto it = headers.find(lower_name);
    return it == headers.end() ? kEmpty : it->second;
  }
  // The raw query string (bytes after '?'), empty if none.
  std::string Query() const {
    auto q = target.find('?');
    return q == std::string::npos ? std::string() : target.substr(q + 1);
  }
};

}  // namespace cvm::api
