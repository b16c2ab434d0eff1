#include "iam/accounts.h"

#include <algorithm>

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"

namespace cvm::iam {
namespace {

// Uins and AppIds are allocated from fixed bases so they have Tencent's shapes (12 and 10
// digits) and stay unique and ordered.
constexpr int64_t kFirstUin = 100000000001;
constexpr int64_t kFirstAppId = 1250000001;

AccessKeyInfo KeyInfo(const store::AccessKeyRecord& k) {
  return {k.secret_id, k.owner_uin, k.user_uin, k.status, k.description, k.created_at};
}

}  // namespace

bool IsWellFormedSecretId(std::string_view id) {
  if (id.size() < 12 || id.size() > 64 || id.substr(0, 4) != "AKID") return false;
  // ASCII letters and digits (std::isalnum would also ask the locale, on every request).
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

Result<Account> AccountStore::CreateRootAccount(const std::string& name, bool is_admin) {
  if (name.empty() || name.size() > 64) {
    return Status(err::kInvalidParameterValue, "account name must be 1 to 64 characters");
  }
  Account acct;
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    auto exists = store::AccountNameTaken(tx, name);
    if (!exists.ok()) return exists.status();
    if (*exists) {
      return Status(err::kInvalidParameterValue, "account '" + name + "' already exists");
    }
    auto n = store::CountAccounts(tx);
    if (!n.ok()) return n.status();
    acct = Account{std::to_string(kFirstUin + *n), kFirstAppId + *n, name, is_admin, NowUnix()};
    return store::InsertAccount(tx, acct);
  });
  if (!st.ok()) return st;
  return acct;
}

Result<AccessKey> AccountStore::CreateAccessKey(const std::string& owner_uin,
                                                const std::string& user_uin,
                                                const std::string& description) {
  AccessKey key{"AKID" + RandomAlnum(32), RandomAlnum(32), owner_uin, user_uin, "Active"};
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) {
    return store::InsertAccessKey(
        tx, {key.secret_id, owner_uin, user_uin, box_.Seal(key.secret_key), key.status, description,
             NowUnix()});
  });
  if (!st.ok()) return st;
  return key;
}

Result<Account> AccountStore::FindAccountByName(const std::string& name) {
  auto found = store::FindAccountByName(db_, name);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return Status(err::kResourceNotFound, "no account named '" + name + "'");
  return **found;
}

// Lookups are answered from a copy per thread (cvmd serves on one thread per core): a hit
// writes nothing the other core reads (a shared cache's lock, written by both cores on every
// request, cost more than the lookup). A miss reads the store; `key_generation_` is only read
// here, and moves only when a key changes.
struct AccountStore::ThreadCache {
  // Found by the request's string_view, without making a string of it.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  uint64_t instance = 0;
  uint64_t generation = 0;
  std::unordered_map<std::string, AccessKey, Hash, std::equal_to<>> keys;
  std::unordered_map<std::string, Account, Hash, std::equal_to<>> accounts;
};

namespace {
std::atomic<uint64_t> next_instance{1};
}  // namespace

AccountStore::AccountStore(store::Database& db, SecretBox box)
    : db_(db), box_(std::move(box)), instance_(next_instance.fetch_add(1)) {}

AccountStore::ThreadCache& AccountStore::ThreadCacheNow() {
  thread_local ThreadCache cache;  // of the store this thread used last
  const uint64_t generation = key_generation_.load(std::memory_order_acquire);
  if (cache.instance != instance_ || cache.generation != generation) {
    cache.keys.clear();
    cache.accounts.clear();
    cache.instance = instance_;
    cache.generation = generation;
  }
  return cache;
}

Result<Account> AccountStore::FindAccount(const std::string& uin) {
  // Every request looks up its account; root accounts never change once created.
  ThreadCache& mine = ThreadCacheNow();
  if (auto it = mine.accounts.find(uin); it != mine.accounts.end()) return it->second;
  auto found = store::FindAccount(db_, uin);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return Status(err::kResourceNotFound, "no account " + uin);
  return mine.accounts.emplace(uin, **found).first->second;
}

Result<std::vector<Account>> AccountStore::ListAccounts() { return store::ListAccounts(db_); }

Result<std::vector<AccessKey>> AccountStore::ListKeys(const std::string& user_uin) {
  auto keys = store::AccessKeysOf(db_, user_uin);
  if (!keys.ok()) return keys.status();
  std::vector<AccessKey> out;
  for (const auto& k : *keys) {
    auto secret = box_.Open(k.secret_enc);
    if (!secret.ok()) return secret.status();
    out.push_back({k.secret_id, *secret, k.owner_uin, k.user_uin, k.status});
  }
  return out;
}

Result<AccessKey> AccountStore::LookupActiveKey(std::string_view secret_id) {
  ThreadCache& mine = ThreadCacheNow();
  if (auto it = mine.keys.find(secret_id); it != mine.keys.end()) return it->second;
  auto found = store::FindAccessKey(db_, std::string(secret_id));
  if (!found.ok()) return found.status();
  if (!found->has_value() || (*found)->status != "Active") {
    return Status(err::kAuthFailureSecretIdNotFound,
                  "The SecretId is not found or is disabled; check that it is correct.");
  }
  const store::AccessKeyRecord& k = **found;
  auto secret = box_.Open(k.secret_enc);
  if (!secret.ok()) return secret.status();
  AccessKey key{k.secret_id, *secret, k.owner_uin, k.user_uin, k.status};
  // Kept only if no key changed since this thread's copy was filled: a row read before a change
  // must not be cached after it.
  if (key_generation_.load(std::memory_order_acquire) == mine.generation) {
    mine.keys.emplace(secret_id, key);
  }
  return key;
}

void AccountStore::ForgetCachedKeys() { key_generation_.fetch_add(1, std::memory_order_release); }

Result<std::vector<AccessKeyInfo>> AccountStore::ListKeyInfo(const std::string& user_uin) {
  auto keys = store::AccessKeysOf(db_, user_uin);
  if (!keys.ok()) return keys.status();
  std::vector<AccessKeyInfo> out;
  for (const auto& k : *keys) out.push_back(KeyInfo(k));
  return out;
}

Result<AccessKeyInfo> AccountStore::FindKeyInfo(const std::string& secret_id) {
  auto found = store::FindAccessKey(db_, secret_id);
  if (!found.ok()) return found.status();
  if (!found->has_value()) {
    return Status(err::kCamSecretNotExist, "The access key " + secret_id + " does not exist.");
  }
  return KeyInfo(**found);
}

Status AccountStore::SetKeyStatus(const std::string& secret_id, const std::string& status) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) {
    return store::SetAccessKeyStatus(tx, secret_id, status);
  });
  ForgetCachedKeys();
  return st;
}

Status AccountStore::DeleteKey(const std::string& secret_id) {
  Status st = store::WithTransaction(
      db_, [&](store::Transaction& tx) { return store::DeleteAccessKey(tx, secret_id); });
  ForgetCachedKeys();
  return st;
}

Status AccountStore::DeleteUserKeys(store::Transaction& tx, const std::string& user_uin) {
  return store::DeleteAccessKeysOf(tx, user_uin);
}

}  // namespace cvm::iam
