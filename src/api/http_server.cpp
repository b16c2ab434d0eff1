#include "api/http_server.h"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

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

// A request head (request line and headers) may be this large: Tencent takes GET requests of up
// to 32 KB. It is also the most a connection's read buffer holds.
constexpr size_t kHeaderLimit = 32 << 10;
// Descriptors left to the rest of the daemon (database, QMP sockets, downloads, consoles) when
// the descriptor limit caps the connections.
constexpr rlim_t kOtherDescriptors = 256;
// Accept failing for lack of descriptors (or kernel memory) is retried after a pause that doubles
// while it lasts.
constexpr auto kMinAcceptPause = std::chrono::milliseconds(10);
constexpr auto kMaxAcceptPause = std::chrono::seconds(1);
// How long after a burst has ended freed memory is returned, so one trim covers the burst.
constexpr auto kTrimDelay = std::chrono::seconds(1);

// What every session of a server shares.
struct Shared {
  RequestPipeline& pipeline;
  ConsoleTokens* tokens;
  size_t max_body;
  std::chrono::steady_clock::duration unauthenticated_timeout, idle_timeout;
  HttpBudget& budget;
  std::function<void()> released;  // after a session let go of its connection and buffers
};

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
  Session(Stream stream, Shared& shared, std::string peer)
      : stream_(std::move(stream)),
        timer_(stream_.get_executor()),
        shared_(shared),
        peer_(std::move(peer)),
        buffer_(kHeaderLimit) {}

  ~Session() {
    parser_.reset();  // gives back its body claim
    place_.reset();
    shared_.released();
  }

  const std::string& peer() const { return peer_; }
  auto executor() { return stream_.get_executor(); }

  // Closes the socket, which cancels the pending read or write, whose handler then ends the
  // session: at the deadline, or to make room for another connection (on this session's thread).
  void Abort() {
    if (closed_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).close(ignored);
  }

  void Start(std::unique_ptr<HttpBudget::Connection> place) {
    place_ = std::move(place);
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      ReadRequest();
    } else {
      ExtendDeadline(shared_.unauthenticated_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->ReadRequest();
                              });
    }
  }

 private:
  // Each read-answer cycle must finish within its timeout of the read's start (as a per-read
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
      self->Abort();
    });
  }

  void ReadRequest() {
    parser_.emplace(&shared_.budget);
    parser_->body_limit(shared_.max_body);
    parser_->header_limit(kHeaderLimit);
    place_->Reading();
    ExtendDeadline(authenticated_ ? shared_.idle_timeout : shared_.unauthenticated_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    place_->Busy();
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::bad_descriptor || ec == asio::error::eof) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      // Still a well-formed API answer, so SDKs show the code; the connection is not reusable.
      return WriteError(
          Status(err::kRequestSizeLimitExceeded,
                 "The request body exceeds " + std::to_string(shared_.max_body) + " bytes."));
    }
    if (ec == asio::error::no_buffer_space) {
      return WriteError(Status(err::kRequestLimitExceeded,
                               "The server is holding as many request bodies as it may; retry "
                               "later or send a smaller body."));
    }
    if (ec) {
      return Write(400, "text/plain", "bad request: " + ec.message() + "\n", false);
    }
    HttpResponse resp;
    bool keep_alive = parser_->keep_alive();
    {
      HttpRequest req = std::move(parser_->request());
      if (req.target.starts_with("/vnc/")) return UpgradeToVnc(req);
      if (req.target == "/healthz") {
        // Unsigned liveness probe; also the no-op baseline of the request benchmark.
        resp.body = R"({"status":"ok"})";
      } else {
        req.peer_address = peer_;
        resp = shared_.pipeline.Handle(req);
      }
    }
    parser_.reset();  // the body is gone: so is its claim
    if (resp.authenticated && !authenticated_) {
      authenticated_ = true;
      place_->Authenticated();
    }
    Write(resp.status, resp.content_type, std::move(resp.body), keep_alive);
  }

  void WriteError(const Status& st) {
    Write(200, "application/json", ErrorBody(st, NewUuid()), /*keep_alive=*/false);
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
    if (shared_.tokens && beast::websocket::is_upgrade(req)) {
      socket = shared_.tokens->Redeem(token, id);
    }
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
                        // An answer can be large; an idle connection need not keep it.
                        std::string().swap(self->body_);
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
  bool authenticated_ = false;  // a request of this connection carried a valid signature
  Shared& shared_;
  std::string peer_;
  std::unique_ptr<HttpBudget::Connection> place_;
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
      : options(std::move(o)),
        budget(LimitsWithinDescriptors(options.limits)),
        shared{p,
               options.console_tokens,
               options.max_body_bytes,
               options.unauthenticated_timeout,
               options.idle_timeout,
               budget,
               [this] { Released(); }},
        ssl(asio::ssl::context::tls_server) {
    int n = options.threads > 0
                ? options.threads
                : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < n; ++i) ios.push_back(std::make_unique<asio::io_context>(1));
    acceptor.emplace(*ios.front());
    accept_pause_timer.emplace(*ios.front());
    trim_timer.emplace(*ios.front());
  }

  // Connections past the descriptor limit would fail in accept, not at the cap that chooses
  // whom to close; so the cap leaves the rest of the daemon its descriptors.
  static HttpLimits LimitsWithinDescriptors(HttpLimits limits) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return limits;
    size_t room =
        rl.rlim_cur > 2 * kOtherDescriptors ? rl.rlim_cur - kOtherDescriptors : rl.rlim_cur / 2;
    if (limits.max_connections > room) {
      spdlog::warn("api: at most {} connections (the descriptor limit is {}), not {}", room,
                   rl.rlim_cur, limits.max_connections);
      limits.max_connections = room;
    }
    return limits;
  }

  void Accept() {
    asio::io_context& target = *ios[next_io++ % ios.size()];
    acceptor->async_accept(target, [this](beast::error_code ec, tcp::socket sock) {
      if (!acceptor->is_open()) return;
      if (ec) return AcceptFailed(ec);
      accept_pause = kMinAcceptPause;
      beast::error_code pec;
      auto ep = sock.remote_endpoint(pec);
      std::string peer = pec ? "" : ep.address().to_string();
      sock.set_option(tcp::no_delay(true), pec);
      if (tls) {
        StartSession(beast::ssl_stream<tcp::socket>(std::move(sock), ssl), std::move(peer));
      } else {
        StartSession(std::move(sock), std::move(peer));
      }
      Accept();
    });
  }

  // Out of descriptors or kernel memory, accepting again at once fails again and spins; so a
  // connection is closed as at the cap, and accepting resumes after a pause.
  void AcceptFailed(beast::error_code ec) {
    if (ec != asio::error::no_descriptors && ec != asio::error::no_buffer_space &&
        ec != asio::error::no_memory && ec != boost::system::errc::too_many_files_open_in_system) {
      return Accept();  // that one connection failed (aborted before it was accepted, ...)
    }
    if (accept_pause == kMinAcceptPause) {
      spdlog::warn("api: accept failed ({}); closing idle connections and pausing", ec.message());
    }
    budget.EvictOne();
    accept_pause_timer->expires_after(accept_pause);
    accept_pause = std::min<std::chrono::steady_clock::duration>(accept_pause * 2, kMaxAcceptPause);
    accept_pause_timer->async_wait([this](beast::error_code wec) {
      if (!wec && acceptor->is_open()) Accept();
    });
  }

  template <typename Stream>
  void StartSession(Stream stream, std::string peer) {
    auto session = std::make_shared<Session<Stream>>(std::move(stream), shared, std::move(peer));
    auto evict = [weak = std::weak_ptr(session), ex = session->executor()] {
      asio::post(ex, [weak] {
        if (auto s = weak.lock()) s->Abort();
      });
    };
    auto place = budget.Admit(session->peer(), std::move(evict));
    if (place) session->Start(std::move(place));  // else the socket closes with the session
  }

  // After a burst the freed buffers sit in malloc's arenas; once it has passed they go back to
  // the system.
  void Released() {
    if (stopping || !budget.TakeShrink() || trim_pending.exchange(true)) return;
    asio::post(*ios.front(), [this] {
      trim_timer->expires_after(kTrimDelay);
      trim_timer->async_wait([this](beast::error_code ec) {
        trim_pending = false;
        if (!ec) ::malloc_trim(0);
      });
    });
  }

  HttpServerOptions options;
  HttpBudget budget;  // outlives the sessions, which the io_contexts own
  Shared shared;
  std::atomic<bool> stopping = false;
  std::atomic<bool> trim_pending = false;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  size_t next_io = 0;  // only touched by the acceptor's thread
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_pause_timer, trim_timer;
  std::chrono::steady_clock::duration accept_pause = kMinAcceptPause;
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
  impl_->stopping = true;
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
