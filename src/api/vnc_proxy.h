// Bridges a browser's websocket (binary frames, as noVNC speaks) to an instance's VNC unix
// socket, so DescribeInstanceVncUrl can hand out a URL a browser VNC client opens.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <filesystem>

namespace cvm::api {

// Takes over the connection: completes the websocket handshake for `upgrade` and relays until
// either side closes.
void RunVncProxy(boost::beast::tcp_stream stream,
                 boost::beast::http::request<boost::beast::http::string_body> upgrade,
                 const std::filesystem::path& vnc_socket);

}  // namespace cvm::api
