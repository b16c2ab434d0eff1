// HTTP/1.1 front end (Boost.Beast): keep-alive, a body-size limit, optional TLS. Requests are
// handed to the RequestPipeline on the I/O threads; handlers never block on VMs or disks.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/console_tokens.h"
#include "api/request_pipeline.h"
#include "common/status.h"

namespace cvm::api {

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port (tests)
  size_t max_body_bytes = 1 << 20;
  int threads = 0;  // 0: one per core
  std::string tls_cert_file, tls_key_file;
  ConsoleTokens* console_tokens = nullptr;  // enables the /vnc/ websocket proxy
};

class HttpServer {
 public:
  HttpServer(RequestPipeline& pipeline, HttpServerOptions options);
  ~HttpServer();

  Status Start();         // binds and starts the I/O threads
  uint16_t port() const;  // the bound port
  void Stop();
  void Wait();  // until Stop()

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cvm::api
