// Parses an HTTP/1.1 request straight into an HttpRequest.
#pragma once

#include <boost/beast/http/basic_parser.hpp>

#include "api/http_budget.h"
#include "api/http_request.h"

namespace cvm::api {

// Beast's parser (framing, chunked bodies, size limits) with the fields written once, into the
// HttpRequest the pipeline reads. http::request_parser would first build Beast's own field list,
// one allocation per header, which the server then copied: both on every request.
//
// With a budget, a body over its free size must first be claimed from it (the whole declared
// length at once, a chunked body as it grows); when the budget cannot hold it the parse fails
// with asio::error::no_buffer_space before the bytes are stored.
class HttpRequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  explicit HttpRequestParser(HttpBudget* budget = nullptr) : budget_(budget) {}
  ~HttpRequestParser() override;
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // The request parsed so far; complete once is_done().
  HttpRequest& request() { return request_; }

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb, string_view method, string_view target, int,
                       error_code&) override;
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                     error_code&) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code&) override;
  size_t on_body_impl(string_view data, error_code&) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, string_view data, error_code&) override;
  void on_finish_impl(error_code&) override {}

  // Makes the claim cover a body of `total` bytes.
  bool Claim(uint64_t total, error_code& ec);

  HttpRequest request_;
  HttpBudget* budget_;
  size_t claimed_ = 0;
};

}  // namespace cvm::api
