// Expected signatures below were computed independently with Python's hashlib/hmac (the
// TC3 and v1 algorithms step by step), never with the code under test. Unless a comment says otherwise:
// SecretId "AKIDtest", SecretKey "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", X-TC-Timestamp 1795719248
// (UTC date 2026-11-26).
#include "api/signing.h"

#include <gtest/gtest.h>

#include "common/error_codes.h"

namespace cvm::api {
namespace {

constexpr std::string_view kSecretId = "AKIDtest";
constexpr std::string_view kSecretKey = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
constexpr int64_t kTs = 1795719248;

// Body exactly as the Python SDK sends it (json.dumps: spaces after ',' and ':').
constexpr std::string_view kPythonBody = R"({"InstanceIds": ["ins-abcdefgh"], "Limit": 10})";
// nodejs sends compact JSON.
constexpr std::string_view kNodeBody = R"({"InstanceIds":["ins-abcdefgh"],"Limit":10})";

std::string Auth(std::string_view service, std::string_view sig,
                 std::string_view date = "2026-11-26",
                 std::string_view signed_headers = "content-type;host") {
  return "TC3-HMAC-SHA256 Credential=AKIDtest/" + std::string(date) + "/" + std::string(service) +
         "/tc3_request, SignedHeaders=" + std::string(signed_headers) +
         ", Signature=" + std::string(sig);
}

HttpRequest MakeRequest(std::string method, std::string host, std::string content_type,
                        std::string body, std::string target = "/") {
  HttpRequest req;
  req.method = std::move(method);
  req.target = std::move(target);
  req.headers["host"] = std::move(host);
  req.headers["content-type"] = std::move(content_type);
  req.headers["x-tc-timestamp"] = std::to_string(kTs);
  req.headers["x-tc-action"] = "DescribeInstances";
  req.headers["x-tc-version"] = "2017-03-12";
  req.body = std::move(body);
  return req;
}

Status ParseAndVerify(const HttpRequest& req, int64_t now = kTs,
                      std::string_view key = kSecretKey) {
  auto cred = ParseTc3Authorization(req.Header("authorization"));
  if (!cred.ok()) return cred.status();
  return VerifyTc3(req, *cred, key, now);
}

// ---- hashing helpers ----

TEST(SigningHashTest, Sha256HexKnownValues) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("UNSIGNED-PAYLOAD"),
            "438d4109ef0d676b8c2c7ed13cdfcb418e494d53b843d4634ce3b1085f07bb96");
  EXPECT_EQ(Sha256Hex(kPythonBody),
            "c1a84a9b3aa3a5eedb3d5dde80d50587598bada98bb80e44fc10db6608409c67");
}

std::string Hex(const Sha256Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : d) {
    s.push_back(kHex[c >> 4]);
    s.push_back(kHex[c & 0xf]);
  }
  return s;
}

TEST(SigningHashTest, HmacSha256KnownValues) {
  // hmac.new(b"key", b"The quick brown fox jumps over the lazy dog", sha256)
  EXPECT_EQ(Hex(HmacSha256("key", "The quick brown fox jumps over the lazy dog")),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  // A key longer than the 64-byte block is hashed first: hmac.new(b"k" * 100, b"data", sha256)
  EXPECT_EQ(Hex(HmacSha256(std::string(100, 'k'), "data")),
            "09380ee4b802da2363bc96e8e0d133ba275458ea8ddbc564f986fc12b31f8cb1");
}

TEST(SigningHashTest, ConstantTimeEqual) {
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEqual("", ""));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abcd"));
}

// ---- Authorization header parsing ----

TEST(SigningParseTest, ParsesSdkHeader) {
  auto cred = ParseTc3Authorization(
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_request, "
      "SignedHeaders=content-type;host, "
      "Signature=49bf5f7e3cb4561718a21b11f63f526cd7d216a1c9ef960e5fe063c067f06dce");
  ASSERT_TRUE(cred.ok()) << cred.status().ToString();
  EXPECT_EQ(cred->secret_id, "AKIDtest");
  EXPECT_EQ(cred->date, "2026-11-26");
  EXPECT_EQ(cred->service, "cvm");
  EXPECT_EQ(cred->signed_headers, "content-type;host");
  EXPECT_EQ(std::string_view(cred->signature.data(), cred->signature.size()),
            "49bf5f7e3cb4561718a21b11f63f526cd7d216a1c9ef960e5fe063c067f06dce");
}

TEST(SigningParseTest, ToleratesWhitespaceAndUpperHex) {
  auto cred = ParseTc3Authorization(
      "  TC3-HMAC-SHA256   Credential = AKIDtest/2026-11-26/localhost:8080/tc3_request ,"
      "SignedHeaders=content-type;host,\tSignature="
      "49BF5F7E3CB4561718A21B11F63F526CD7D216A1C9EF960E5FE063C067F06DCE  ");
  ASSERT_TRUE(cred.ok()) << cred.status().ToString();
  EXPECT_EQ(cred->service, "localhost:8080");  // nodejs endpoint "localhost:8080"
  EXPECT_EQ(std::string_view(cred->signature.data(), cred->signature.size()),
            "49bf5f7e3cb4561718a21b11f63f526cd7d216a1c9ef960e5fe063c067f06dce");
}

TEST(SigningParseTest, RejectsMalformed) {
  const std::string sig(64, 'a');
  const std::string ok_tail = ", SignedHeaders=content-type;host, Signature=" + sig;
  const std::vector<std::string> bad = {
      "",
      "SKIP",
      "TC3-HMAC-SHA256",
      "HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_request" + ok_tail,
      "TC3-HMAC-SHA256Credential=AKIDtest/2026-11-26/cvm/tc3_request" + ok_tail,
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_requests" + ok_tail,
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/tc3_request" + ok_tail,
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26//tc3_request" + ok_tail,
      "TC3-HMAC-SHA256 Credential=/2026-11-26/cvm/tc3_request" + ok_tail,
      "TC3-HMAC-SHA256 Credential=AKIDtest/tc3_request" + ok_tail,
      "TC3-HMAC-SHA256 Credential=tc3_request" + ok_tail,
      "TC3-HMAC-SHA256 Credential=/tc3_request" + ok_tail,
      "TC3-HMAC-SHA256 Credential=AKIDtest/20261126/cvm/tc3_request" + ok_tail,
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-1-261/cvm/tc3_request" + ok_tail,
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_request, Signature=" + sig,
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_request, "
      "SignedHeaders=content-type;host",
      "TC3-HMAC-SHA256 SignedHeaders=content-type;host, Signature=" + sig,
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_request, SignedHeaders=, "
      "Signature=" +
          sig,
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_request, "
      "SignedHeaders=Content-Type;Host, Signature=" +
          sig,
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_request, "
      "SignedHeaders=content-type;;host, Signature=" +
          sig,
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_request, "
      "SignedHeaders=content-type;host;, Signature=" +
          sig,
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_request, "
      "SignedHeaders=content-type;host, Signature=" +
          sig.substr(1),
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_request, "
      "SignedHeaders=content-type;host, Signature=" +
          sig.substr(1) + "g",
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_request" + ok_tail +
          ", Signature=" + sig,
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_request" + ok_tail + ", Foo=bar",
      "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-26/cvm/tc3_request" + ok_tail + ", junk",
  };
  for (const std::string& header : bad) {
    auto cred = ParseTc3Authorization(header);
    ASSERT_FALSE(cred.ok()) << header;
    EXPECT_EQ(cred.status().code(), err::kAuthFailureSignatureFailure) << header;
    EXPECT_FALSE(cred.status().message().empty()) << header;
  }
}

// ---- TC3 verification against SDK-shaped requests ----

TEST(SigningTc3Test, PythonSdkPostSignsHostWithPort) {
  // Python SDK 3.1.162: scope service "cvm", canonical host "127.0.0.1:18081" as sent.
  auto req = MakeRequest("POST", "127.0.0.1:18081", "application/json", std::string(kPythonBody));
  req.headers["authorization"] =
      Auth("cvm", "49bf5f7e3cb4561718a21b11f63f526cd7d216a1c9ef960e5fe063c067f06dce");
  EXPECT_TRUE(ParseAndVerify(req).ok()) << ParseAndVerify(req).ToString();
}

TEST(SigningTc3Test, BodyIsHashedAsRawBytes) {
  // Same request re-serialised compactly must not verify: the server hashes bytes as received.
  auto req = MakeRequest("POST", "127.0.0.1:18081", "application/json", std::string(kNodeBody));
  req.headers["authorization"] =
      Auth("cvm", "49bf5f7e3cb4561718a21b11f63f526cd7d216a1c9ef960e5fe063c067f06dce");
  EXPECT_EQ(ParseAndVerify(req).code(), err::kAuthFailureSignatureFailure);
}

TEST(SigningTc3Test, NodejsSignsHostWithoutPortAndScopeFromEndpoint) {
  // nodejs: endpoint "127.0.0.1:18083" -> scope service "127", canonical host "127.0.0.1",
  // while the Host header says "127.0.0.1:18083"; compact JSON body.
  auto req = MakeRequest("POST", "127.0.0.1:18083", "application/json", std::string(kNodeBody));
  req.headers["authorization"] =
      Auth("127", "ad5b28989b5aa154215c011f8bc119da3da5f96f0398ca8eb798712d5bbe051d");
  EXPECT_TRUE(ParseAndVerify(req).ok()) << ParseAndVerify(req).ToString();
}

TEST(SigningTc3Test, TccliLiteralSchemeInHost) {
  // tccli --endpoint http://127.0.0.1:18081: Host header and canonical host are that literal;
  // body {"Limit": 1}.
  auto req = MakeRequest("POST", "http://127.0.0.1:18081", "application/json", R"({"Limit": 1})");
  req.headers["authorization"] =
      Auth("cvm", "8185aceec4c20975fa84acfc94754b6d62f9fcef1fd268a8a6a23d74eb6c74d4");
  EXPECT_TRUE(ParseAndVerify(req).ok()) << ParseAndVerify(req).ToString();
}

TEST(SigningTc3Test, GetSignsRawQueryAndEmptyPayload) {
  // GET /?InstanceIds.0=ins-abcdefgh&Limit=10, form content type, Host 127.0.0.1:18081.
  auto req = MakeRequest("GET", "127.0.0.1:18081", "application/x-www-form-urlencoded", "",
                         "/?InstanceIds.0=ins-abcdefgh&Limit=10");
  req.headers["authorization"] =
      Auth("cvm", "bb80d2e8153e31275039a4e757daa0e3a163d64dd8676fce5a81f8eae08dd78a");
  EXPECT_TRUE(ParseAndVerify(req).ok()) << ParseAndVerify(req).ToString();

  // The query is signed verbatim: reordering it breaks the signature.
  req.target = "/?Limit=10&InstanceIds.0=ins-abcdefgh";
  EXPECT_EQ(ParseAndVerify(req).code(), err::kAuthFailureSignatureFailure);
}

TEST(SigningTc3Test, UnsignedPayload) {
  // Python unsignedPayload=True: payload hash is sha256("UNSIGNED-PAYLOAD"), whatever the body.
  auto req = MakeRequest("POST", "127.0.0.1:18081", "application/json", std::string(kPythonBody));
  req.headers["x-tc-content-sha256"] = "UNSIGNED-PAYLOAD";
  req.headers["authorization"] =
      Auth("cvm", "068186b1408ce4c85405b70a1ec40b754c9bc8f5401836d15bc007a8d7ce0559");
  EXPECT_TRUE(ParseAndVerify(req).ok()) << ParseAndVerify(req).ToString();
  req.body = R"({"Limit": 99})";
  EXPECT_TRUE(ParseAndVerify(req).ok());
  // Without the header the same signature is wrong.
  req.headers.erase("x-tc-content-sha256");
  EXPECT_EQ(ParseAndVerify(req).code(), err::kAuthFailureSignatureFailure);
}

TEST(SigningTc3Test, ExtraSignedHeaderWithLowerCasedValue) {
  // Tencent docs style: SignedHeaders=content-type;host;x-tc-action, values lower-cased in the
  // canonical request ("x-tc-action:describeinstances"), Host cvm.tencentcloudapi.com, body
  // {"Limit": 1}.
  auto req = MakeRequest("POST", "cvm.tencentcloudapi.com", "application/json", R"({"Limit": 1})");
  req.headers["authorization"] =
      Auth("cvm", "875a7ed6c999b7f5d3d9f859a4c881afe406d59fe6f9c6f7a4cdbf5522651f0a", "2026-11-26",
           "content-type;host;x-tc-action");
  EXPECT_TRUE(ParseAndVerify(req).ok()) << ParseAndVerify(req).ToString();

  // A signed header that the request lacks.
  req.headers.erase("x-tc-action");
  EXPECT_EQ(ParseAndVerify(req).code(), err::kAuthFailureSignatureFailure);
}

TEST(SigningTc3Test, SignedHeadersMustIncludeContentTypeAndHost) {
  auto req = MakeRequest("POST", "127.0.0.1:18081", "application/json", std::string(kPythonBody));
  req.headers["authorization"] =
      Auth("cvm", "49bf5f7e3cb4561718a21b11f63f526cd7d216a1c9ef960e5fe063c067f06dce", "2026-11-26",
           "host");
  Status s = ParseAndVerify(req);
  EXPECT_EQ(s.code(), err::kAuthFailureSignatureFailure);
  EXPECT_NE(s.message().find("content-type"), std::string::npos) << s.message();
}

TEST(SigningTc3Test, WrongKeyFails) {
  auto req = MakeRequest("POST", "127.0.0.1:18081", "application/json", std::string(kPythonBody));
  req.headers["authorization"] =
      Auth("cvm", "49bf5f7e3cb4561718a21b11f63f526cd7d216a1c9ef960e5fe063c067f06dce");
  Status s = ParseAndVerify(req, kTs, "Gu5t9xGARNpq86cd98joQYCN3EXAMPLF");
  EXPECT_EQ(s.code(), err::kAuthFailureSignatureFailure);
}

TEST(SigningTc3Test, TamperedRequestFails) {
  auto req = MakeRequest("POST", "127.0.0.1:18081", "application/json", std::string(kPythonBody));
  req.headers["authorization"] =
      Auth("cvm", "49bf5f7e3cb4561718a21b11f63f526cd7d216a1c9ef960e5fe063c067f06dce");
  auto tampered = req;
  tampered.headers["host"] = "127.0.0.1:18082";
  EXPECT_EQ(ParseAndVerify(tampered).code(), err::kAuthFailureSignatureFailure);
  tampered = req;
  tampered.headers["content-type"] = "application/x-www-form-urlencoded";
  EXPECT_EQ(ParseAndVerify(tampered).code(), err::kAuthFailureSignatureFailure);
  tampered = req;
  tampered.headers["authorization"] =
      Auth("cbs", "49bf5f7e3cb4561718a21b11f63f526cd7d216a1c9ef960e5fe063c067f06dce");
  EXPECT_EQ(ParseAndVerify(tampered).code(), err::kAuthFailureSignatureFailure);
  tampered = req;
  tampered.method = "PUT";
  EXPECT_EQ(ParseAndVerify(tampered).code(), err::kAuthFailureSignatureFailure);
}

TEST(SigningTc3Test, ExpiredTimestampBothDirections) {
  auto req = MakeRequest("POST", "127.0.0.1:18081", "application/json", std::string(kPythonBody));
  req.headers["authorization"] =
      Auth("cvm", "49bf5f7e3cb4561718a21b11f63f526cd7d216a1c9ef960e5fe063c067f06dce");
  // Exactly at the edges of the window still verifies.
  EXPECT_TRUE(ParseAndVerify(req, kTs + 300).ok());
  EXPECT_TRUE(ParseAndVerify(req, kTs - 300).ok());
  // Request too old.
  EXPECT_EQ(ParseAndVerify(req, kTs + 301).code(), err::kAuthFailureSignatureExpire);
  // Request from the future.
  EXPECT_EQ(ParseAndVerify(req, kTs - 301).code(), err::kAuthFailureSignatureExpire);
  // Expiry is reported even when the key is wrong (checked before the signature).
  EXPECT_EQ(ParseAndVerify(req, kTs + 3600, "wrong").code(), err::kAuthFailureSignatureExpire);
}

TEST(SigningTc3Test, BadTimestampHeader) {
  auto req = MakeRequest("POST", "127.0.0.1:18081", "application/json", std::string(kPythonBody));
  req.headers["authorization"] =
      Auth("cvm", "49bf5f7e3cb4561718a21b11f63f526cd7d216a1c9ef960e5fe063c067f06dce");
  for (const char* ts : {"", "abc", "-1795719248", "1795719248.0", "17957192480000000000"}) {
    req.headers["x-tc-timestamp"] = ts;
    EXPECT_EQ(ParseAndVerify(req).code(), err::kAuthFailureSignatureFailure) << ts;
  }
  req.headers.erase("x-tc-timestamp");
  EXPECT_EQ(ParseAndVerify(req).code(), err::kAuthFailureSignatureFailure);
}

TEST(SigningTc3Test, ScopeDateMustMatchTimestamp) {
  // Signed consistently but with scope date 2026-11-25 (Python: date forced to "2026-11-25");
  // the timestamp's UTC date is 2026-11-26, so the server must refuse it.
  auto req = MakeRequest("POST", "127.0.0.1:18081", "application/json", R"({"Limit": 1})");
  req.headers["authorization"] =
      Auth("cvm", "e1c709daf41974aaf6e51304e187d127d815cad96107d66cf244322f52d2cb2f", "2026-11-25");
  Status s = ParseAndVerify(req);
  EXPECT_EQ(s.code(), err::kAuthFailureSignatureFailure);
  EXPECT_NE(s.message().find("2026-11-25"), std::string::npos) << s.message();
}

TEST(SigningTc3Test, SignRoundTrips) {
  struct Case {
    std::string method, host, query, content_type, body, service;
  };
  const std::vector<Case> cases = {
      {"POST", "127.0.0.1:18081", "", "application/json", std::string(kPythonBody), "cvm"},
      {"POST", "cvm.tencentcloudapi.com", "", "application/json", "{}", "cvm"},
      {"GET", "127.0.0.1:18081", "Limit=10&Filters.0.Name=zone",
       "application/x-www-form-urlencoded", "", "cvm"},
      {"POST", "http://127.0.0.1:18081", "", "application/json", R"({"Limit": 1})", "cam"},
  };
  for (const Case& c : cases) {
    std::string auth = SignTc3(kSecretId, kSecretKey, c.service, c.method, c.host, c.query,
                               c.content_type, c.body, kTs);
    auto req = MakeRequest(c.method, c.host, c.content_type, c.body,
                           c.query.empty() ? "/" : "/?" + c.query);
    req.headers["authorization"] = auth;
    EXPECT_TRUE(ParseAndVerify(req).ok()) << auth << " " << ParseAndVerify(req).ToString();
    EXPECT_EQ(ParseAndVerify(req, kTs, "other-key").code(), err::kAuthFailureSignatureFailure);
  }
}

TEST(SigningTc3Test, SignMatchesPythonVector) {
  EXPECT_EQ(SignTc3(kSecretId, kSecretKey, "cvm", "POST", "127.0.0.1:18081", "", "application/json",
                    kPythonBody, kTs),
            Auth("cvm", "49bf5f7e3cb4561718a21b11f63f526cd7d216a1c9ef960e5fe063c067f06dce"));
  EXPECT_EQ(
      SignTc3(kSecretId, kSecretKey, "cvm", "GET", "127.0.0.1:18081",
              "InstanceIds.0=ins-abcdefgh&Limit=10", "application/x-www-form-urlencoded", "", kTs),
      Auth("cvm", "bb80d2e8153e31275039a4e757daa0e3a163d64dd8676fce5a81f8eae08dd78a"));
}

TEST(SigningTc3Test, ScopeDateIsUtcDateOfTimestamp) {
  // Dates per Python datetime.fromtimestamp(t, timezone.utc).
  const std::vector<std::pair<int64_t, std::string>> cases = {
      {0, "1970-01-01"},         {86399, "1970-01-01"},      {86400, "1970-01-02"},
      {951782400, "2000-02-29"}, {1795719248, "2026-11-26"}, {4102444800, "2100-01-01"},
  };
  for (const auto& [ts, date] : cases) {
    std::string auth =
        SignTc3(kSecretId, kSecretKey, "cvm", "POST", "h", "", "application/json", "{}", ts);
    EXPECT_NE(auth.find("/" + date + "/cvm/"), std::string::npos) << ts << " " << auth;
  }
}

// ---- v1 ----

// The v1 parameters the Node.js SDK 4.1.220 sends; expected values from Python
// base64(hmac.new(SecretKey, string_to_sign, sha256|sha1)).
std::map<std::string, std::string> V1Params() {
  return {{"Action", "DescribeInstances"},
          {"InstanceIds.0", "ins-abcdefgh"},
          {"Limit", "10"},
          {"Nonce", "28416"},
          {"Region", "ap-guangzhou"},
          {"RequestClient", "SDK_NODEJS_4.1.220"},
          {"SecretId", "AKIDtest"},
          {"SignatureMethod", "HmacSHA256"},
          {"Timestamp", "1795719260"},
          {"Version", "2017-03-12"}};
}
constexpr int64_t kV1Ts = 1795719260;
// String to sign: POST127.0.0.1:18083/?Action=DescribeInstances&InstanceIds.0=ins-abcdefgh&
// Limit=10&Nonce=28416&Region=ap-guangzhou&RequestClient=SDK_NODEJS_4.1.220&SecretId=AKIDtest&
// SignatureMethod=HmacSHA256&Timestamp=1795719260&Version=2017-03-12
constexpr std::string_view kV1Sha256Sig = "brkRuFjcrHhU4DNLJMtnRVlxTupVGJdjYTAV2/awSIM=";
// Same params without SignatureMethod, method GET: GET127.0.0.1:18083/?Action=...&SecretId=
// AKIDtest&Timestamp=1795719260&Version=2017-03-12, HMAC-SHA1.
constexpr std::string_view kV1Sha1Sig = "HopgnLhcTWuuB3OanUU3el15+/U=";

TEST(SigningV1Test, HmacSha256Vector) {
  auto params = V1Params();
  EXPECT_EQ(SignV1(params, "POST", "127.0.0.1:18083", kSecretKey, "HmacSHA256"), kV1Sha256Sig);
  params["Signature"] = kV1Sha256Sig;
  Status s = VerifyV1(params, "POST", "127.0.0.1:18083", kSecretKey, kV1Ts);
  EXPECT_TRUE(s.ok()) << s.ToString();
  // SignV1 ignores a Signature entry.
  EXPECT_EQ(SignV1(params, "POST", "127.0.0.1:18083", kSecretKey, "HmacSHA256"), kV1Sha256Sig);
}

TEST(SigningV1Test, HmacSha1DefaultWhenMethodAbsent) {
  auto params = V1Params();
  params.erase("SignatureMethod");
  EXPECT_EQ(SignV1(params, "GET", "127.0.0.1:18083", kSecretKey, "HmacSHA1"), kV1Sha1Sig);
  params["Signature"] = kV1Sha1Sig;
  EXPECT_TRUE(VerifyV1(params, "GET", "127.0.0.1:18083", kSecretKey, kV1Ts).ok());
  // Explicit HmacSHA1 is not signed here (it would change the string), so it must fail.
  params["SignatureMethod"] = "HmacSHA1";
  EXPECT_EQ(VerifyV1(params, "GET", "127.0.0.1:18083", kSecretKey, kV1Ts).code(),
            err::kAuthFailureSignatureFailure);
}

TEST(SigningV1Test, UnencodedPlusDecodedToSpaceStillVerifies) {
  auto params = V1Params();
  params.erase("SignatureMethod");
  params["Signature"] = "HopgnLhcTWuuB3OanUU3el15 /U=";
  EXPECT_TRUE(VerifyV1(params, "GET", "127.0.0.1:18083", kSecretKey, kV1Ts).ok());
}

TEST(SigningV1Test, HostWithPortStrippedIsTried) {
  // A client that signed "127.0.0.1" while sending Host "127.0.0.1:18083" is accepted; the
  // reverse (signed with a port that the Host header lacks) is not guessable and fails.
  auto params = V1Params();
  params["Signature"] = SignV1(params, "POST", "127.0.0.1", kSecretKey, "HmacSHA256");
  EXPECT_TRUE(VerifyV1(params, "POST", "127.0.0.1:18083", kSecretKey, kV1Ts).ok());
  params["Signature"] = kV1Sha256Sig;
  EXPECT_EQ(VerifyV1(params, "POST", "127.0.0.1", kSecretKey, kV1Ts).code(),
            err::kAuthFailureSignatureFailure);
}

TEST(SigningV1Test, WrongSignatureFails) {
  auto params = V1Params();
  params["Signature"] = "brkRuFjcrHhU4DNLJMtnRVlxTupVGJdjYTAV2/awSIN=";
  EXPECT_EQ(VerifyV1(params, "POST", "127.0.0.1:18083", kSecretKey, kV1Ts).code(),
            err::kAuthFailureSignatureFailure);
  params["Signature"] = kV1Sha256Sig;
  EXPECT_EQ(VerifyV1(params, "POST", "127.0.0.1:18083", "wrong-key", kV1Ts).code(),
            err::kAuthFailureSignatureFailure);
  EXPECT_EQ(VerifyV1(params, "GET", "127.0.0.1:18083", kSecretKey, kV1Ts).code(),
            err::kAuthFailureSignatureFailure);
  params["Limit"] = "11";
  EXPECT_EQ(VerifyV1(params, "POST", "127.0.0.1:18083", kSecretKey, kV1Ts).code(),
            err::kAuthFailureSignatureFailure);
}

TEST(SigningV1Test, MissingOrBadCommonParams) {
  auto params = V1Params();
  EXPECT_EQ(VerifyV1(params, "POST", "127.0.0.1:18083", kSecretKey, kV1Ts).code(),
            err::kAuthFailureSignatureFailure);  // no Signature
  params["Signature"] = kV1Sha256Sig;
  params["SignatureMethod"] = "HmacMD5";
  EXPECT_EQ(VerifyV1(params, "POST", "127.0.0.1:18083", kSecretKey, kV1Ts).code(),
            err::kAuthFailureSignatureFailure);
  params = V1Params();
  params["Signature"] = kV1Sha256Sig;
  params.erase("Timestamp");
  EXPECT_EQ(VerifyV1(params, "POST", "127.0.0.1:18083", kSecretKey, kV1Ts).code(),
            err::kAuthFailureSignatureFailure);
}

TEST(SigningV1Test, ExpiredTimestampBothDirections) {
  auto params = V1Params();
  params["Signature"] = kV1Sha256Sig;
  EXPECT_TRUE(VerifyV1(params, "POST", "127.0.0.1:18083", kSecretKey, kV1Ts + 300).ok());
  EXPECT_TRUE(VerifyV1(params, "POST", "127.0.0.1:18083", kSecretKey, kV1Ts - 300).ok());
  EXPECT_EQ(VerifyV1(params, "POST", "127.0.0.1:18083", kSecretKey, kV1Ts + 301).code(),
            err::kAuthFailureSignatureExpire);
  EXPECT_EQ(VerifyV1(params, "POST", "127.0.0.1:18083", kSecretKey, kV1Ts - 301).code(),
            err::kAuthFailureSignatureExpire);
}

// ---- form decoding ----

TEST(SigningFormTest, UrlDecode) {
  EXPECT_EQ(UrlDecode("a+b%20c%2Bd%2fe"), "a b c+d/e");
  EXPECT_EQ(UrlDecode("%E4%BD%A0"), "\xE4\xBD\xA0");
  EXPECT_EQ(UrlDecode("100%"), "100%");
  EXPECT_EQ(UrlDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(UrlDecode(""), "");
}

TEST(SigningFormTest, ParseFormEncodedKeepsOrderAndDuplicates) {
  auto pairs = ParseFormEncoded("a=1&b=x+y&&a=2&Filters=&flag&Signature=ab%2Bc%3D");
  const std::vector<std::pair<std::string, std::string>> want = {
      {"a", "1"}, {"b", "x y"}, {"a", "2"}, {"Filters", ""}, {"flag", ""}, {"Signature", "ab+c="}};
  EXPECT_EQ(pairs, want);
  EXPECT_TRUE(ParseFormEncoded("").empty());
}

TEST(SigningV1Test, DecodedFormVerifies) {
  // The wire form of the nodejs v1 request body: values URL-encoded, Signature included.
  std::string body =
      "Action=DescribeInstances&InstanceIds.0=ins-abcdefgh&Limit=10&Nonce=28416&Region=ap-"
      "guangzhou&RequestClient=SDK_NODEJS_4.1.220&SecretId=AKIDtest&SignatureMethod=HmacSHA256&"
      "Timestamp=1795719260&Version=2017-03-12&Signature=brkRuFjcrHhU4DNLJMtnRVlxTupVGJdjYTAV2%"
      "2FawSIM%3D";
  std::map<std::string, std::string> params;
  for (auto& [k, v] : ParseFormEncoded(body)) params[k] = v;
  EXPECT_TRUE(VerifyV1(params, "POST", "127.0.0.1:18083", kSecretKey, kV1Ts).ok());
}

}  // namespace
}  // namespace cvm::api
