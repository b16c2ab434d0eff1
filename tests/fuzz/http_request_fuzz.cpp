// The HTTP/1.1 request parser the server reads every request with, fed the bytes in pieces as
// they come off a socket, with the server's limits; then the parts the pipeline decodes next
// (query and form parameters, the TC3 Authorization header).
#include <algorithm>
#include <string>

#include <boost/beast/http/error.hpp>

#include "api/http_request_parser.h"
#include "api/signing.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte chooses the size of the pieces the bytes arrive in.
  const size_t piece = 1 + data[0] % 64;
  std::string_view in = cvm::fuzz::AsView(data + 1, size - 1);
  cvm::api::HttpRequestParser parser;
  parser.body_limit(64 * 1024);
  parser.header_limit(16 * 1024);
  boost::beast::error_code ec;
  std::string pending;
  while (!parser.is_done()) {
    if (!in.empty()) {
      const size_t n = std::min(piece, in.size());
      pending.append(in.substr(0, n));
      in.remove_prefix(n);
    } else if (pending.empty()) {
      break;
    }
    const size_t used = parser.put(boost::asio::buffer(pending), ec);
    pending.erase(0, used);
    if (ec == boost::beast::http::error::need_more) {
      ec = {};
      if (in.empty()) break;
    } else if (ec) {
      return 0;
    } else if (used == 0 && in.empty()) {
      break;
    }
  }
  if (!parser.is_done()) return 0;
  const cvm::api::HttpRequest& req = parser.request();
  CVM_FUZZ_CHECK(req.body.size() <= 64 * 1024);
  std::string_view target = req.target;
  if (size_t q = target.find('?'); q != std::string_view::npos) {
    for (const auto& [k, v] : cvm::api::ParseFormEncoded(target.substr(q + 1))) {
      CVM_FUZZ_CHECK(k.size() + v.size() < target.size());
    }
  }
  for (const auto& [k, v] : cvm::api::ParseFormEncoded(req.body)) {
    CVM_FUZZ_CHECK(k.size() + v.size() <= req.body.size());
  }
  if (auto it = req.headers.find("authorization"); it != req.headers.end()) {
    auto cred = cvm::api::ParseTc3Authorization(it->second);
    CVM_FUZZ_CHECK(cred.ok() || !cred.status().code().empty());
  }
  return 0;
}
