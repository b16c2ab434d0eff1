#include "api/http_request_parser.h"

#include <boost/asio/error.hpp>
#include <string>

namespace cvm::api {

HttpRequestParser::~HttpRequestParser() {
  if (claimed_ > 0) budget_->ReleaseBody(claimed_);
}

bool HttpRequestParser::Claim(uint64_t total, error_code& ec) {
  if (!budget_ || total <= claimed_ || total <= budget_->limits().free_body_bytes) return true;
  if (!budget_->ClaimBody(total - claimed_)) {
    ec = boost::asio::error::no_buffer_space;
    return false;
  }
  claimed_ = total;
  return true;
}

void HttpRequestParser::on_request_impl(boost::beast::http::verb, string_view method,
                                        string_view target, int, error_code&) {
  request_.method.assign(method.data(), method.size());
  request_.target.assign(target.data(), target.size());
  request_.headers.reserve(16);
}

void HttpRequestParser::on_field_impl(boost::beast::http::field, string_view name,
                                      string_view value, error_code&) {
  // Lower-cased on the stack: header names are short (Beast has checked they are tokens).
  char stack[64];
  std::string heap;
  char* lower = stack;
  if (name.size() > sizeof(stack)) {
    heap.resize(name.size());
    lower = heap.data();
  }
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
  }
  request_.headers.Set({lower, name.size()}, {value.data(), value.size()});
}

void HttpRequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                          error_code& ec) {
  // The base class has already refused a length over the body limit.
  if (content_length && Claim(*content_length, ec)) {
    request_.body.reserve(static_cast<size_t>(*content_length));
  }
}

size_t HttpRequestParser::on_body_impl(string_view data, error_code&) {
  request_.body.append(data.data(), data.size());
  return data.size();
}

size_t HttpRequestParser::on_chunk_body_impl(std::uint64_t, string_view data, error_code& ec) {
  if (!Claim(request_.body.size() + data.size(), ec)) return 0;
  request_.body.append(data.data(), data.size());
  return data.size();
}

}  // namespace cvm::api
