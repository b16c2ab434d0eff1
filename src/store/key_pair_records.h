// Key pairs as the store keeps them: regional, each name and each key once per account and
// region.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace cvm::store {

// The public key of key pair `key_id`; nullopt when there is no such key pair.
Result<std::optional<std::string>> PublicKeyOf(Database& db, const std::string& key_id);

struct KeyPairRecord {
  std::string key_id, owner_uin, region, name, description, public_key;
  int64_t created_at = 0;
};
Status InsertKeyPair(Transaction& tx, const KeyPairRecord& k);
// The key pair of the scope, or nullopt.
Result<std::optional<KeyPairRecord>> FindKeyPair(Transaction& tx, const Scope& scope,
                                                 const std::string& key_id);
// Every key pair of the scope, in creation order (then id).
Result<std::vector<KeyPairRecord>> ListKeyPairs(Database& db, const Scope& scope);
Result<std::vector<KeyPairRecord>> ListKeyPairs(Transaction& tx, const Scope& scope);
Result<bool> KeyPairNameTaken(Transaction& tx, const Scope& scope, const std::string& name);
Status UpdateKeyPair(Transaction& tx, const std::string& key_id, const std::string& name,
                     const std::string& description);
// False when the scope has no such key pair.
Result<bool> DeleteKeyPair(Transaction& tx, const Scope& scope, const std::string& key_id);

// A live instance of the scope that key pair `key_id` logs in to ('' when none).
Result<std::string> AnyInstanceWithKey(Transaction& tx, const Scope& scope,
                                       const std::string& key_id);
// The live instances of the scope that have key pairs, with them, in creation order.
struct InstanceKeys {
  std::string instance_id;
  std::vector<std::string> key_ids;
};
Result<std::vector<InstanceKeys>> InstancesWithKeys(Database& db, const Scope& scope);

}  // namespace cvm::store
