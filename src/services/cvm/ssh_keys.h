// OpenSSH keys in-process: key pair generation with OpenSSL (no private key ever touches a
// file) and validation of public key lines (RFC 4253 / 5656 / 8709 wire blobs).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace cvm::services {

struct SshKeyPair {
  std::string public_key;   // "ssh-ed25519 AAAA... comment"
  std::string private_key;  // "-----BEGIN OPENSSH PRIVATE KEY-----..." (unencrypted)
};

// `type` is "ed25519" or "rsa" (3072 bits).
Result<SshKeyPair> GenerateSshKeyPair(std::string_view type, std::string_view comment);

// A public key line as in authorized_keys but without options: "TYPE BASE64 [COMMENT]".
// Returns the line normalized to single spaces, or InvalidPublicKey.Malformed when the
// type is unknown, the blob does not decode or does not match its type, or the comment holds
// control characters. `blob_out` (optional) receives "TYPE BASE64" for duplicate checks.
Result<std::string> NormalizePublicKey(std::string_view line, std::string* blob_out = nullptr);

}  // namespace cvm::services
