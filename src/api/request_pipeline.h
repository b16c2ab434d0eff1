// One API request from raw HTTP to response body: envelope, signature check, parameter schema,
// routing. The HTTP server and the benchmarks call Handle(); nothing here does I/O.
#pragma once

#include <string>

#include "api/http_request.h"
#include "api/router.h"
#include "config/config.h"
#include "iam/accounts.h"
#include "iam/audit_log.h"
#include "iam/authorizer.h"

namespace cvm::api {

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  bool authenticated = false;  // the request carried a valid signature
};

class RequestPipeline {
 public:
  RequestPipeline(const Router& router, iam::AccountStore& accounts, const Config& config)
      : router_(router), accounts_(accounts), config_(config) {}

  // CAM enforcement and the audit log. Without an authorizer only root accounts are served:
  // a sub-user's request is refused rather than let through unchecked.
  void SetAccessControl(iam::Authorizer* authorizer, iam::AuditLog* audit) {
    authorizer_ = authorizer;
    audit_ = audit;
  }

  HttpResponse Handle(const HttpRequest& request);

 private:
  Status Authenticate(const HttpRequest& req, RequestContext& ctx,
                      std::vector<std::pair<std::string, std::string>>& v1_params, bool& is_v1);
  // Everything after the envelope: the audit record is written by Handle around it.
  HttpResponse Process(const HttpRequest& req, RequestContext& ctx, iam::AuditRecord& audit);

  const Router& router_;
  iam::AccountStore& accounts_;
  const Config& config_;
  iam::Authorizer* authorizer_ = nullptr;
  iam::AuditLog* audit_ = nullptr;
};

}  // namespace cvm::api
