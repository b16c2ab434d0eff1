#include "api/envelope.h"

namespace cvm::api {

std::string SuccessBody(nlohmann::json response, const std::string& request_id) {
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
