#include "api/http_server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>

#include "api/envelope.h"
#include "api/http_request_parser.h"
#include "api/vnc_proxy.h"
#include "common/error_codes.h"
#include "common/ids.h"

namespace cvm::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr auto kHandshakeTimeout = std::chrono::seconds(30);

// The websocket handshake needs Beast's own request; only the console's upgrade pays for it.
http::request<http::string_body> ToBeastRequest(const HttpRequest& in) {
  http::request<http::string_body> out;
  out.method_string(in.method);
  out.target(in.target);
  out.version(11);
  for (const auto& [name, value] : in.headers) out.insert(name, value);
  return out;
}

// One connection: read a request, answer it, repeat while keep-alive holds. Generic over the
// stream so plain TCP and TLS share the code. A session lives on one single-threaded
// io_context, so it needs no strand.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, RequestPipeline& pipeline, size_t max_body, std::string peer,
          ConsoleTokens* tokens)
      : stream_(std::move(stream)),
        timer_(stream_.get_executor()),
        pipeline_(pipeline),
        tokens_(tokens),
        max_body_(max_body),
        peer_(std::move(peer)) {}

  void Start() {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      ReadRequest();
    } else {
      ExtendDeadline(kHandshakeTimeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->ReadRequest();
                              });
    }
  }

 private:
  // Each read-answer cycle must finish within kIdleTimeout of the read's start (as a per-read
  // beast::tcp_stream expiry did). Re-arming a timer per request cost a timer cancellation, an
  // aborted-handler dispatch and often a timerfd update on every request, so the timer is armed
  // once and, when it fires early, re-armed for the deadline that has moved on meanwhile.
  void ExtendDeadline(std::chrono::steady_clock::duration d) {
    deadline_ = std::chrono::steady_clock::now() + d;
    if (!timer_armed_) ArmTimer();
  }

  void ArmTimer() {
    timer_armed_ = true;
    timer_.expires_at(deadline_);
    // Weak: an idle timer must not keep a finished session alive.
    timer_.async_wait([weak = this->weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (!self) return;
      self->timer_armed_ = false;
      if (ec || self->closed_) return;
      if (std::chrono::steady_clock::now() < self->deadline_) return self->ArmTimer();
      // Cancels the pending read or write, whose handler then ends the session.
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).close(ignored);
    });
  }

  void ReadRequest() {
    parser_.emplace();
    parser_->body_limit(max_body_);
    parser_->header_limit(64 * 1024);
    ExtendDeadline(kIdleTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::bad_descriptor || ec == asio::error::eof) {
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
    HttpRequest req = std::move(parser_->request());
    bool keep_alive = parser_->keep_alive();
    if (req.target.starts_with("/vnc/")) return UpgradeToVnc(req);
    HttpResponse resp;
    if (req.target == "/healthz") {
      // Unsigned liveness probe; also the no-op baseline of the request benchmark.
      resp.body = R"({"status":"ok"})";
    } else {
      req.peer_address = peer_;
      resp = pipeline_.Handle(req);
    }
    Write(resp.status, resp.content_type, std::move(resp.body), keep_alive);
  }

  // GET /vnc/<instance-id>?token=<one-time token> with a websocket upgrade: the connection
  // becomes a VNC bridge (plain HTTP only; over TLS the browser would need wss termination here).
  void UpgradeToVnc(const HttpRequest& in) {
    auto req = ToBeastRequest(in);
    const std::string& target = in.target;
    auto q = target.find("?token=");
    std::string id = target.substr(5, q == std::string::npos ? std::string::npos : q - 5);
    std::string token = q == std::string::npos ? "" : target.substr(q + 7);
    std::optional<std::filesystem::path> socket;
    if (tokens_ && beast::websocket::is_upgrade(req)) socket = tokens_->Redeem(token, id);
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      if (socket) {
        closed_ = true;  // the session lets go of the socket; the idle timer must not close it
        timer_.cancel();
        return RunVncProxy(beast::tcp_stream(std::move(stream_)), std::move(req), *socket);
      }
    }
    Write(403, "text/plain", "console token invalid or expired\n", false);
  }

  // The head is formatted by hand, byte for byte what beast's serializer produced here (Server,
  // Content-Type, Connection when closing, Content-Length), and sent with the body in one
  // gathered write.
  void Write(int status, std::string_view content_type, std::string body, bool keep_alive) {
    head_.clear();
    head_.append("HTTP/1.1 ");
    head_.append(std::to_string(status));
    head_.push_back(' ');
    auto reason = http::obsolete_reason(static_cast<http::status>(status));
    head_.append(reason.data(), reason.size());
    head_.append("\r\nServer: opencvm\r\nContent-Type: ");
    head_.append(content_type);
    if (!keep_alive) head_.append("\r\nConnection: close");
    head_.append("\r\nContent-Length: ");
    head_.append(std::to_string(body.size()));
    head_.append("\r\n\r\n");
    body_ = std::move(body);
    std::array<asio::const_buffer, 2> buffers = {asio::buffer(head_), asio::buffer(body_)};
    asio::async_write(stream_, buffers,
                      [self = this->shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) return self->Close();
                        self->ReadRequest();
                      });
  }

  void Close() {
    closed_ = true;
    beast::error_code ec;
    beast::get_lowest_layer(stream_).shutdown(tcp::socket::shutdown_send, ec);
    timer_.cancel();
  }

  Stream stream_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;
  bool timer_armed_ = false;
  bool closed_ = false;
  RequestPipeline& pipeline_;
  ConsoleTokens* tokens_;
  size_t max_body_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<HttpRequestParser> parser_;
  std::string head_, body_;
};

}  // namespace

// One single-threaded io_context per I/O thread, connections handed out round-robin: a
// connection's reads, handler and writes run on one thread with no strand and no cross-thread
// hand-off. With one shared io_context, every completion went through a strand and woke the
// other thread via the scheduler; on two cores that was a large share of a request's cost.
struct HttpServer::Impl {
  Impl(RequestPipeline& p, HttpServerOptions o)
      : pipeline(p), options(std::move(o)), ssl(asio::ssl::context::tls_server) {
    int n = options.threads > 0
                ? options.threads
                : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < n; ++i) ios.push_back(std::make_unique<asio::io_context>(1));
    acceptor.emplace(*ios.front());
  }

  void Accept() {
    asio::io_context& target = *ios[next_io++ % ios.size()];
    acceptor->async_accept(target, [this](beast::error_code ec, tcp::socket sock) {
      if (ec) {
        if (acceptor->is_open()) Accept();
        return;
      }
      beast::error_code pec;
      auto ep = sock.remote_endpoint(pec);
      std::string peer = pec ? "" : ep.address().to_string();
      sock.set_option(tcp::no_delay(true), pec);
      if (tls) {
        std::make_shared<Session<beast::ssl_stream<tcp::socket>>>(
            beast::ssl_stream<tcp::socket>(std::move(sock), ssl), pipeline, options.max_body_bytes,
            peer, options.console_tokens)
            ->Start();
      } else {
        std::make_shared<Session<tcp::socket>>(std::move(sock), pipeline, options.max_body_bytes,
                                               peer, options.console_tokens)
            ->Start();
      }
      Accept();
    });
  }

  RequestPipeline& pipeline;
  HttpServerOptions options;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  size_t next_io = 0;  // only touched by the acceptor's thread
  std::optional<tcp::acceptor> acceptor;
  asio::ssl::context ssl;
  bool tls = false;
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
};

HttpServer::HttpServer(RequestPipeline& pipeline, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(pipeline, std::move(options))) {}

HttpServer::~HttpServer() {
  Stop();
  Wait();
}

Status HttpServer::Start() {
  auto& o = impl_->options;
  auto& acceptor = *impl_->acceptor;
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
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(err::kInternalError, "cannot listen on " + o.address + ":" +
                                           std::to_string(o.port) + ": " + ec.message());
  }
  impl_->Accept();
  for (auto& io : impl_->ios) {
    impl_->work.push_back(asio::make_work_guard(*io));
    impl_->threads.emplace_back([&io = *io] { io.run(); });
  }
  spdlog::info("api: listening on {}://{}:{} with {} threads", impl_->tls ? "https" : "http",
               o.address, port(), impl_->ios.size());
  return Status::Ok();
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor->local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::Stop() {
  asio::post(*impl_->ios.front(), [this] {
    beast::error_code ec;
    impl_->acceptor->close(ec);
  });
  impl_->work.clear();
  for (auto& io : impl_->ios) io->stop();
}

void HttpServer::Wait() {
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
}

}  // namespace cvm::api
