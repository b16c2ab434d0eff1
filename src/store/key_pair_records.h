// What the engine reads of key pairs.
#pragma once

#include <optional>
#include <string>

#include "store/database.h"

namespace cvm::store {

// The public key of key pair `key_id`; nullopt when there is no such key pair.
Result<std::optional<std::string>> PublicKeyOf(Database& db, const std::string& key_id);

}  // namespace cvm::store
