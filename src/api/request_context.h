// Who is calling, in which region, as what request: everything a handler may use besides its
// parameters. Built by the pipeline after the signature check.
#pragma once

#include <cstdint>
#include <string>

#include "iam/visibility.h"

namespace cvm::api {

struct RequestContext {
  std::string request_id;
  std::string action;
  std::string service;    // "cvm" | "cbs" | "vpc" | "cam" | "tag"
  std::string region;     // may be empty for CAM
  std::string language;   // "zh-CN" | "en-US" | ""
  std::string owner_uin;  // root account that owns everything the call touches
  int64_t owner_app_id = 0;
  std::string caller_uin;  // the signing identity (root or sub-user)
  std::string secret_id;
  std::string source_ip;
  std::string host;       // the endpoint the caller used (Host header, scheme removed)
  int64_t timestamp = 0;  // the signed X-TC-Timestamp
  // What a list answer may show this caller, decided with the CAM check; list handlers page
  // through it (services/filters.h). Default: nothing.
  iam::Visibility visible;
};

}  // namespace cvm::api
