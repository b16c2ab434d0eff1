// The parts of an HTTP request that the wire protocol needs, independent of the HTTP library.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace cvm::api {

// Request headers by lower-cased name. A request has about ten, so a flat vector searched
// linearly beats a tree: one allocation instead of one per header, on every request.
class HeaderMap {
 public:
  using Entry = std::pair<std::string, std::string>;
  using iterator = std::vector<Entry>::iterator;
  using const_iterator = std::vector<Entry>::const_iterator;

  // The value for `name`, added empty if absent (a repeated header: the last one wins).
  std::string& operator[](std::string_view name) {
    if (auto it = find(name); it != entries_.end()) return it->second;
    return entries_.emplace_back(std::string(name), std::string()).second;
  }
  // Sets `name` to `value` (a repeated header: the last one wins).
  void Set(std::string_view name, std::string_view value) {
    if (auto it = find(name); it != entries_.end()) {
      it->second.assign(value);
    } else {
      entries_.emplace_back(std::piecewise_construct, std::forward_as_tuple(name),
                            std::forward_as_tuple(value));
    }
  }
  iterator find(std::string_view name) {
    return std::find_if(entries_.begin(), entries_.end(),
                        [&](const Entry& e) { return e.first == name; });
  }
  const_iterator find(std::string_view name) const {
    return std::find_if(entries_.begin(), entries_.end(),
                        [&](const Entry& e) { return e.first == name; });
  }
  void erase(std::string_view name) {
    if (auto it = find(name); it != entries_.end()) entries_.erase(it);
  }
  void reserve(size_t n) { entries_.reserve(n); }
  iterator begin() { return entries_.begin(); }
  iterator end() { return entries_.end(); }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }

 private:
  std::vector<Entry> entries_;
};

struct HttpRequest {
  std::string method;        // "POST", "GET", ...
  std::string target;        // path plus "?query" as received
  HeaderMap headers;         // names lower-cased, values verbatim
  std::string body;          // raw bytes as received
  std::string peer_address;  // caller's IP address

  const std::string& Header(std::string_view lower_name) const {
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
