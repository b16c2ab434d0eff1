// Root accounts and their access keys as the store keeps them. The key's secret is stored
// sealed; sealing and opening it is the caller's (iam::AccountStore).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace cvm::store {

struct AccountRecord {
  std::string uin;  // root account id, decimal digits
  int64_t app_id = 0;
  std::string name;
  bool is_admin = false;
  int64_t created_at = 0;
};

struct AccessKeyRecord {
  std::string secret_id;
  std::string owner_uin;   // the root account whose resources the key acts on
  std::string user_uin;    // the identity: the root account itself or a sub-user
  std::string secret_enc;  // the secret, sealed under the master key
  std::string status;      // Active | Inactive
  std::string description;
  int64_t created_at = 0;
};

Result<int64_t> CountAccounts(Transaction& tx);
Result<bool> AccountNameTaken(Transaction& tx, const std::string& name);
Status InsertAccount(Transaction& tx, const AccountRecord& a);
Result<std::optional<AccountRecord>> FindAccount(Database& db, const std::string& uin);
Result<std::optional<AccountRecord>> FindAccountByName(Database& db, const std::string& name);
// Ordered by uin.
Result<std::vector<AccountRecord>> ListAccounts(Database& db);

Status InsertAccessKey(Transaction& tx, const AccessKeyRecord& k);
Result<std::optional<AccessKeyRecord>> FindAccessKey(Database& db, const std::string& secret_id);
// The keys of one identity, oldest first.
Result<std::vector<AccessKeyRecord>> AccessKeysOf(Database& db, const std::string& user_uin);
Result<int64_t> CountAccessKeysOf(Transaction& tx, const std::string& user_uin);
Status SetAccessKeyStatus(Transaction& tx, const std::string& secret_id, const std::string& status);
Status DeleteAccessKey(Transaction& tx, const std::string& secret_id);
Status DeleteAccessKeysOf(Transaction& tx, const std::string& user_uin);

}  // namespace cvm::store
