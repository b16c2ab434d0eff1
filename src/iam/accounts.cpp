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

Account AccountFromRow(const store::Row& r) {
  return Account{r.Str(0), r.Int(1), r.Str(2), r.Int(3) != 0, r.Int(4)};
}

constexpr std::string_view kAccountColumns = "uin, app_id, name, is_admin, created_at";

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
    auto exists = tx.Query("SELECT 1 FROM accounts WHERE name = ?", {name});
    if (!exists.ok()) return exists.status();
    if (!exists->empty()) {
      return Status(err::kInvalidParameterValue, "account '" + name + "' already exists");
    }
    auto next = tx.Query("SELECT COUNT(*) FROM accounts", {});
    if (!next.ok()) return next.status();
    int64_t n = (*next)[0].Int(0);
    acct = Account{std::to_string(kFirstUin + n), kFirstAppId + n, name, is_admin, NowUnix()};
    return tx.Exec(
        "INSERT INTO accounts(uin, app_id, name, is_admin, created_at) VALUES (?,?,?,?,?)",
        {acct.uin, acct.app_id, acct.name, int64_t{is_admin ? 1 : 0}, acct.created_at});
  });
  if (!st.ok()) return st;
  return acct;
}

Result<AccessKey> AccountStore::CreateAccessKey(const std::string& owner_uin,
                                                const std::string& user_uin,
                                                const std::string& description) {
  AccessKey key{"AKID" + RandomAlnum(32), RandomAlnum(32), owner_uin, user_uin, "Active"};
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) {
    return tx.Exec(
        "INSERT INTO access_keys(secret_id, owner_uin, user_uin, secret_enc, status, created_at, "
        "description) VALUES (?,?,?,?,?,?,?)",
        {key.secret_id, owner_uin, user_uin, box_.Seal(key.secret_key), key.status, NowUnix(),
         description});
  });
  if (!st.ok()) return st;
  return key;
}

Result<Account> AccountStore::FindAccountByName(const std::string& name) {
  auto rows =
      db_.Query("SELECT " + std::string(kAccountColumns) + " FROM accounts WHERE name = ?", {name});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status(err::kResourceNotFound, "no account named '" + name + "'");
  return AccountFromRow(rows->front());
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
  auto rows =
      db_.Query("SELECT " + std::string(kAccountColumns) + " FROM accounts WHERE uin = ?", {uin});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status(err::kResourceNotFound, "no account " + uin);
  return mine.accounts.emplace(uin, AccountFromRow(rows->front())).first->second;
}

Result<std::vector<Account>> AccountStore::ListAccounts() {
  auto rows = db_.Query("SELECT " + std::string(kAccountColumns) + " FROM accounts ORDER BY uin");
  if (!rows.ok()) return rows.status();
  std::vector<Account> out;
  for (const auto& r : *rows) out.push_back(AccountFromRow(r));
  return out;
}

Result<std::vector<AccessKey>> AccountStore::ListKeys(const std::string& user_uin) {
  auto rows = db_.Query(
      "SELECT secret_id, secret_enc, owner_uin, user_uin, status FROM access_keys "
      "WHERE user_uin = ? ORDER BY created_at",
      {user_uin});
  if (!rows.ok()) return rows.status();
  std::vector<AccessKey> out;
  for (const auto& r : *rows) {
    auto secret = box_.Open(r.Str(1));
    if (!secret.ok()) return secret.status();
    out.push_back({r.Str(0), *secret, r.Str(2), r.Str(3), r.Str(4)});
  }
  return out;
}

Result<AccessKey> AccountStore::LookupActiveKey(std::string_view secret_id) {
  ThreadCache& mine = ThreadCacheNow();
  if (auto it = mine.keys.find(secret_id); it != mine.keys.end()) return it->second;
  auto rows = db_.Query(
      "SELECT secret_id, secret_enc, owner_uin, user_uin, status FROM access_keys "
      "WHERE secret_id = ?",
      {std::string(secret_id)});
  if (!rows.ok()) return rows.status();
  if (rows->empty() || rows->front().Str(4) != "Active") {
    return Status(err::kAuthFailureSecretIdNotFound,
                  "The SecretId is not found or is disabled; check that it is correct.");
  }
  const auto& r = rows->front();
  auto secret = box_.Open(r.Str(1));
  if (!secret.ok()) return secret.status();
  AccessKey key{r.Str(0), *secret, r.Str(2), r.Str(3), r.Str(4)};
  // Kept only if no key changed since this thread's copy was filled: a row read before a change
  // must not be cached after it.
  if (key_generation_.load(std::memory_order_acquire) == mine.generation) {
    mine.keys.emplace(secret_id, key);
  }
  return key;
}

void AccountStore::ForgetCachedKeys() { key_generation_.fetch_add(1, std::memory_order_release); }

namespace {

constexpr std::string_view kKeyInfoColumns =
    "secret_id, owner_uin, user_uin, status, description, created_at";

AccessKeyInfo KeyInfoFromRow(const store::Row& r) {
  return {r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4), r.Int(5)};
}

}  // namespace

Result<std::vector<AccessKeyInfo>> AccountStore::ListKeyInfo(const std::string& user_uin) {
  auto rows = db_.Query("SELECT " + std::string(kKeyInfoColumns) +
                            " FROM access_keys WHERE user_uin = ? ORDER BY created_at, secret_id",
                        {user_uin});
  if (!rows.ok()) return rows.status();
  std::vector<AccessKeyInfo> out;
  for (const auto& r : *rows) out.push_back(KeyInfoFromRow(r));
  return out;
}

Result<AccessKeyInfo> AccountStore::FindKeyInfo(const std::string& secret_id) {
  auto rows =
      db_.Query("SELECT " + std::string(kKeyInfoColumns) + " FROM access_keys WHERE secret_id = ?",
                {secret_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return Status(err::kCamSecretNotExist, "The access key " + secret_id + " does not exist.");
  }
  return KeyInfoFromRow(rows->front());
}

Status AccountStore::SetKeyStatus(const std::string& secret_id, const std::string& status) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) {
    return tx.Exec("UPDATE access_keys SET status = ? WHERE secret_id = ?", {status, secret_id});
  });
  ForgetCachedKeys();
  return st;
}

Status AccountStore::DeleteKey(const std::string& secret_id) {
  Status st = store::WithTransaction(db_, [&](store::Transaction& tx) {
    return tx.Exec("DELETE FROM access_keys WHERE secret_id = ?", {secret_id});
  });
  ForgetCachedKeys();
  return st;
}

Status AccountStore::DeleteUserKeys(store::Transaction& tx, const std::string& user_uin) {
  return tx.Exec("DELETE FROM access_keys WHERE user_uin = ?", {user_uin});
}

}  // namespace cvm::iam
