#include "cli/api_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <fstream>

#include "api/schema.h"
#include "api/signing.h"
#include "common/error_codes.h"
#include "common/time_format.h"

namespace cvm::cli {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

Result<ClientConfig> LoadClientConfig() {
  ClientConfig c;
  std::string path;
  if (const char* p = std::getenv("OPENCVM_CLIENT_CONFIG")) {
    path = p;
  } else if (const char* home = std::getenv("HOME")) {
    path = std::string(home) + "/.config/opencvm/client.json";
  }
  std::ifstream in(path);
  if (in) {
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return Status(err::kInvalidParameterValue, path + " is not valid JSON");
    }
    c.secret_id = j.value("secretId", "");
    c.secret_key = j.value("secretKey", "");
    c.region = j.value("region", "");
    c.endpoint = j.value("endpoint", "");
    c.https = j.value("protocol", "http") == "https";
  }
  if (const char* v = std::getenv("TENCENTCLOUD_SECRET_ID")) c.secret_id = v;
  if (const char* v = std::getenv("TENCENTCLOUD_SECRET_KEY")) c.secret_key = v;
  if (const char* v = std::getenv("TENCENTCLOUD_REGION")) c.region = v;
  if (const char* v = std::getenv("OPENCVM_ENDPOINT")) c.endpoint = v;
  if (c.secret_id.empty() || c.endpoint.empty()) {
    return Status(err::kMissingParameter,
                  "no credentials: start cvmd once (it writes ~/.config/opencvm/client.json) or "
                  "set TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY and OPENCVM_ENDPOINT");
  }
  if (c.https) {
    return Status(err::kUnsupportedProtocol, "the cvm CLI speaks plain HTTP to a loopback cvmd");
  }
  return c;
}

Result<nlohmann::json> ApiClient::Call(const std::string& action, const nlohmann::json& params) {
  const api::ActionSpec* spec = api::ApiSchema::Embedded().FindAction(action);
  // Actions the Tencent schema lacks are OpenCVM extensions (DescribeInstanceLoginEndpoint, ...),
  // served as cvm 2017-03-12 except the audit log, which is CAM's; cvmd answers InvalidAction
  // for one it does not have.
  const bool cam_extension = !spec && action == "DescribeAuditEvents";
  const std::string service = spec ? spec->service : cam_extension ? "cam" : "cvm";
  const std::string version = spec ? spec->version : cam_extension ? "2019-01-16" : "2017-03-12";
  std::string body = params.dump();
  int64_t now = NowUnix();
  std::string auth = api::SignTc3(config_.secret_id, config_.secret_key, service, "POST",
                                  config_.endpoint, "", "application/json", body, now);

  auto colon = config_.endpoint.rfind(':');
  std::string host = config_.endpoint.substr(0, colon);
  std::string port = colon == std::string::npos ? "80" : config_.endpoint.substr(colon + 1);
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(120));
    stream.connect(resolver.resolve(host, port));
    http::request<http::string_body> req{http::verb::post, "/", 11};
    req.set(http::field::host, config_.endpoint);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::authorization, auth);
    req.set("X-TC-Action", action);
    req.set("X-TC-Version", version);
    req.set("X-TC-Timestamp", std::to_string(now));
    if (!config_.region.empty() && service != "cam") req.set("X-TC-Region", config_.region);
    req.set("X-TC-RequestClient", "OPENCVM_CLI");
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    if (res.result_int() != 200) {
      return Status(err::kInternalError, "HTTP " + std::to_string(res.result_int()));
    }
    auto j = nlohmann::json::parse(res.body(), nullptr, false);
    if (j.is_discarded() || !j.contains("Response")) {
      return Status(err::kInternalError, "malformed response: " + res.body().substr(0, 200));
    }
    auto& r = j["Response"];
    if (r.contains("Error")) {
      return Status(
          r["Error"].value("Code", std::string(err::kInternalError)),
          r["Error"].value("Message", "") + " (RequestId " + r.value("RequestId", "") + ")");
    }
    return r;
  } catch (const std::exception& e) {
    return Status(err::kInternalError,
                  "cannot reach cvmd at " + config_.endpoint + ": " + e.what());
  }
}

}  // namespace cvm::cli
