#include "api/vnc_proxy.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>

namespace cvm::api {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using unix_socket = boost::asio::local::stream_protocol::socket;

class VncBridge : public std::enable_shared_from_this<VncBridge> {
 public:
  VncBridge(beast::tcp_stream stream, unix_socket vnc)
      : ws_(std::move(stream)), vnc_(std::move(vnc)) {}

  void Start(beast::http::request<beast::http::string_body> upgrade) {
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.binary(true);
    // noVNC asks for the "binary" subprotocol; echo it when offered.
    bool binary_proto = upgrade[beast::http::field::sec_websocket_protocol].find("binary") !=
                        beast::string_view::npos;
    ws_.set_option(websocket::stream_base::decorator([binary_proto](websocket::response_type& r) {
      if (binary_proto) r.set(beast::http::field::sec_websocket_protocol, "binary");
    }));
    ws_.async_accept(upgrade, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->ReadBrowser();
      self->ReadVnc();
    });
  }

 private:
  void ReadBrowser() {
    ws_.async_read(from_browser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      boost::asio::async_write(self->vnc_, self->from_browser_.data(),
                               [self](beast::error_code ec2, size_t n) {
                                 if (ec2) return self->Close();
                                 self->from_browser_.consume(n);
                                 self->ReadBrowser();
                               });
    });
  }

  void ReadVnc() {
    vnc_.async_read_some(boost::asio::buffer(from_vnc_),
                         [self = shared_from_this()](beast::error_code ec, size_t n) {
                           if (ec) return self->Close();
                           self->ws_.async_write(boost::asio::buffer(self->from_vnc_.data(), n),
                                                 [self](beast::error_code ec2, size_t) {
                                                   if (ec2) return self->Close();
                                                   self->ReadVnc();
                                                 });
                         });
  }

  void Close() {
    beast::error_code ec;
    vnc_.close(ec);
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  websocket::stream<beast::tcp_stream> ws_;
  unix_socket vnc_;
  beast::flat_buffer from_browser_;
  std::array<char, 16384> from_vnc_{};
};

}  // namespace

void RunVncProxy(beast::tcp_stream stream, beast::http::request<beast::http::string_body> upgrade,
                 const std::filesystem::path& vnc_socket) {
  unix_socket vnc(stream.get_executor());
  beast::error_code ec;
  vnc.connect(boost::asio::local::stream_protocol::endpoint(vnc_socket.string()), ec);
  if (ec) {
    spdlog::warn("vnc: cannot connect to {}: {}", vnc_socket.string(), ec.message());
    return;  // dropping the stream closes the browser's connection
  }
  std::make_shared<VncBridge>(std::move(stream), std::move(vnc))->Start(std::move(upgrade));
}

}  // namespace cvm::api
