#include "api/http_request_parser.h"

#include <string>

namespace cvm::api {

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
