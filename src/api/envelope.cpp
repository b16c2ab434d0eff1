#include "api/envelope.h"

#include "common/error_codes.h"
#include "common/json_writer.h"

namespace cvm::api {
namespace {

// A member name no Tencent answer has (it starts with a control character) and short enough to
// sit in the string's inline buffer.
constexpr char kRawKey[] = "\x01raw-answer";

}  // namespace

nlohmann::json RawResponse(std::string object_text) {
  // Not an initializer list: nlohmann's inspects and copies its elements, which cost more than
  // the rest of answering DescribeZones.
  nlohmann::json response(nlohmann::json::value_t::object);
  response.emplace(kRawKey, std::move(object_text));
  return response;
}

const std::string* RawResponseText(const nlohmann::json& response) {
  if (!response.is_object() || response.size() != 1) return nullptr;
  auto it = response.find(kRawKey);
  if (it == response.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

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
  nlohmann::json body = {
      {"Response",
       {{"Error",
         {{"Code", std::string(err::WireCode(status.code()))}, {"Message", status.message()}}},
        {"RequestId", request_id}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cvm::api
