// Root accounts (tenants) and their access keys. Key lookups sit on every request's path, so
// decrypted keys are cached in memory and invalidated when a key changes.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "iam/secret_box.h"
#include "store/account_records.h"
#include "store/database.h"

namespace cvm::iam {

using Account = store::AccountRecord;

struct AccessKey {
  std::string secret_id;
  std::string secret_key;
  std::string owner_uin;  // the root account whose resources the key acts on
  std::string user_uin;   // the identity: the root account itself or a sub-user
  std::string status;     // Active | Inactive
};

// A key as CAM lists it: everything but the secret.
struct AccessKeyInfo {
  std::string secret_id;
  std::string owner_uin;
  std::string user_uin;
  std::string status;
  std::string description;
  int64_t created_at = 0;
};

// SecretIds look like Tencent's: "AKID" followed by letters and digits.
bool IsWellFormedSecretId(std::string_view secret_id);

class AccountStore {
 public:
  AccountStore(store::Database& db, SecretBox box);

  Result<Account> CreateRootAccount(const std::string& name, bool is_admin);
  Result<AccessKey> CreateAccessKey(const std::string& owner_uin, const std::string& user_uin,
                                    const std::string& description = "");
  Result<Account> FindAccountByName(const std::string& name);
  Result<Account> FindAccount(const std::string& uin);
  Result<std::vector<Account>> ListAccounts();
  Result<std::vector<AccessKey>> ListKeys(const std::string& user_uin);

  // AuthFailure.SecretIdNotFound when the key does not exist or is not Active.
  Result<AccessKey> LookupActiveKey(std::string_view secret_id);
  // Drops every thread's cached keys: call after a key changed in the store (committed).
  void ForgetCachedKeys();

  // Key administration for CAM; every change drops the key from the cache at once, so an
  // Inactive or deleted key fails its next request.
  Result<std::vector<AccessKeyInfo>> ListKeyInfo(const std::string& user_uin);
  Result<AccessKeyInfo> FindKeyInfo(const std::string& secret_id);
  Status SetKeyStatus(const std::string& secret_id, const std::string& status);
  Status DeleteKey(const std::string& secret_id);
  // Removes every key of `user_uin` inside the caller's transaction; call ForgetCachedKeys
  // after it commits.
  static Status DeleteUserKeys(store::Transaction& tx, const std::string& user_uin);

 private:
  struct ThreadCache;
  // This thread's cached keys and accounts, emptied when a key has changed since they were read.
  ThreadCache& ThreadCacheNow();

  store::Database& db_;
  SecretBox box_;
  // Tells apart the thread caches of two stores (tests open several in one process).
  const uint64_t instance_;
  // Moved by every forget; a thread's cache filled under an older one is dropped.
  std::atomic<uint64_t> key_generation_{0};
};

}  // namespace cvm::iam
