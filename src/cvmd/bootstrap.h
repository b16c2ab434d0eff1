// First-start work: the admin root account, its key, and the client files that tccli and `cvm`
// read, so a fresh daemon is usable with no manual step.
#pragma once

#include <filesystem>
#include <string>

#include "config/config.h"
#include "iam/accounts.h"

namespace cvm {

struct ClientCredentials {
  std::string secret_id, secret_key, region, endpoint;  // endpoint: "host:port"
  bool https = false;
};

struct AdminKey {
  iam::AccessKey key;
  bool created = false;  // made by this call: the first initialisation
};

// The tccli profile cvmd writes (`tccli --profile opencvm ...`).
inline constexpr const char* kTccliProfile = "opencvm";

// Creates the admin account and key unless they exist; returns the admin's key either way.
Result<AdminKey> EnsureAdminAccount(iam::AccountStore& accounts);

// <data_dir>/admin-credentials.json: the admin's key, for the operator.
std::filesystem::path AdminCredentialsPath(const std::filesystem::path& data_dir);

// Writes AdminCredentialsPath (replaced), and each of ~/.config/opencvm/client.json and
// ~/.tccli/opencvm.{credential,configure} only when it does not exist yet (all mode 0600).
Status WriteClientFiles(const std::filesystem::path& data_dir, const ClientCredentials& creds);

}  // namespace cvm
