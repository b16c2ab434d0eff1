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

// Creates the admin account and key unless they exist; returns the admin's key either way.
Result<iam::AccessKey> EnsureAdminAccount(iam::AccountStore& accounts);

// Writes <data_dir>/admin-credentials.json, ~/.tccli/default.{credential,configure} and
// ~/.config/opencvm/client.json (all mode 0600).
Status WriteClientFiles(const std::filesystem::path& data_dir, const ClientCredentials& creds);

}  // namespace cvm
