#include "api/signing.h"

// SHA256_Init/Update/Final: deprecated by OpenSSL 3 but shipped by it; see Sha256Into.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

#include "common/error_codes.h"

namespace cvm::api {
namespace {

constexpr std::string_view kTc3Algorithm = "TC3-HMAC-SHA256";
constexpr std::string_view kTc3Terminator = "tc3_request";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
constexpr std::string_view kMismatchMessage =
    "The provided credentials could not be validated. Please check your signature is correct.";
constexpr size_t kMaxDigest = 32;  // SHA-256; SHA-1 is 20
constexpr size_t kHmacBlock = 64;  // block size of both SHA-1 and SHA-256

Status SignatureFailure(std::string message) {
  return Status(err::kAuthFailureSignatureFailure, std::move(message));
}

// The one-shot HMAC()/SHA256() of OpenSSL 3 fetch the algorithm from the provider on every call
// (~1.7 us per HMAC); fetching once and reusing a per-thread context is ~5x faster.
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    const EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return m != nullptr ? m : EVP_sha256();
  }();
  return md;
}
const EVP_MD* Sha1Md() {
  static const EVP_MD* const md = [] {
    const EVP_MD* m = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    return m != nullptr ? m : EVP_sha1();
  }();
  return md;
}

EVP_MD_CTX* ThreadCtx() {
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                           &EVP_MD_CTX_free);
  return ctx.get();
}

// Hashes the concatenation of up to two pieces into `out` (zeroed first, so a failure of the
// library can only make verification fail). Returns the digest length.
size_t Digest(const EVP_MD* md, std::string_view a, std::string_view b, unsigned char* out) {
  std::memset(out, 0, kMaxDigest);
  EVP_MD_CTX* ctx = ThreadCtx();
  unsigned int len = 0;
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx, b.data(), b.size()) != 1 || EVP_DigestFinal_ex(ctx, out, &len) != 1) {
    std::memset(out, 0, kMaxDigest);
  }
  return static_cast<size_t>(EVP_MD_get_size(md));
}

// RFC 2104 HMAC over the cached digest; returns the MAC length.
size_t Hmac(const EVP_MD* md, std::string_view key, std::string_view data, unsigned char* out) {
  unsigned char key_block[kHmacBlock] = {};
  if (key.size() > kHmacBlock) {
    Digest(md, key, {}, key_block);
  } else {
    std::memcpy(key_block, key.data(), key.size());
  }
  unsigned char pad[kHmacBlock];
  for (size_t i = 0; i < kHmacBlock; ++i) pad[i] = key_block[i] ^ 0x36;
  unsigned char inner[kMaxDigest];
  size_t n = Digest(md, {reinterpret_cast<const char*>(pad), kHmacBlock}, data, inner);
  for (size_t i = 0; i < kHmacBlock; ++i) pad[i] = key_block[i] ^ 0x5c;
  n = Digest(md, {reinterpret_cast<const char*>(pad), kHmacBlock},
             {reinterpret_cast<const char*>(inner), n}, out);
  OPENSSL_cleanse(key_block, sizeof(key_block));
  return n;
}

std::string_view AsView(const unsigned char* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

// Writes 2n lower-case hex digits.
void HexInto(const unsigned char* p, size_t n, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 0xf];
  }
}

void AppendHex(const unsigned char* p, size_t n, std::string& out) {
  size_t at = out.size();
  out.resize(at + 2 * n);
  HexInto(p, n, out.data() + at);
}

// SHA-256 of the concatenation of a and b. On the per-request path (three short digests for each
// signed request) the EVP layer's dispatch and the context it allocates and frees at every init
// cost more than the hashing; the low-level functions run the same code (SHA-NI where present).
void Sha256Into(std::string_view a, std::string_view b, unsigned char* out) {
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, a.data(), a.size());
  SHA256_Update(&c, b.data(), b.size());
  SHA256_Final(out, &c);
}

void AppendSha256Hex(std::string_view data, std::string& out) {
  unsigned char d[kMaxDigest];
  Sha256Into(data, {}, d);
  AppendHex(d, 32, out);
}

// HMAC-SHA256 under one key with the key's two padded blocks already absorbed (RFC 2104): each
// MAC then hashes only the message and the inner digest.
class PreparedHmacSha256 {
 public:
  explicit PreparedHmacSha256(std::string_view key) {
    unsigned char block[kHmacBlock] = {};
    if (key.size() > kHmacBlock) {
      Sha256Into(key, {}, block);
    } else {
      std::memcpy(block, key.data(), key.size());
    }
    unsigned char pad[kHmacBlock];
    for (size_t i = 0; i < kHmacBlock; ++i) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&inner_);
    SHA256_Update(&inner_, pad, kHmacBlock);
    for (size_t i = 0; i < kHmacBlock; ++i) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&outer_);
    SHA256_Update(&outer_, pad, kHmacBlock);
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));
  }
  ~PreparedHmacSha256() {
    OPENSSL_cleanse(&inner_, sizeof(inner_));
    OPENSSL_cleanse(&outer_, sizeof(outer_));
  }
  PreparedHmacSha256(const PreparedHmacSha256&) = delete;
  PreparedHmacSha256& operator=(const PreparedHmacSha256&) = delete;

  void Mac(std::string_view data, unsigned char* out) const {
    SHA256_CTX c = inner_;
    unsigned char inner_digest[kMaxDigest];
    SHA256_Update(&c, data.data(), data.size());
    SHA256_Final(inner_digest, &c);
    c = outer_;
    SHA256_Update(&c, inner_digest, sizeof(inner_digest));
    SHA256_Final(out, &c);
    OPENSSL_cleanse(&c, sizeof(c));
  }

 private:
  SHA256_CTX inner_, outer_;
};

// Request text quoted back in an error message, bounded so a huge header stays out of logs.
std::string Echo(std::string_view s) {
  constexpr size_t kMax = 64;
  return s.size() <= kMax ? std::string(s) : std::string(s.substr(0, kMax)) + "...";
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Non-negative decimal seconds; 18 digits keeps clear of int64 overflow.
bool ParseTimestamp(std::string_view s, int64_t* out) {
  if (!AllDigits(s) || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  *out = v;
  return true;
}

Status CheckWindow(int64_t ts, int64_t now_unix) {
  if (ts < now_unix - kSignatureMaxSkewSeconds || ts > now_unix + kSignatureMaxSkewSeconds) {
    return Status(err::kAuthFailureSignatureExpire,
                  "Signature expired. Timestamp is " + std::to_string(ts) +
                      ", current server time is " + std::to_string(now_unix) +
                      "; the allowed difference is " + std::to_string(kSignatureMaxSkewSeconds) +
                      " seconds.");
  }
  return Status::Ok();
}

// UTC calendar date of a Unix time as YYYY-MM-DD (H. Hinnant's civil_from_days), without the
// struct tm / strftime round trip on every request.
std::array<char, 10> UtcDate(int64_t unix_seconds) {
  int64_t z = (unix_seconds >= 0 ? unix_seconds : unix_seconds - 86399) / 86400 + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  std::array<char, 10> out;
  int64_t yy = y % 10000;
  out[0] = static_cast<char>('0' + yy / 1000);
  out[1] = static_cast<char>('0' + yy / 100 % 10);
  out[2] = static_cast<char>('0' + yy / 10 % 10);
  out[3] = static_cast<char>('0' + yy % 10);
  out[4] = '-';
  out[5] = static_cast<char>('0' + m / 10);
  out[6] = static_cast<char>('0' + m % 10);
  out[7] = '-';
  out[8] = static_cast<char>('0' + d / 10);
  out[9] = static_cast<char>('0' + d % 10);
  return out;
}

// "host:port" -> "host" (nodejs signs URL.hostname but sends URL.host). Unchanged otherwise.
std::string_view StripPort(std::string_view host) {
  size_t colon = host.rfind(':');
  if (colon == std::string_view::npos || !AllDigits(host.substr(colon + 1))) return host;
  return host.substr(0, colon);
}

bool IsHeaderNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Derives kSigning = HMAC(HMAC(HMAC("TC3" + key, date), service), "tc3_request").
Sha256Digest Tc3SigningKey(std::string_view secret_key, std::string_view date,
                           std::string_view service) {
  // "TC3" + key on the stack for usual key sizes; Tencent keys are 32 characters.
  char prefixed[kHmacBlock + 1];
  std::string heap;
  std::string_view k1;
  if (secret_key.size() + 3 <= sizeof(prefixed)) {
    std::memcpy(prefixed, "TC3", 3);
    std::memcpy(prefixed + 3, secret_key.data(), secret_key.size());
    k1 = {prefixed, secret_key.size() + 3};
  } else {
    heap = "TC3";
    heap.append(secret_key);
    k1 = heap;
  }
  Sha256Digest a, b;
  Hmac(Sha256Md(), k1, date, a.data());
  Hmac(Sha256Md(), AsView(a.data(), a.size()), service, b.data());
  Hmac(Sha256Md(), AsView(b.data(), b.size()), kTc3Terminator, a.data());
  OPENSSL_cleanse(prefixed, sizeof(prefixed));
  OPENSSL_cleanse(b.data(), b.size());
  return a;
}

// The signing key changes only with the secret, the UTC date and the service, so each API thread
// keeps the last one it derived, ready to MAC with: three HMACs and two padded blocks saved on
// every request of a busy client.
const PreparedHmacSha256& CachedTc3SigningKey(std::string_view secret_key, std::string_view date,
                                              std::string_view service) {
  struct Entry {
    std::string secret_key, date, service;
    std::optional<PreparedHmacSha256> key;
  };
  thread_local Entry last;
  const bool same_secret =
      last.secret_key.size() == secret_key.size() &&
      CRYPTO_memcmp(last.secret_key.data(), secret_key.data(), secret_key.size()) == 0;
  if (!last.key || !same_secret || last.date != date || last.service != service) {
    OPENSSL_cleanse(last.secret_key.data(), last.secret_key.size());
    last.secret_key.assign(secret_key);
    last.date.assign(date);
    last.service.assign(service);
    Sha256Digest derived = Tc3SigningKey(secret_key, date, service);
    last.key.emplace(AsView(derived.data(), derived.size()));
    OPENSSL_cleanse(derived.data(), derived.size());
  }
  return *last.key;
}

// One header of the canonical request: name and (trimmed) value.
struct SignedHeader {
  std::string_view name;
  std::string_view value;
};

// Appends the canonical request's SHA-256 hex, given the host to sign and whether header values
// are lower-cased (Tencent's docs say so; the SDKs sign them verbatim).
void AppendCanonicalRequest(std::string_view method, std::string_view query,
                            const std::vector<SignedHeader>& headers, std::string_view host,
                            bool lower_values, std::string_view signed_headers,
                            std::string_view payload_hash, std::string& out) {
  out.append(method);
  out.append("\n/\n");
  out.append(query);
  out.push_back('\n');
  for (const SignedHeader& h : headers) {
    out.append(h.name);
    out.push_back(':');
    std::string_view v = h.name == "host" ? host : h.value;
    if (lower_values) {
      for (char c : v) out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c);
    } else {
      out.append(v);
    }
    out.push_back('\n');
  }
  out.push_back('\n');
  out.append(signed_headers);
  out.push_back('\n');
  out.append(payload_hash);
}

// Signature hex (64 chars) for the given canonical request.
void Tc3SignatureHex(const PreparedHmacSha256& signing_key, std::string_view timestamp,
                     std::string_view date, std::string_view service,
                     std::string_view canonical_request, std::string& scratch, char* hex_out) {
  scratch.clear();
  scratch.append(kTc3Algorithm);
  scratch.push_back('\n');
  scratch.append(timestamp);
  scratch.push_back('\n');
  scratch.append(date);
  scratch.push_back('/');
  scratch.append(service);
  scratch.push_back('/');
  scratch.append(kTc3Terminator);
  scratch.push_back('\n');
  AppendSha256Hex(canonical_request, scratch);
  unsigned char mac[kMaxDigest];
  signing_key.Mac(scratch, mac);
  HexInto(mac, 32, hex_out);
}

const std::string& EmptyPayloadHash() {
  static const std::string h = Sha256Hex("");
  return h;
}
const std::string& UnsignedPayloadHash() {
  static const std::string h = Sha256Hex(kUnsignedPayload);
  return h;
}

// v1 string to sign: METHOD host /? k1=v1&k2=v2 (sorted; std::map orders by unsigned bytes).
void AppendV1StringToSign(const std::map<std::string, std::string>& params, std::string_view method,
                          std::string_view host, std::string& out) {
  out.append(method);
  out.append(host);
  out.append("/?");
  bool first = true;
  for (const auto& [k, v] : params) {
    if (k == "Signature") continue;
    if (!first) out.push_back('&');
    first = false;
    out.append(k);
    out.push_back('=');
    out.append(v);
  }
}

std::string Base64(const unsigned char* p, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(len > 0 ? static_cast<size_t>(len) : 0);
  return out;
}

std::string V1Signature(std::string_view string_to_sign, std::string_view secret_key, bool sha256) {
  unsigned char mac[kMaxDigest];
  size_t n = Hmac(sha256 ? Sha256Md() : Sha1Md(), secret_key, string_to_sign, mac);
  return Base64(mac, n);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Sha256Digest Sha256(std::string_view data) {
  Sha256Digest d;
  Sha256Into(data, {}, d.data());
  return d;
}

std::string Sha256Hex(std::string_view data) {
  std::string out;
  out.reserve(64);
  AppendSha256Hex(data, out);
  return out;
}

Sha256Digest HmacSha256(std::string_view key, std::string_view data) {
  Sha256Digest d;
  Hmac(Sha256Md(), key, data, d.data());
  return d;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<Tc3Credential> ParseTc3Authorization(std::string_view authorization) {
  std::string_view s = Trim(authorization);
  if (s.substr(0, kTc3Algorithm.size()) != kTc3Algorithm || s.size() == kTc3Algorithm.size() ||
      !IsSpace(s[kTc3Algorithm.size()])) {
    return SignatureFailure("Authorization header must start with \"TC3-HMAC-SHA256 \"");
  }
  s.remove_prefix(kTc3Algorithm.size());

  std::string_view credential, signed_headers, signature;
  bool seen_credential = false, seen_signed = false, seen_signature = false;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view part = Trim(s.substr(0, comma));
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return SignatureFailure("Authorization part \"" + Echo(part) + "\" lacks '='");
    }
    std::string_view key = Trim(part.substr(0, eq));
    std::string_view value = Trim(part.substr(eq + 1));
    std::string_view* slot = nullptr;
    bool* seen = nullptr;
    if (key == "Credential") {
      slot = &credential;
      seen = &seen_credential;
    } else if (key == "SignedHeaders") {
      slot = &signed_headers;
      seen = &seen_signed;
    } else if (key == "Signature") {
      slot = &signature;
      seen = &seen_signature;
    } else {
      return SignatureFailure("Authorization has unknown part \"" + Echo(key) + "\"");
    }
    if (*seen) return SignatureFailure("Authorization repeats " + Echo(key));
    *seen = true;
    *slot = value;
  }
  if (!seen_credential) return SignatureFailure("Authorization lacks Credential");
  if (!seen_signed) return SignatureFailure("Authorization lacks SignedHeaders");
  if (!seen_signature) return SignatureFailure("Authorization lacks Signature");

  Tc3Credential out;
  // SecretId/YYYY-MM-DD/<service>/tc3_request; the service is everything in between, since a
  // nodejs endpoint string ends up there verbatim.
  constexpr std::string_view kSuffix = "/tc3_request";
  const bool has_suffix = credential.size() >= kSuffix.size() &&
                          credential.substr(credential.size() - kSuffix.size()) == kSuffix;
  std::string_view scope = credential.substr(0, credential.size() - kSuffix.size());
  size_t slash = scope.find('/');
  if (!has_suffix || slash == 0 || slash == std::string_view::npos) {
    return SignatureFailure("Credential must be <SecretId>/<YYYY-MM-DD>/<service>/tc3_request");
  }
  std::string_view rest = scope.substr(slash + 1);
  size_t slash2 = rest.find('/');
  std::string_view date = rest.substr(0, slash2);
  if (date.size() != 10 || date[4] != '-' || date[7] != '-' || !AllDigits(date.substr(0, 4)) ||
      !AllDigits(date.substr(5, 2)) || !AllDigits(date.substr(8, 2))) {
    return SignatureFailure("Credential date must be YYYY-MM-DD");
  }
  if (slash2 == std::string_view::npos || slash2 + 1 >= rest.size()) {
    return SignatureFailure("Credential lacks the service name");
  }
  out.secret_id = credential.substr(0, slash);
  out.date = date;
  out.service = rest.substr(slash2 + 1);

  if (signed_headers.empty()) return SignatureFailure("SignedHeaders is empty");
  for (std::string_view rem = signed_headers; !rem.empty();) {
    size_t semi = rem.find(';');
    std::string_view name = rem.substr(0, semi);
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsHeaderNameChar)) {
      return SignatureFailure("SignedHeaders must be lower-case header names joined by ';'");
    }
    rem = semi == std::string_view::npos ? std::string_view() : rem.substr(semi + 1);
    if (semi != std::string_view::npos && rem.empty()) {
      return SignatureFailure("SignedHeaders must be lower-case header names joined by ';'");
    }
  }
  out.signed_headers = signed_headers;

  if (signature.size() != 64 ||
      !std::all_of(signature.begin(), signature.end(), [](char c) { return HexValue(c) >= 0; })) {
    return SignatureFailure("Signature must be 64 hexadecimal digits");
  }
  for (size_t i = 0; i < out.signature.size(); ++i) {
    char c = signature[i];
    out.signature[i] = c >= 'A' && c <= 'F' ? static_cast<char>(c + 32) : c;
  }
  return out;
}

Status VerifyTc3(const HttpRequest& req, const Tc3Credential& cred, std::string_view secret_key,
                 int64_t now_unix) {
  static const std::string kTimestampHeader = "x-tc-timestamp";
  static const std::string kContentSha256Header = "x-tc-content-sha256";
  std::string_view timestamp = Trim(req.Header(kTimestampHeader));
  int64_t ts = 0;
  if (!ParseTimestamp(timestamp, &ts)) {
    return SignatureFailure("X-TC-Timestamp must be a Unix time in seconds");
  }
  CVM_RETURN_IF_ERROR(CheckWindow(ts, now_unix));
  std::array<char, 10> date = UtcDate(ts);
  std::string_view date_view(date.data(), date.size());
  if (cred.date != date_view) {
    return SignatureFailure("Credential date " + std::string(cred.date) + " is not the UTC date " +
                            std::string(date_view) + " of X-TC-Timestamp " +
                            std::string(timestamp));
  }

  // Collect the signed headers in the order listed (that order was signed). This and the
  // texts below are kept per thread, so a request allocates nothing to verify.
  thread_local std::vector<SignedHeader> headers;
  thread_local std::string canonical, scratch;
  headers.clear();
  bool has_host = false, has_content_type = false, any_upper = false;
  std::string_view host;
  for (std::string_view rem = cred.signed_headers; !rem.empty();) {
    size_t semi = rem.find(';');
    std::string_view name = rem.substr(0, semi);
    rem = semi == std::string_view::npos ? std::string_view() : rem.substr(semi + 1);
    for (const SignedHeader& h : headers) {
      if (h.name == name)
        return SignatureFailure("SignedHeaders lists " + std::string(name) + " twice");
    }
    auto it = req.headers.find(name);
    if (it == req.headers.end()) {
      return SignatureFailure("signed header " + std::string(name) + " is missing");
    }
    std::string_view value = Trim(it->second);
    any_upper = any_upper || std::any_of(value.begin(), value.end(),
                                         [](char c) { return c >= 'A' && c <= 'Z'; });
    if (name == "host") has_host = true, host = value;
    if (name == "content-type") has_content_type = true;
    headers.push_back({name, value});
  }
  if (!has_host || !has_content_type) {
    return SignatureFailure("SignedHeaders must include content-type and host");
  }

  const bool is_get = req.method == "GET";
  std::string_view query;
  if (is_get) {
    size_t q = req.target.find('?');
    if (q != std::string::npos) query = std::string_view(req.target).substr(q + 1);
  }
  char body_hash[64];
  std::string_view payload_hash;
  if (req.Header(kContentSha256Header) == kUnsignedPayload) {
    payload_hash = UnsignedPayloadHash();
  } else if (is_get) {
    payload_hash = EmptyPayloadHash();
  } else {
    unsigned char d[kMaxDigest];
    Sha256Into(req.body, {}, d);
    HexInto(d, 32, body_hash);
    payload_hash = {body_hash, sizeof(body_hash)};
  }

  const PreparedHmacSha256& signing_key = CachedTc3SigningKey(secret_key, cred.date, cred.service);
  const std::string_view hosts[2] = {host, StripPort(host)};
  char hex[64];
  bool matched = false;
  for (int hi = 0; hi < 2 && !matched; ++hi) {
    if (hi == 1 && hosts[1] == hosts[0]) break;
    for (int lower = 0; lower < (any_upper ? 2 : 1) && !matched; ++lower) {
      canonical.clear();
      AppendCanonicalRequest(req.method, query, headers, hosts[hi], lower == 1, cred.signed_headers,
                             payload_hash, canonical);
      Tc3SignatureHex(signing_key, timestamp, cred.date, cred.service, canonical, scratch, hex);
      matched =
          ConstantTimeEqual({hex, sizeof(hex)}, {cred.signature.data(), cred.signature.size()});
    }
  }
  if (!matched) return SignatureFailure(std::string(kMismatchMessage));
  return Status::Ok();
}

std::string SignTc3(std::string_view secret_id, std::string_view secret_key,
                    std::string_view service, std::string_view method, std::string_view host,
                    std::string_view query, std::string_view content_type, std::string_view body,
                    int64_t timestamp) {
  const bool is_get = method == "GET";
  std::string payload_hash = Sha256Hex(is_get ? std::string_view() : body);
  const std::vector<SignedHeader> headers = {{"content-type", content_type}, {"host", host}};
  std::string canonical, scratch;
  AppendCanonicalRequest(method, is_get ? query : std::string_view(), headers, host, false,
                         "content-type;host", payload_hash, canonical);
  std::array<char, 10> date = UtcDate(timestamp);
  std::string_view date_view(date.data(), date.size());
  std::string ts = std::to_string(timestamp);
  Sha256Digest derived = Tc3SigningKey(secret_key, date_view, service);
  const PreparedHmacSha256 signing_key(AsView(derived.data(), derived.size()));
  OPENSSL_cleanse(derived.data(), derived.size());
  char hex[64];
  Tc3SignatureHex(signing_key, ts, date_view, service, canonical, scratch, hex);

  std::string auth;
  auth.reserve(160 + secret_id.size() + service.size());
  auth.append(kTc3Algorithm);
  auth.append(" Credential=");
  auth.append(secret_id);
  auth.push_back('/');
  auth.append(date_view);
  auth.push_back('/');
  auth.append(service);
  auth.append("/tc3_request, SignedHeaders=content-type;host, Signature=");
  auth.append(hex, sizeof(hex));
  return auth;
}

Status VerifyV1(const std::map<std::string, std::string>& params, std::string_view method,
                std::string_view host, std::string_view secret_key, int64_t now_unix) {
  auto sig_it = params.find("Signature");
  if (sig_it == params.end() || sig_it->second.empty()) {
    return SignatureFailure("the Signature parameter is missing");
  }
  auto ts_it = params.find("Timestamp");
  int64_t ts = 0;
  if (ts_it == params.end() || !ParseTimestamp(ts_it->second, &ts)) {
    return SignatureFailure("the Timestamp parameter must be a Unix time in seconds");
  }
  CVM_RETURN_IF_ERROR(CheckWindow(ts, now_unix));
  bool sha256 = false;
  auto m_it = params.find("SignatureMethod");
  if (m_it != params.end() && !m_it->second.empty()) {
    if (m_it->second == "HmacSHA256") {
      sha256 = true;
    } else if (m_it->second != "HmacSHA1") {
      return SignatureFailure("SignatureMethod must be HmacSHA1 or HmacSHA256");
    }
  }
  // A hand-built client that forgets to percent-encode '+' makes the form decoder see a space.
  std::string provided = sig_it->second;
  std::replace(provided.begin(), provided.end(), ' ', '+');

  std::string to_sign;
  to_sign.reserve(512);
  const std::string_view hosts[2] = {host, StripPort(host)};
  for (int hi = 0; hi < 2; ++hi) {
    if (hi == 1 && hosts[1] == hosts[0]) break;
    to_sign.clear();
    AppendV1StringToSign(params, method, hosts[hi], to_sign);
    if (ConstantTimeEqual(V1Signature(to_sign, secret_key, sha256), provided)) {
      return Status::Ok();
    }
  }
  return SignatureFailure(std::string(kMismatchMessage));
}

std::string SignV1(const std::map<std::string, std::string>& params_without_signature,
                   std::string_view method, std::string_view host, std::string_view secret_key,
                   std::string_view signature_method) {
  std::string to_sign;
  AppendV1StringToSign(params_without_signature, method, host, to_sign);
  return V1Signature(to_sign, secret_key, signature_method == "HmacSHA256");
}

std::string UrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseFormEncoded(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!s.empty()) {
    size_t amp = s.find('&');
    std::string_view field = s.substr(0, amp);
    s = amp == std::string_view::npos ? std::string_view() : s.substr(amp + 1);
    if (field.empty()) continue;
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(UrlDecode(field), std::string());
    } else {
      out.emplace_back(UrlDecode(field.substr(0, eq)), UrlDecode(field.substr(eq + 1)));
    }
  }
  return out;
}

}  // namespace cvm::api
