// Request signatures of the Tencent Cloud API: TC3-HMAC-SHA256 (every SDK's default) and the
// legacy v1 HmacSHA1 / HmacSHA256 form. Server side verifies, client side (cvm CLI, benchmarks)
// signs. The wire rules, including the per-SDK quirks a server must accept, are written down
// next to the code that applies them, in signing.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http_request.h"
#include "common/status.h"

namespace cvm::api {

// Allowed difference between a request's timestamp and the server clock (Tencent docs: 5 minutes).
inline constexpr int64_t kSignatureMaxSkewSeconds = 300;

// The parts of a TC3 Authorization header: views into the header's text, which must outlive it.
struct Tc3Credential {
  std::string_view secret_id;
  std::string_view date;     // YYYY-MM-DD from the credential scope
  std::string_view service;  // verbatim from the scope ("cvm", or "127" from nodejs on an IP)
  std::string_view signed_headers;  // e.g. "content-type;host"
  std::array<char, 64> signature;   // hex digits, lower-cased
};

// Parses "TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders=content-type;host,
// Signature=hex". Whitespace around the separators is tolerated. Malformed (including the SDKs'
// "SKIP") -> AuthFailure.SignatureFailure whose message says what is wrong.
Result<Tc3Credential> ParseTc3Authorization(std::string_view authorization);

// Verifies a TC3-signed request given the caller's secret key. Checks, in order: X-TC-Timestamp
// within kSignatureMaxSkewSeconds of now_unix (else AuthFailure.SignatureExpire); the scope date
// equals the UTC date of the timestamp; the signed headers include content-type and host; then the
// signature, trying the canonical host as the raw Host header (which may be tccli's literal
// "http://127.0.0.1:PORT") and then with ":port" stripped (nodejs). GET signs the raw query and an
// empty payload; "X-TC-Content-SHA256: UNSIGNED-PAYLOAD" is honoured. Any failure other than
// expiry -> AuthFailure.SignatureFailure.
Status VerifyTc3(const HttpRequest& req, const Tc3Credential& cred, std::string_view secret_key,
                 int64_t now_unix);

// Client side: the Authorization header value for a request to "/" signed over content-type;host.
// The caller sends Host: `host`, Content-Type: `content_type` and X-TC-Timestamp: `timestamp`
// (plus X-TC-Action etc.). For GET, `query` is the raw query string and the payload is empty
// whatever `body` holds; for other methods the query is not signed.
std::string SignTc3(std::string_view secret_id, std::string_view secret_key,
                    std::string_view service, std::string_view method, std::string_view host,
                    std::string_view query, std::string_view content_type, std::string_view body,
                    int64_t timestamp);

// Verifies a v1-signed request. `params` are the decoded form/query parameters (common plus
// business ones, including Signature, Timestamp and optional SignatureMethod, absent meaning
// HmacSHA1). Tries `host` verbatim and then with ":port" stripped. Timestamp out of the window ->
// AuthFailure.SignatureExpire; anything else wrong -> AuthFailure.SignatureFailure.
Status VerifyV1(const std::map<std::string, std::string>& params, std::string_view method,
                std::string_view host, std::string_view secret_key, int64_t now_unix);

// Client side v1: the base64 Signature value (not yet URL-encoded) over all params except a
// "Signature" entry. `signature_method` is "HmacSHA256" or "HmacSHA1" (anything else means
// HmacSHA1, as on the server); put the same value in params["SignatureMethod"] unless HmacSHA1.
std::string SignV1(const std::map<std::string, std::string>& params_without_signature,
                   std::string_view method, std::string_view host, std::string_view secret_key,
                   std::string_view signature_method);

// Hashing helpers (thread-safe, no heap allocation except the returned hex string).
using Sha256Digest = std::array<unsigned char, 32>;
Sha256Digest Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);  // lower-case hex
Sha256Digest HmacSha256(std::string_view key, std::string_view data);
// Compares in time independent of the contents (only the lengths may leak).
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// Decodes one application/x-www-form-urlencoded component: "%XX" -> byte, '+' -> space. A '%'
// not followed by two hex digits is kept literally.
std::string UrlDecode(std::string_view s);
// Splits "a=1&b=x+y&a=2" into decoded pairs in order, keeping duplicates; a field without '='
// has an empty value; empty fields ("&&") are skipped.
std::vector<std::pair<std::string, std::string>> ParseFormEncoded(std::string_view s);

}  // namespace cvm::api
