#include "services/cvm/ssh_keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <optional>

#include "common/base64.h"
#include "common/error_codes.h"

namespace cvm::services {
namespace {

Status Malformed(const std::string& why) {
  return Status(err::kInvalidPublicKeyMalformed, "PublicKey is not an OpenSSH public key: " + why);
}

// SSH wire format (RFC 4251 5).
void PutU32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
void PutString(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}
void PutMpint(std::string& out, const BIGNUM* bn) {
  std::string b(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(b.data()));
  if (!b.empty() && (static_cast<unsigned char>(b[0]) & 0x80)) b.insert(b.begin(), '\0');
  PutString(out, b);
  OPENSSL_cleanse(b.data(), b.size());
}

std::optional<std::string> Unbase64(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c == '=') {
      if (i + 2 < s.size()) return std::nullopt;
      ++pad;
    } else if (pad || !(alnum || c == '+' || c == '/')) {
      return std::nullopt;
    }
  }
  std::string out(s.size() / 4 * 3, '\0');
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  std::optional<std::string_view> String() {
    if (b_.size() < 4) return std::nullopt;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(b_[i]);
    if (b_.size() - 4 < n) return std::nullopt;
    std::string_view s = b_.substr(4, n);
    b_.remove_prefix(4 + n);
    return s;
  }
  bool AtEnd() const { return b_.empty(); }

 private:
  std::string_view b_;
};

// Bits of a positive mpint, 0 when it is not one.
size_t MpintBits(std::string_view m) {
  if (m.empty() || (static_cast<unsigned char>(m[0]) & 0x80)) return 0;
  while (!m.empty() && m[0] == '\0') m.remove_prefix(1);
  if (m.empty()) return 0;
  size_t bits = (m.size() - 1) * 8;
  for (auto c = static_cast<unsigned char>(m[0]); c; c >>= 1) ++bits;
  return bits;
}

Status CheckBlob(std::string_view type, std::string_view blob) {
  Reader r(blob);
  auto t = r.String();
  if (!t || *t != type) return Malformed("the key data does not match its type");
  auto ecdsa_point = [&](std::string_view curve, size_t len) -> Status {
    auto c = r.String();
    auto q = r.String();
    if (!c || *c != curve || !q || q->size() != len || (*q)[0] != '\x04') {
      return Malformed("bad ECDSA public point");
    }
    return Status::Ok();
  };
  if (type == "ssh-ed25519" || type == "sk-ssh-ed25519@openssh.com") {
    auto pk = r.String();
    if (!pk || pk->size() != 32) return Malformed("an Ed25519 key has 32 bytes");
  } else if (type == "ssh-rsa") {
    auto e = r.String();
    auto n = r.String();
    if (!e || !n || MpintBits(*e) == 0) return Malformed("bad RSA key");
    if (MpintBits(*n) < 2048) return Malformed("RSA keys need at least 2048 bits");
  } else if (type == "ecdsa-sha2-nistp256" || type == "sk-ecdsa-sha2-nistp256@openssh.com") {
    CVM_RETURN_IF_ERROR(ecdsa_point("nistp256", 65));
  } else if (type == "ecdsa-sha2-nistp384") {
    CVM_RETURN_IF_ERROR(ecdsa_point("nistp384", 97));
  } else if (type == "ecdsa-sha2-nistp521") {
    CVM_RETURN_IF_ERROR(ecdsa_point("nistp521", 133));
  } else {
    return Malformed("unsupported key type");
  }
  if (type.rfind("sk-", 0) == 0 && !r.String()) return Malformed("missing application");
  if (!r.AtEnd()) return Malformed("trailing bytes in the key data");
  return Status::Ok();
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

Result<BnPtr> BnParam(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) {
    return Status(err::kInternalError, std::string("RSA key lacks ") + name);
  }
  return BnPtr(bn);
}

// The unencrypted "openssh-key-v1" container (OpenSSH PROTOCOL.key).
std::string OpenSshPrivateKey(std::string_view public_blob, std::string private_fields,
                              std::string_view comment) {
  uint32_t check = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&check), sizeof check);
  std::string block;
  PutU32(block, check);
  PutU32(block, check);
  block += private_fields;
  OPENSSL_cleanse(private_fields.data(), private_fields.size());
  PutString(block, comment);
  for (char pad = 1; block.size() % 8 != 0; ++pad) block += pad;
  std::string all("openssh-key-v1", 15);  // with its NUL
  PutString(all, "none");
  PutString(all, "none");
  PutString(all, "");
  PutU32(all, 1);
  PutString(all, public_blob);
  PutString(all, block);
  OPENSSL_cleanse(block.data(), block.size());
  std::string b64 = Base64Encode(all);
  OPENSSL_cleanse(all.data(), all.size());
  std::string pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
  for (size_t i = 0; i < b64.size(); i += 70) pem += b64.substr(i, 70) + "\n";
  pem += "-----END OPENSSH PRIVATE KEY-----\n";
  OPENSSL_cleanse(b64.data(), b64.size());
  return pem;
}

}  // namespace

Result<SshKeyPair> GenerateSshKeyPair(std::string_view type, std::string_view comment) {
  std::unique_ptr<EVP_PKEY, PkeyFree> key;
  if (type == "ed25519") {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  } else if (type == "rsa") {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072}));
  } else {
    return Status(err::kInvalidParameterValue, "unknown key type " + std::string(type));
  }
  if (!key) return Status(err::kInternalError, "OpenSSL could not generate a key");

  std::string pub_blob, priv;
  const std::string ssh_type = type == "ed25519" ? "ssh-ed25519" : "ssh-rsa";
  PutString(pub_blob, ssh_type);
  PutString(priv, ssh_type);
  if (type == "ed25519") {
    unsigned char pk[32], sk[32];
    size_t pk_len = sizeof pk, sk_len = sizeof sk;
    if (EVP_PKEY_get_raw_public_key(key.get(), pk, &pk_len) != 1 ||
        EVP_PKEY_get_raw_private_key(key.get(), sk, &sk_len) != 1 || pk_len != 32 || sk_len != 32) {
      return Status(err::kInternalError, "cannot read the Ed25519 key");
    }
    std::string_view pkv(reinterpret_cast<char*>(pk), 32);
    PutString(pub_blob, pkv);
    PutString(priv, pkv);
    std::string secret(reinterpret_cast<char*>(sk), 32);
    secret.append(pkv);  // OpenSSH keeps seed || public key
    PutString(priv, secret);
    OPENSSL_cleanse(secret.data(), secret.size());
    OPENSSL_cleanse(sk, sizeof sk);
  } else {
    auto n = BnParam(key.get(), OSSL_PKEY_PARAM_RSA_N);
    auto e = BnParam(key.get(), OSSL_PKEY_PARAM_RSA_E);
    auto d = BnParam(key.get(), OSSL_PKEY_PARAM_RSA_D);
    auto p = BnParam(key.get(), OSSL_PKEY_PARAM_RSA_FACTOR1);
    auto q = BnParam(key.get(), OSSL_PKEY_PARAM_RSA_FACTOR2);
    auto iqmp = BnParam(key.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
    for (auto* r : {&n, &e, &d, &p, &q, &iqmp}) {
      if (!r->ok()) return r->status();
    }
    PutMpint(pub_blob, e->get());
    PutMpint(pub_blob, n->get());
    PutMpint(priv, n->get());
    PutMpint(priv, e->get());
    PutMpint(priv, d->get());
    PutMpint(priv, iqmp->get());
    PutMpint(priv, p->get());
    PutMpint(priv, q->get());
  }
  SshKeyPair out;
  out.public_key = ssh_type + " " + Base64Encode(pub_blob);
  if (!comment.empty()) out.public_key += " " + std::string(comment);
  out.private_key = OpenSshPrivateKey(pub_blob, std::move(priv), comment);
  return out;
}

Result<std::string> NormalizePublicKey(std::string_view line, std::string* blob_out) {
  if (line.size() > 16384) return Malformed("longer than 16 KiB");
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  auto next = [&](std::string_view& s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    size_t end = 0;
    while (end < s.size() && !is_space(s[end])) ++end;
    std::string_view tok = s.substr(0, end);
    s.remove_prefix(end);
    return tok;
  };
  std::string_view rest = line;
  while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r' || is_space(rest.back()))) {
    rest.remove_suffix(1);
  }
  for (unsigned char c : rest) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return Malformed("more than one line, or control characters");
    }
  }
  std::string_view type = next(rest);
  std::string_view b64 = next(rest);
  while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
  std::string_view comment = rest;
  if (type.empty() || b64.empty()) return Malformed("expected \"TYPE BASE64 [COMMENT]\"");
  auto blob = Unbase64(b64);
  if (!blob) return Malformed("the key data is not base64");
  CVM_RETURN_IF_ERROR(CheckBlob(type, *blob));
  std::string key = std::string(type) + " " + std::string(b64);
  if (blob_out) *blob_out = key;
  if (!comment.empty()) key += " " + std::string(comment);
  return key;
}

}  // namespace cvm::services
