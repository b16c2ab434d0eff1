// Encrypts secrets at rest (access-key secrets) under a master key file readable only by the
// daemon's user. AES-256-GCM; each sealed value carries its own random nonce.
#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"

namespace cvm::iam {

class SecretBox {
 public:
  // Reads the 32-byte key at `path`, creating it (mode 0600) on first use.
  static Result<SecretBox> LoadOrCreate(const std::filesystem::path& path);
  explicit SecretBox(std::string key) : key_(std::move(key)) {}

  std::string Seal(std::string_view plaintext) const;  // base64(nonce | ciphertext | tag)
  Result<std::string> Open(std::string_view sealed) const;

 private:
  std::string key_;
};

}  // namespace cvm::iam
