// The Tencent Cloud API 3.0 response envelope: {"Response": {..., "RequestId": "..."}}, with
// errors as {"Response": {"Error": {"Code", "Message"}, "RequestId"}}; always HTTP 200.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace cvm::api {

// A handler's answer whose members were written by a JsonWriter: `object_text` is a complete
// JSON object, which SuccessBody splices in (adding RequestId) instead of serializing a tree.
nlohmann::json RawResponse(std::string object_text);
// The object text if `response` came from RawResponse.
const std::string* RawResponseText(const nlohmann::json& response);

std::string SuccessBody(nlohmann::json response, const std::string& request_id);
std::string ErrorBody(const Status& status, const std::string& request_id);

}  // namespace cvm::api
