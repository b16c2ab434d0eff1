// Signature checks: the TC3 Authorization header parser and verifier, and the v1 (form
// parameter) verifier, on arbitrary input; and the round trip: whatever the client side signs,
// the server side accepts.
#include <map>
#include <string>

#include "api/http_request.h"
#include "api/signing.h"
#include "fuzz_support.h"

namespace {

using cvm::api::HttpRequest;

constexpr int64_t kNow = 1795719248;
constexpr std::string_view kSecretId = "AKIDfuzz";
constexpr std::string_view kSecretKey = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

// Input fields: authorization, host, content type, query, timestamp, v1 form, body.
void Tc3(const std::vector<std::string_view>& f, std::string_view method) {
  HttpRequest req;
  req.method = std::string(method);
  req.target = "/" + std::string(f[3].empty() ? "" : "?") + std::string(f[3]);
  req.headers.Set("authorization", f[0]);
  req.headers.Set("host", f[1]);
  req.headers.Set("content-type", f[2]);
  req.headers.Set("x-tc-timestamp", f[4]);
  req.body = std::string(f[6]);
  auto cred = cvm::api::ParseTc3Authorization(f[0]);
  if (cred.ok()) {
    for (char c : cred->signature) {
      CVM_FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }
    cvm::Status verified = cvm::api::VerifyTc3(req, *cred, kSecretKey, kNow);
    CVM_FUZZ_CHECK(verified.ok() || !verified.code().empty());
  }

  // What SignTc3 produces for this request verifies.
  const std::string ts = std::to_string(kNow);
  const std::string auth =
      cvm::api::SignTc3(kSecretId, kSecretKey, "cvm", method, f[1], f[3], f[2], f[6], kNow);
  req.headers.Set("authorization", auth);
  req.headers.Set("x-tc-timestamp", ts);
  auto signed_cred = cvm::api::ParseTc3Authorization(req.headers.find("authorization")->second);
  CVM_FUZZ_CHECK(signed_cred.ok());
  CVM_FUZZ_CHECK(signed_cred->secret_id == kSecretId);
  cvm::Status ok = cvm::api::VerifyTc3(req, *signed_cred, kSecretKey, kNow);
  if (!ok.ok()) std::fprintf(stderr, "%s\n", ok.ToString().c_str());
  CVM_FUZZ_CHECK(ok.ok());
}

void V1(const std::vector<std::string_view>& f, std::string_view method) {
  std::map<std::string, std::string> params;
  for (auto& [k, v] : cvm::api::ParseFormEncoded(f[5])) params[k] = v;
  cvm::Status any = cvm::api::VerifyV1(params, method, f[1], kSecretKey, kNow);
  CVM_FUZZ_CHECK(any.ok() || !any.code().empty());

  params.erase("Signature");
  params["Timestamp"] = std::to_string(kNow);
  const bool sha256 = !f[4].empty() && (f[4][0] & 1);
  if (sha256) {
    params["SignatureMethod"] = "HmacSHA256";
  } else {
    params.erase("SignatureMethod");
  }
  params["Signature"] =
      cvm::api::SignV1(params, method, f[1], kSecretKey, sha256 ? "HmacSHA256" : "HmacSHA1");
  cvm::Status ok = cvm::api::VerifyV1(params, method, f[1], kSecretKey, kNow);
  if (!ok.ok()) std::fprintf(stderr, "%s\n", ok.ToString().c_str());
  CVM_FUZZ_CHECK(ok.ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view method = (data[0] & 1) ? "GET" : "POST";
  std::vector<std::string_view> f = cvm::fuzz::Fields(cvm::fuzz::AsView(data + 1, size - 1), 7);
  f.resize(7);
  // Header values arrive trimmed (and the signed ones are hashed trimmed).
  for (size_t i : {1, 2, 4}) f[i] = cvm::fuzz::TrimOws(f[i]);
  Tc3(f, method);
  V1(f, method);
  return 0;
}
