// HTTP/1.1 front end (Boost.Beast): keep-alive, a body-size limit, optional TLS. Requests are
// handed to the RequestPipeline on the I/O threads; handlers never block on VMs or disks.
// What clients may hold (connections, buffered bodies, time before they sign) is bounded by an
// HttpBudget.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/console_tokens.h"
#include "api/http_budget.h"
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
  // max_connections is lowered to what the descriptor limit leaves room for.
  HttpLimits limits;
  // A connection that has not yet sent a validly signed request must deliver each whole
  // request (and its TLS handshake) within unauthenticated_timeout of starting to wait for it;
  // afterwards idle_timeout applies.
  std::chrono::seconds unauthenticated_timeout{10};
  std::chrono::seconds idle_timeout{60};
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
