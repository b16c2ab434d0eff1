#include "store/account_records.h"

namespace cvm::store {
namespace {

constexpr const char* kAccountColumns = "uin, app_id, name, is_admin, created_at";

AccountRecord AccountFromRow(const Row& r) {
  return AccountRecord{r.Str(0), r.Int(1), r.Str(2), r.Int(3) != 0, r.Int(4)};
}

Result<std::optional<AccountRecord>> FindAccountWhere(Database& db, const char* column,
                                                      const std::string& value) {
  auto rows =
      db.Query(std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE " + column + " = ?",
               {value});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<AccountRecord>();
  return std::optional<AccountRecord>(AccountFromRow(rows->front()));
}

constexpr const char* kKeyColumns =
    "secret_id, owner_uin, user_uin, secret_enc, status, description, created_at";

AccessKeyRecord KeyFromRow(const Row& r) {
  return AccessKeyRecord{r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4), r.Str(5), r.Int(6)};
}

}  // namespace

Result<int64_t> CountAccounts(Transaction& tx) {
  auto rows = tx.Query("SELECT COUNT(*) FROM accounts");
  if (!rows.ok()) return rows.status();
  return rows->front().Int(0);
}

Result<bool> AccountNameTaken(Transaction& tx, const std::string& name) {
  auto rows = tx.Query("SELECT 1 FROM accounts WHERE name = ?", {name});
  if (!rows.ok()) return rows.status();
  return !rows->empty();
}

Status InsertAccount(Transaction& tx, const AccountRecord& a) {
  return tx.Exec(std::string("INSERT INTO accounts(") + kAccountColumns + ") VALUES (?,?,?,?,?)",
                 {a.uin, a.app_id, a.name, int64_t{a.is_admin ? 1 : 0}, a.created_at});
}

Result<std::optional<AccountRecord>> FindAccount(Database& db, const std::string& uin) {
  return FindAccountWhere(db, "uin", uin);
}

Result<std::optional<AccountRecord>> FindAccountByName(Database& db, const std::string& name) {
  return FindAccountWhere(db, "name", name);
}

Result<std::vector<AccountRecord>> ListAccounts(Database& db) {
  auto rows = db.Query(std::string("SELECT ") + kAccountColumns + " FROM accounts ORDER BY uin");
  if (!rows.ok()) return rows.status();
  std::vector<AccountRecord> out;
  for (const auto& r : *rows) out.push_back(AccountFromRow(r));
  return out;
}

Status InsertAccessKey(Transaction& tx, const AccessKeyRecord& k) {
  return tx.Exec(
      std::string("INSERT INTO access_keys(") + kKeyColumns + ") VALUES (?,?,?,?,?,?,?)",
      {k.secret_id, k.owner_uin, k.user_uin, k.secret_enc, k.status, k.description, k.created_at});
}

Result<std::optional<AccessKeyRecord>> FindAccessKey(Database& db, const std::string& secret_id) {
  auto rows = db.Query(
      std::string("SELECT ") + kKeyColumns + " FROM access_keys WHERE secret_id = ?", {secret_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<AccessKeyRecord>();
  return std::optional<AccessKeyRecord>(KeyFromRow(rows->front()));
}

Result<std::vector<AccessKeyRecord>> AccessKeysOf(Database& db, const std::string& user_uin) {
  auto rows = db.Query(std::string("SELECT ") + kKeyColumns +
                           " FROM access_keys WHERE user_uin = ? ORDER BY created_at, secret_id",
                       {user_uin});
  if (!rows.ok()) return rows.status();
  std::vector<AccessKeyRecord> out;
  for (const auto& r : *rows) out.push_back(KeyFromRow(r));
  return out;
}

Result<int64_t> CountAccessKeysOf(Transaction& tx, const std::string& user_uin) {
  auto rows = tx.Query("SELECT COUNT(*) FROM access_keys WHERE user_uin = ?", {user_uin});
  if (!rows.ok()) return rows.status();
  return rows->front().Int(0);
}

Status SetAccessKeyStatus(Transaction& tx, const std::string& secret_id,
                          const std::string& status) {
  return tx.Exec("UPDATE access_keys SET status = ? WHERE secret_id = ?", {status, secret_id});
}

Status DeleteAccessKey(Transaction& tx, const std::string& secret_id) {
  return tx.Exec("DELETE FROM access_keys WHERE secret_id = ?", {secret_id});
}

Status DeleteAccessKeysOf(Transaction& tx, const std::string& user_uin) {
  return tx.Exec("DELETE FROM access_keys WHERE user_uin = ?", {user_uin});
}

}  // namespace cvm::store
