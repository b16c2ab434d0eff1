#include "api/envelope.h"

#include "api/json_writer.h"

namespace cvm::api {

std::string SuccessBody(nlohmann::json response, const std::string& request_id) {
  if (const std::string* raw = RawResponseText(response)) {
    // Pre-serialized members (JsonWriter): splice RequestId in before the closing brace.
    thread_local JsonWriter id;  // keeps its buffer: nothing allocated but the body
    id.Clear();
    id.String(request_id);
    std::string body;
    body.reserve(raw->size() + id.str().size() + 32);
    body.append("{\"Response\":").append(*raw, 0, raw->size() - 1);
    if (raw->size() > 2) body += ',';
    body.append("\"RequestId\":").append(id.str()).append("}}");
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
