// HttpRequestParser: Beast's framing with the fields written straight into an HttpRequest.
#include "api/http_request_parser.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>
#include <string>

namespace cvm::api {
namespace {

// Feeds `wire` in pieces of `step` bytes, as reads from a socket would.
boost::beast::error_code Feed(HttpRequestParser& parser, const std::string& wire, size_t step) {
  boost::beast::error_code ec;
  std::string pending;
  for (size_t at = 0; at < wire.size() && !parser.is_done(); at += step) {
    pending += wire.substr(at, step);
    // The parser stops after the header, so what it left is offered again.
    while (!pending.empty() && !parser.is_done()) {
      size_t used = parser.put(boost::asio::buffer(pending), ec);
      if (ec == boost::beast::http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) return ec;
      pending.erase(0, used);
    }
  }
  return ec;
}

TEST(HttpRequestParserTest, HeadersAreLowerCasedAndTheLastRepeatWins) {
  HttpRequestParser parser;
  std::string wire =
      "POST /?a=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nX-TC-Action: DescribeZones\r\n"
      "x-tc-action: RunInstances\r\nContent-Length: 2\r\n\r\n{}";
  ASSERT_FALSE(Feed(parser, wire, 7));
  ASSERT_TRUE(parser.is_done());
  const HttpRequest& req = parser.request();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/?a=1");
  EXPECT_EQ(req.Header("host"), "127.0.0.1:9");
  EXPECT_EQ(req.Header("x-tc-action"), "RunInstances");
  EXPECT_EQ(req.body, "{}");
  EXPECT_TRUE(parser.keep_alive());
}

TEST(HttpRequestParserTest, ChunkedBodiesAreJoined) {
  HttpRequestParser parser;
  std::string wire =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
  ASSERT_FALSE(Feed(parser, wire, 5));
  ASSERT_TRUE(parser.is_done());
  EXPECT_EQ(parser.request().body, "{\"a\":1}");
  EXPECT_FALSE(parser.keep_alive());
}

TEST(HttpRequestParserTest, BodiesOverTheLimitAreRefusedBeforeTheyAreRead) {
  HttpRequestParser by_length;
  by_length.body_limit(10);
  EXPECT_EQ(Feed(by_length, "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 64),
            boost::beast::http::error::body_limit);
  EXPECT_TRUE(by_length.request().body.empty());

  HttpRequestParser chunked;
  chunked.body_limit(10);
  EXPECT_EQ(Feed(chunked,
                 "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "b\r\n0123456789a\r\n0\r\n\r\n",
                 64),
            boost::beast::http::error::body_limit);
}

TEST(HttpRequestParserTest, LargeBodiesAreClaimedFromTheBudgetAndGivenBack) {
  HttpBudget budget({.body_budget_bytes = 90, .free_body_bytes = 10});
  {
    HttpRequestParser small(&budget);
    ASSERT_FALSE(Feed(small, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 64));
    EXPECT_EQ(budget.body_bytes(), 0u);  // within the free size
    HttpRequestParser large(&budget);
    ASSERT_FALSE(Feed(large, "POST / HTTP/1.1\r\nContent-Length: 60\r\n\r\n{", 64));
    EXPECT_EQ(budget.body_bytes(), 60u);  // all of it, at its first byte
    HttpRequestParser refused(&budget);
    EXPECT_EQ(Feed(refused, "POST / HTTP/1.1\r\nContent-Length: 41\r\n\r\n{", 64),
              boost::asio::error::no_buffer_space);
    EXPECT_TRUE(refused.request().body.empty());
    EXPECT_EQ(budget.body_bytes(), 60u);
    HttpRequestParser chunked(&budget);
    EXPECT_EQ(Feed(chunked,
                   "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "14\r\n01234567890123456789\r\n"
                   "14\r\n01234567890123456789\r\n",
                   256),
              boost::asio::error::no_buffer_space);
    EXPECT_EQ(chunked.request().body.size(), 20u);  // the second chunk was not stored
    EXPECT_EQ(budget.body_bytes(), 80u);
  }
  EXPECT_EQ(budget.body_bytes(), 0u);
}

}  // namespace
}  // namespace cvm::api
