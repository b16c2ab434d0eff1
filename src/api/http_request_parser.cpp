#include "api/http_request_parser.h"

#include <algorithm>

namespace cvm::api {

void HttpRequestParser::on_request_impl(boost::beast::http::verb, string_view method,
                                        string_view target, int, error_code&) {
  request_.method.assign(method.data(), method.size());
  request_.target.assign(target.data(), target.size());
  request_.headers.reserve(16);
}

void HttpRequestParser::on_field_impl(boost::beast::http::field, string_view name,
                                      string_view value, error_code&) {
  std::string lower(name.data(), name.size());
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
  request_.headers[lower].assign(value.data(), value.size());  // a repeated header: last wins
}

void HttpRequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                          error_code&) {
  // The base class has already refused a length over the body limit.
  if (content_length) request_.body.reserve(static_cast<size_t>(*content_length));
}

size_t HttpRequestParser::on_body_impl(string_view data, error_code&) {
  request_.body.append(data.data(), data.size());
  return data.size();
}

size_t HttpRequestParser::on_chunk_body_impl(std::uint64_t, string_view data, error_code&) {
  request_.body.append(data.data(), data.size());
  return data.size();
}

}  // namespace cvm::api
