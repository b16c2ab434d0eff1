// RequestPipeline::Handle end to end without HTTP: requests built here, signed with SignTc3 as
// a client would, against a real account store and a router holding test handlers.
#include "api/request_pipeline.h"

#include <unistd.h>

#include <filesystem>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "api/signing.h"
#include "common/error_codes.h"
#include "common/time_format.h"
#include "store/sqlite/sqlite_database.h"

namespace cvm::api {
namespace {

using nlohmann::json;

constexpr const char* kHost = "127.0.0.1:9480";
constexpr const char* kJson = "application/json";

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = "/tmp/cvm-pipeline-XXXXXX";
    dir_ = ::mkdtemp(t.data());
    auto db = store::OpenSqliteDatabase(dir_ / "cvmd.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    accounts_ = std::make_unique<iam::AccountStore>(*db_, iam::SecretBox(std::string(32, 'm')));
    auto acct = accounts_->CreateRootAccount("tenant", false);
    ASSERT_TRUE(acct.ok());
    account_ = *acct;
    auto key = accounts_->CreateAccessKey(account_.uin, account_.uin);
    ASSERT_TRUE(key.ok());
    key_ = *key;

    // Answers with what the pipeline told it, so tests can check the context.
    router_.Register("DescribeZones", [this](const RequestContext& ctx, json&) -> Result<json> {
      ++handler_calls_;
      return json{{"TotalCount", 0},
                  {"ZoneSet", json::array()},
                  {"Owner", ctx.owner_uin},
                  {"AppId", ctx.owner_app_id},
                  {"Caller", ctx.caller_uin},
                  {"Region", ctx.region},
                  {"Service", ctx.service},
                  {"Action", ctx.action},
                  {"SecretId", ctx.secret_id},
                  {"SourceIp", ctx.source_ip},
                  {"RequestId", "handler-must-not-set-this"}};
    });
    router_.Register("DescribeInstances", [](const RequestContext&, json& params) -> Result<json> {
      return json{{"Params", params}};
    });
    router_.Register("DescribeRegions", [](const RequestContext&, json&) -> Result<json> {
      throw std::runtime_error("handler bug");
    });
    router_.Register("DescribeInstanceTypeConfigs",
                     [](const RequestContext&, json&) -> Result<json> {
                       return Status(err::kInvalidParameterValue, "handler says no");
                     });
    pipeline_ = std::make_unique<RequestPipeline>(router_, *accounts_, config_);
  }

  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A TC3 POST as the SDKs send it, signed over content-type;host with the tenant's key.
  HttpRequest Signed(const std::string& action, const std::string& body = "{}",
                     const std::string& host = kHost, int64_t timestamp = 0) {
    return SignedWith(key_.secret_id, key_.secret_key, action, body, host, timestamp);
  }

  HttpRequest SignedWith(const std::string& secret_id, const std::string& secret_key,
                         const std::string& action, const std::string& body = "{}",
                         const std::string& host = kHost, int64_t timestamp = 0) {
    if (timestamp == 0) timestamp = NowUnix();
    HttpRequest req;
    req.method = "POST";
    req.target = "/";
    req.body = body;
    req.peer_address = "127.0.0.7";
    req.headers["host"] = host;
    req.headers["content-type"] = kJson;
    req.headers["x-tc-action"] = action;
    req.headers["x-tc-version"] = "2017-03-12";
    req.headers["x-tc-region"] = "ap-guangzhou";
    req.headers["x-tc-timestamp"] = std::to_string(timestamp);
    req.headers["authorization"] =
        SignTc3(secret_id, secret_key, "cvm", "POST", host, "", kJson, body, timestamp);
    return req;
  }

  // Re-signs after a test changed headers that are not signed (action, version, region).
  void Resign(HttpRequest& req) {
    req.headers["authorization"] =
        SignTc3(key_.secret_id, key_.secret_key, "cvm", req.method, req.Header("host"), req.Query(),
                req.Header("content-type"), req.body, std::stoll(req.Header("x-tc-timestamp")));
  }

  // Runs the request and returns the parsed "Response" object, checking the envelope rules that
  // hold for every answer: HTTP 200, Content-Type exactly application/json, a UUID RequestId.
  json Call(const HttpRequest& req) {
    HttpResponse resp = pipeline_->Handle(req);
    EXPECT_EQ(resp.status, 200);
    EXPECT_EQ(resp.content_type, "application/json");
    json body = json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(body.is_object()) << resp.body;
    EXPECT_EQ(body.size(), 1u) << resp.body;
    json r = body.value("Response", json());
    EXPECT_TRUE(r.is_object()) << resp.body;
    if (!r.is_object()) return json::object();
    EXPECT_TRUE(r.contains("RequestId")) << resp.body;
    if (r.contains("RequestId")) {
      EXPECT_TRUE(std::regex_match(
          r["RequestId"].get<std::string>(),
          std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
          << resp.body;
    }
    return r;
  }

  // The error code of the answer, or "" for a success.
  std::string ErrorCode(const HttpRequest& req) {
    json r = Call(req);
    if (!r.contains("Error")) return "";
    EXPECT_TRUE(r["Error"]["Code"].is_string());
    EXPECT_TRUE(r["Error"]["Message"].is_string());
    EXPECT_FALSE(r["Error"]["Message"].get<std::string>().empty());
    return r["Error"]["Code"].get<std::string>();
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<iam::AccountStore> accounts_;
  iam::Account account_;
  iam::AccessKey key_;
  Config config_ = DefaultConfig();
  Router router_;
  std::unique_ptr<RequestPipeline> pipeline_;
  int handler_calls_ = 0;
};

TEST_F(PipelineTest, SignedRequestSucceedsWithContext) {
  json r = Call(Signed("DescribeZones"));
  ASSERT_FALSE(r.contains("Error")) << r.dump();
  EXPECT_EQ(r["TotalCount"], 0);
  EXPECT_TRUE(r["ZoneSet"].is_array());
  EXPECT_EQ(r["Owner"], account_.uin);
  EXPECT_EQ(r["AppId"], account_.app_id);
  EXPECT_EQ(r["Caller"], account_.uin);
  EXPECT_EQ(r["Region"], "ap-guangzhou");
  EXPECT_EQ(r["Service"], "cvm");
  EXPECT_EQ(r["Action"], "DescribeZones");
  EXPECT_EQ(r["SecretId"], key_.secret_id);
  EXPECT_EQ(r["SourceIp"], "127.0.0.7");
  // The pipeline's RequestId wins over anything a handler puts there.
  EXPECT_NE(r["RequestId"], "handler-must-not-set-this");
  EXPECT_EQ(handler_calls_, 1);
}

TEST_F(PipelineTest, EveryResponseHasAFreshRequestId) {
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.insert(Call(Signed("DescribeZones"))["RequestId"].get<std::string>());
  }
  ids.insert(Call(Signed("NoSuchAction"))["RequestId"].get<std::string>());
  EXPECT_EQ(ids.size(), 6u);
}

TEST_F(PipelineTest, UnsignedRequestIsSignatureFailure) {
  HttpRequest req = Signed("DescribeZones");
  req.headers.erase("authorization");
  EXPECT_EQ(ErrorCode(req), err::kAuthFailureSignatureFailure);
  req.headers["authorization"] = "SKIP";  // what the SDKs send when told not to sign
  EXPECT_EQ(ErrorCode(req), err::kAuthFailureSignatureFailure);
  EXPECT_EQ(handler_calls_, 0);
}

TEST_F(PipelineTest, WrongSecretKeyIsSignatureFailure) {
  std::string wrong = key_.secret_key;
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(ErrorCode(SignedWith(key_.secret_id, wrong, "DescribeZones")),
            err::kAuthFailureSignatureFailure);
  EXPECT_EQ(handler_calls_, 0);
}

TEST_F(PipelineTest, AlteredBodyIsSignatureFailure) {
  HttpRequest req = Signed("DescribeInstances", R"({"Limit":1})");
  req.body = R"({"Limit":2})";
  EXPECT_EQ(ErrorCode(req), err::kAuthFailureSignatureFailure);
}

TEST_F(PipelineTest, UnknownAndMalformedSecretIds) {
  EXPECT_EQ(ErrorCode(SignedWith("AKID" + std::string(32, 'Q'), key_.secret_key, "DescribeZones")),
            err::kAuthFailureSecretIdNotFound);
  EXPECT_EQ(ErrorCode(SignedWith("not-a-key", key_.secret_key, "DescribeZones")),
            err::kAuthFailureInvalidSecretId);
}

TEST_F(PipelineTest, OldTimestampIsSignatureExpire) {
  EXPECT_EQ(ErrorCode(Signed("DescribeZones", "{}", kHost, NowUnix() - 3600)),
            err::kAuthFailureSignatureExpire);
  EXPECT_EQ(ErrorCode(Signed("DescribeZones", "{}", kHost, NowUnix() - 200)), "");
}

TEST_F(PipelineTest, UnknownActionIsInvalidAction) {
  json r = Call(Signed("DescribeUnicorns"));
  EXPECT_EQ(r["Error"]["Code"], err::kInvalidAction);
  EXPECT_NE(r["Error"]["Message"].get<std::string>().find("DescribeUnicorns"), std::string::npos);
}

TEST_F(PipelineTest, KnownButUnregisteredActionIsUnsupportedOperation) {
  json r = Call(Signed("DescribeInstancesStatus"));
  EXPECT_EQ(r["Error"]["Code"], err::kUnsupportedOperation);
  EXPECT_NE(r["Error"]["Message"].get<std::string>().find("DescribeInstancesStatus"),
            std::string::npos);
}

TEST_F(PipelineTest, ThrowingHandlerIsInternalErrorAndServingContinues) {
  json r = Call(Signed("DescribeRegions"));
  EXPECT_EQ(r["Error"]["Code"], err::kInternalError);
  EXPECT_EQ(ErrorCode(Signed("DescribeZones")), "");
  EXPECT_EQ(Call(Signed("DescribeRegions"))["Error"]["Code"], err::kInternalError);
  EXPECT_EQ(ErrorCode(Signed("DescribeZones")), "");
}

TEST_F(PipelineTest, HandlerErrorReachesTheEnvelope) {
  json r = Call(Signed("DescribeInstanceTypeConfigs"));
  EXPECT_EQ(r["Error"]["Code"], err::kInvalidParameterValue);
  EXPECT_EQ(r["Error"]["Message"], "handler says no");
}

TEST_F(PipelineTest, ParametersAreValidatedAndCoerced) {
  json r = Call(Signed("DescribeInstances", R"({"Limit":"5","InstanceIds":["ins-abcdefgh"]})"));
  ASSERT_FALSE(r.contains("Error")) << r.dump();
  EXPECT_EQ(r["Params"]["Limit"], 5);
  EXPECT_EQ(r["Params"]["InstanceIds"], json::array({"ins-abcdefgh"}));
  EXPECT_EQ(ErrorCode(Signed("DescribeInstances", R"({"Limmit":5})")), err::kUnknownParameter);
  EXPECT_EQ(ErrorCode(Signed("DescribeInstances", R"({"Limit":"five"})")), err::kInvalidParameter);
}

TEST_F(PipelineTest, DuplicateJsonKeysAreInvalidParameter) {
  json r = Call(Signed("DescribeInstances", R"({"Limit":1,"Limit":2})"));
  EXPECT_EQ(r["Error"]["Code"], err::kInvalidParameter);
  EXPECT_NE(r["Error"]["Message"].get<std::string>().find("Limit"), std::string::npos);
  // Nested objects count too.
  EXPECT_EQ(ErrorCode(Signed("DescribeInstances",
                             R"({"Filters":[{"Name":"zone","Name":"x","Values":["a"]}]})")),
            err::kInvalidParameter);
  // The same key in sibling objects is fine.
  EXPECT_EQ(ErrorCode(Signed("DescribeInstances", R"({"Filters":[{"Name":"zone","Values":["a"]},)"
                                                  R"({"Name":"zone","Values":["b"]}]})")),
            "");
}

TEST_F(PipelineTest, InvalidUtf8BodyIsInvalidParameterValue) {
  EXPECT_EQ(ErrorCode(Signed("DescribeInstances", "{\"InstanceIds\":[\"ins-\xff\xfe\"]}")),
            err::kInvalidParameterValue);
  // Overlong encoding of '/'.
  EXPECT_EQ(ErrorCode(Signed("DescribeInstances", "{\"InstanceIds\":[\"\xc0\xaf\"]}")),
            err::kInvalidParameterValue);
}

TEST_F(PipelineTest, MalformedJsonIsInvalidParameter) {
  EXPECT_EQ(ErrorCode(Signed("DescribeInstances", "{\"Limit\":")), err::kInvalidParameter);
  EXPECT_EQ(ErrorCode(Signed("DescribeInstances", "[1,2]")), err::kInvalidParameter);
}

TEST_F(PipelineTest, PutIsUnsupportedProtocol) {
  HttpRequest req = Signed("DescribeZones");
  req.method = "PUT";
  Resign(req);
  EXPECT_EQ(ErrorCode(req), err::kUnsupportedProtocol);
  req.method = "DELETE";
  EXPECT_EQ(ErrorCode(req), err::kUnsupportedProtocol);
  EXPECT_EQ(handler_calls_, 0);
}

TEST_F(PipelineTest, HostNamingAnotherServiceIsInvalidAction) {
  EXPECT_EQ(ErrorCode(Signed("DescribeZones", "{}", "cbs.x.y")), err::kInvalidAction);
  EXPECT_EQ(ErrorCode(Signed("DescribeZones", "{}", "cvm.x.y")), "");
  // A first label that names no service is not a service.
  EXPECT_EQ(ErrorCode(Signed("DescribeZones", "{}", "api.x.y")), "");
}

TEST_F(PipelineTest, WrongVersionIsNoSuchVersion) {
  HttpRequest req = Signed("DescribeZones");
  req.headers["x-tc-version"] = "2099-01-01";
  json r = Call(req);
  EXPECT_EQ(r["Error"]["Code"], err::kNoSuchVersion);
  EXPECT_NE(r["Error"]["Message"].get<std::string>().find("2017-03-12"), std::string::npos);
}

TEST_F(PipelineTest, RegionIsRequiredAndMustBeServed) {
  HttpRequest req = Signed("DescribeZones");
  req.headers.erase("x-tc-region");
  EXPECT_EQ(ErrorCode(req), err::kMissingParameter);
  req.headers["x-tc-region"] = "mars-north-1";
  EXPECT_EQ(ErrorCode(req), err::kUnsupportedRegion);
  EXPECT_EQ(handler_calls_, 0);
}

TEST_F(PipelineTest, SignedGetWithFlattenedQuery) {
  int64_t ts = NowUnix();
  HttpRequest req;
  req.method = "GET";
  req.target = "/?Limit=3&InstanceIds.0=ins-abcdefgh&InstanceIds.1=ins-12345678";
  req.headers["host"] = kHost;
  req.headers["content-type"] = "application/x-www-form-urlencoded";
  req.headers["x-tc-action"] = "DescribeInstances";
  req.headers["x-tc-version"] = "2017-03-12";
  req.headers["x-tc-region"] = "ap-guangzhou";
  req.headers["x-tc-timestamp"] = std::to_string(ts);
  req.headers["authorization"] = SignTc3(key_.secret_id, key_.secret_key, "cvm", "GET", kHost,
                                         req.Query(), "application/x-www-form-urlencoded", "", ts);
  json r = Call(req);
  ASSERT_FALSE(r.contains("Error")) << r.dump();
  EXPECT_EQ(r["Params"]["Limit"], 3);
  EXPECT_EQ(r["Params"]["InstanceIds"], json::array({"ins-abcdefgh", "ins-12345678"}));
}

// CAM in the pipeline: without an authorizer a sub-user's key is refused (fail closed); with
// one, the decision comes before the handler, and every answer is in the audit log.
TEST_F(PipelineTest, SubUserIsRefusedWithoutAccessControl) {
  auto sub_key = accounts_->CreateAccessKey(account_.uin, "200000000001");
  ASSERT_TRUE(sub_key.ok());
  EXPECT_EQ(ErrorCode(SignedWith(sub_key->secret_id, sub_key->secret_key, "DescribeZones")),
            "UnauthorizedOperation");
  EXPECT_EQ(handler_calls_, 0);
}

TEST_F(PipelineTest, AccessControlDecidesBeforeTheHandlerAndAuditsEveryAnswer) {
  iam::CamStore cam(*db_, *accounts_);
  ASSERT_TRUE(cam.EnsurePresetPolicies().ok());
  iam::SubUser u;
  u.owner_uin = account_.uin;
  u.name = "dev";
  auto user = cam.AddUser(u);
  ASSERT_TRUE(user.ok());
  auto sub_key = accounts_->CreateAccessKey(account_.uin, user->uin);
  ASSERT_TRUE(sub_key.ok());
  iam::Authorizer authorizer(cam);
  iam::AuditLog audit(*db_);
  pipeline_->SetAccessControl(&authorizer, &audit);

  EXPECT_EQ(ErrorCode(SignedWith(sub_key->secret_id, sub_key->secret_key, "DescribeZones")),
            "UnauthorizedOperation");
  EXPECT_EQ(handler_calls_, 0);
  EXPECT_EQ(ErrorCode(Signed("DescribeZones")), "");
  EXPECT_EQ(handler_calls_, 1);
  EXPECT_EQ(ErrorCode(SignedWith(key_.secret_id, std::string(32, 'x'), "DescribeZones")),
            "AuthFailure.SignatureFailure");

  iam::AuditQuery q;
  q.visible = iam::Visibility::Everything();
  q.owner_uin = account_.uin;
  auto found = audit.Find(q);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->first, 2);  // the unauthenticated call belongs to no account
  const auto& newest = found->second[0];
  const auto& oldest = found->second[1];
  EXPECT_EQ(newest.caller_uin, account_.uin);
  EXPECT_EQ(newest.result_code, "");
  EXPECT_EQ(oldest.caller_uin, user->uin);
  EXPECT_EQ(oldest.action, "DescribeZones");
  EXPECT_EQ(oldest.result_code, "UnauthorizedOperation");
  EXPECT_EQ(oldest.source_ip, "127.0.0.7");
  q.owner_uin = "";
  auto anonymous = audit.Find(q);
  ASSERT_TRUE(anonymous.ok());
  ASSERT_EQ(anonymous->first, 1);
  EXPECT_EQ(anonymous->second[0].result_code, "AuthFailure.SignatureFailure");
}

}  // namespace
}  // namespace cvm::api
