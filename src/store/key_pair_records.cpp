#include "store/key_pair_records.h"

#include <nlohmann/json.hpp>

namespace cvm::store {

Result<std::optional<std::string>> PublicKeyOf(Database& db, const std::string& key_id) {
  auto rows = db.Query("SELECT public_key FROM key_pairs WHERE key_id = ?", {key_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows->front().Str(0));
}

namespace {
constexpr const char* kKeyColumns =
    "key_id, owner_uin, region, name, description, public_key, created_at";

KeyPairRecord KeyPairFromRow(const Row& r) {
  return KeyPairRecord{r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4), r.Str(5), r.Int(6)};
}

template <typename Src>
Result<std::vector<KeyPairRecord>> ListOf(Src& src, const Scope& scope) {
  auto rows = src.Query(std::string("SELECT ") + kKeyColumns +
                            " FROM key_pairs WHERE owner_uin = ? AND region = ? "
                            "ORDER BY created_at, key_id",
                        {scope.owner_uin, scope.region});
  if (!rows.ok()) return rows.status();
  std::vector<KeyPairRecord> out;
  for (const auto& r : *rows) out.push_back(KeyPairFromRow(r));
  return out;
}
}  // namespace

Status InsertKeyPair(Transaction& tx, const KeyPairRecord& k) {
  return tx.Exec(
      std::string("INSERT INTO key_pairs(") + kKeyColumns + ") VALUES (?,?,?,?,?,?,?)",
      {k.key_id, k.owner_uin, k.region, k.name, k.description, k.public_key, k.created_at});
}

Result<std::optional<KeyPairRecord>> FindKeyPair(Transaction& tx, const Scope& scope,
                                                 const std::string& key_id) {
  auto rows = tx.Query(std::string("SELECT ") + kKeyColumns +
                           " FROM key_pairs WHERE key_id = ? AND owner_uin = ? AND region = ?",
                       {key_id, scope.owner_uin, scope.region});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<KeyPairRecord>();
  return std::optional(KeyPairFromRow(rows->front()));
}

Result<std::vector<KeyPairRecord>> ListKeyPairs(Database& db, const Scope& scope) {
  return ListOf(db, scope);
}
Result<std::vector<KeyPairRecord>> ListKeyPairs(Transaction& tx, const Scope& scope) {
  return ListOf(tx, scope);
}

Result<bool> KeyPairNameTaken(Transaction& tx, const Scope& scope, const std::string& name) {
  auto rows = tx.Query("SELECT 1 FROM key_pairs WHERE owner_uin = ? AND region = ? AND name = ?",
                       {scope.owner_uin, scope.region, name});
  if (!rows.ok()) return rows.status();
  return !rows->empty();
}

Status UpdateKeyPair(Transaction& tx, const std::string& key_id, const std::string& name,
                     const std::string& description) {
  return tx.Exec("UPDATE key_pairs SET name = ?, description = ? WHERE key_id = ?",
                 {name, description, key_id});
}

Result<bool> DeleteKeyPair(Transaction& tx, const Scope& scope, const std::string& key_id) {
  CVM_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM key_pairs WHERE key_id = ? AND owner_uin = ? AND region = ?",
              {key_id, scope.owner_uin, scope.region}));
  return tx.ChangedRows() > 0;
}

Result<std::string> AnyInstanceWithKey(Transaction& tx, const Scope& scope,
                                       const std::string& key_id) {
  // key_ids is a JSON array of well-formed ids (no LIKE wildcard can occur in one), so the
  // quoted id matches exactly one element.
  auto rows = tx.Query(
      "SELECT instance_id FROM instances WHERE owner_uin = ? AND region = ? AND "
      "deleted = 0 AND key_ids LIKE ? LIMIT 1",
      {scope.owner_uin, scope.region, "%\"" + key_id + "\"%"});
  if (!rows.ok()) return rows.status();
  return rows->empty() ? std::string() : rows->front().Str(0);
}

Result<std::vector<InstanceKeys>> InstancesWithKeys(Database& db, const Scope& scope) {
  auto rows = db.Query(
      "SELECT key_ids, instance_id FROM instances "
      "WHERE owner_uin = ? AND region = ? AND deleted = 0 AND key_ids != '[]' "
      "ORDER BY created_at, instance_id",
      {scope.owner_uin, scope.region});
  if (!rows.ok()) return rows.status();
  std::vector<InstanceKeys> out;
  for (const auto& r : *rows) {
    auto keys = nlohmann::json::parse(r.Str(0), nullptr, false);
    if (!keys.is_array()) continue;
    InstanceKeys item{r.Str(1), {}};
    for (const auto& k : keys) {
      if (k.is_string()) item.key_ids.push_back(k.get<std::string>());
    }
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace cvm::store
