// The Tencent Cloud API 3.0 response envelope: {"Response": {..., "RequestId": "..."}}, with
// errors as {"Response": {"Error": {"Code", "Message"}, "RequestId"}}; always HTTP 200.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace cvm::api {

std::string SuccessBody(nlohmann::json response, const std::string& request_id);
std::string ErrorBody(const Status& status, const std::string& request_id);

}  // namespace cvm::api
