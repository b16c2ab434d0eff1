#include "api/envelope.h"

#include "api/json_writer.h"

namespace cvm::api {

std::string SuccessBody(nlohmann::json response, const std::string& request_id) {
  if (const std::string* raw = RawResponseText(response)) {
    // Pre-serialized members (JsonWriter): splice RequestId in before the closing brace.
    std::string body = "{\"Response\":";
    body.append(*raw, 0, raw->size() - 1);
    if (raw->size() > 2) body += ',';
    JsonWriter id;
    id.String(request_id);
    body += "\"RequestId\":" + id.str() + "}}";
    return body;
  }
  if (!response.is_object()) response = nlohmann::json::object();
  response["RequestId"] = request_id;
  nlohmann::json body = {{"Response", std::move(response)}};
  // Replace invalid UTF-8 rather than throwing: a stored value must never break a response.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ErrorBody(const Status& status, const std::string& request_id) {
  nlohmann::json body = {{"Response",
                          {{"Error", {{"Code", status.code()}, {"Message", status.message()}}},
                           {"RequestId", request_id}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cvm::api
