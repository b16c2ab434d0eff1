// One API request from raw HTTP to response body: envelope, signature check, parameter schema,
// routing. The HTTP server and the benchmarks call Handle(); nothing here does I/O.
#pragma once

#include <string>

#include "api/http_request.h"
#include "api/router.h"
#include "config/config.h"
#include "iam/accounts.h"

namespace cvm::api {

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Called with every finished request (for the audit log and metrics); must be cheap.
struct RequestRecord {
  const RequestContext* context;
  const Status* status;
};

class RequestPipeline {
 public:
  RequestPipeline(const Router& router, iam::AccountStore& accounts, const Config& config)
      : router_(router), accounts_(accounts), config_(config) {}

  HttpResponse Handle(const HttpRequest& request);

 private:
  Status Authenticate(const HttpRequest& req, RequestContext& ctx,
                      std::vector<std::pair<std::string, std::string>>& v1_params, bool& is_v1);

  const Router& router_;
  iam::AccountStore& accounts_;
  const Config& config_;
};

}  // namespace cvm::api
