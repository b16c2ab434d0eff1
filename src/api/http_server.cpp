#include "api/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>

#include "api/envelope.h"
#include "common/error_codes.h"
#include "common/ids.h"

namespace cvm::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(60);

HttpRequest ToHttpRequest(http::request<http::string_body>&& in, const std::string& peer) {
  HttpRequest out;
  out.method = std::string(in.method_string());
  out.target = std::string(in.target());
  for (const auto& field : in) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[std::move(name)] = std::string(field.value());
  }
  out.body = std::move(in.body());
  out.peer_address = peer;
  return out;
}

// One connection: read a request, answer it, repeat while keep-alive holds. Generic over the
// stream so plain TCP and TLS share the code.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, RequestPipeline& pipeline, size_t max_body, std::string peer)
      : stream_(std::move(stream)),
        pipeline_(pipeline),
        max_body_(max_body),
        peer_(std::move(peer)) {}

  void Start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      ReadRequest();
    } else {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->ReadRequest();
                              });
    }
  }

 private:
  void ReadRequest() {
    parser_.emplace();
    parser_->body_limit(max_body_);
    parser_->header_limit(64 * 1024);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::eof) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      // Still a well-formed API answer, so SDKs show the code; the connection is not reusable.
      auto body =
          ErrorBody(Status(err::kRequestSizeLimitExceeded,
                           "The request body exceeds " + std::to_string(max_body_) + " bytes."),
                    NewUuid());
      return Write(200, "application/json", std::move(body), /*keep_alive=*/false);
    }
    if (ec) {
      return Write(400, "text/plain", "bad request: " + ec.message() + "\n", false);
    }
    auto req = parser_->release();
    bool keep_alive = req.keep_alive();
    HttpResponse resp;
    if (req.target() == "/healthz") {
      // Unsigned liveness probe; also the no-op baseline of the request benchmark.
      resp.body = R"({"status":"ok"})";
    } else {
      resp = pipeline_.Handle(ToHttpRequest(std::move(req), peer_));
    }
    Write(resp.status, resp.content_type, std::move(resp.body), keep_alive);
  }

  void Write(int status, std::string_view content_type, std::string body, bool keep_alive) {
    auto res =
        std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
    res->set(http::field::server, "opencvm");
    res->set(http::field::content_type,
             beast::string_view(content_type.data(), content_type.size()));
    res->keep_alive(keep_alive);
    res->body() = std::move(body);
    res->prepare_payload();
    http::async_write(
        stream_, *res,
        [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
          if (ec || !keep_alive) return self->Close();
          self->ReadRequest();
        });
  }

  void Close() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  Stream stream_;
  RequestPipeline& pipeline_;
  size_t max_body_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(RequestPipeline& p, HttpServerOptions o)
      : pipeline(p), options(std::move(o)), acceptor(io), ssl(asio::ssl::context::tls_server) {}

  void Accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket sock) {
      if (ec) {
        if (acceptor.is_open()) Accept();
        return;
      }
      beast::error_code pec;
      auto ep = sock.remote_endpoint(pec);
      std::string peer = pec ? "" : ep.address().to_string();
      sock.set_option(tcp::no_delay(true), pec);
      if (tls) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
            beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(sock)), ssl), pipeline,
            options.max_body_bytes, peer)
            ->Start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(sock)), pipeline,
                                                     options.max_body_bytes, peer)
            ->Start();
      }
      Accept();
    });
  }

  RequestPipeline& pipeline;
  HttpServerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor;
  asio::ssl::context ssl;
  bool tls = false;
  std::vector<std::thread> threads;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
};

HttpServer::HttpServer(RequestPipeline& pipeline, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(pipeline, std::move(options))) {}

HttpServer::~HttpServer() {
  Stop();
  Wait();
}

Status HttpServer::Start() {
  auto& o = impl_->options;
  beast::error_code ec;
  if (!o.tls_cert_file.empty() && !o.tls_key_file.empty()) {
    impl_->ssl.use_certificate_chain_file(o.tls_cert_file, ec);
    if (!ec) impl_->ssl.use_private_key_file(o.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) return Status(err::kInternalError, "TLS setup failed: " + ec.message());
    impl_->tls = true;
  }
  auto addr = asio::ip::make_address(o.address, ec);
  if (ec) return Status(err::kInvalidParameterValue, "bad listen address " + o.address);
  tcp::endpoint ep(addr, o.port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(err::kInternalError, "cannot listen on " + o.address + ":" +
                                           std::to_string(o.port) + ": " + ec.message());
  }
  impl_->Accept();
  int n = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  impl_->work.emplace(impl_->io.get_executor());
  for (int i = 0; i < n; ++i) impl_->threads.emplace_back([this] { impl_->io.run(); });
  spdlog::info("api: listening on {}://{}:{} with {} threads", impl_->tls ? "https" : "http",
               o.address, port(), n);
  return Status::Ok();
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::Stop() {
  asio::post(impl_->io, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  impl_->work.reset();
  impl_->io.stop();
}

void HttpServer::Wait() {
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
}

}  // namespace cvm::api
