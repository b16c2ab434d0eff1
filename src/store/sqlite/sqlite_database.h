// SQLite backend: WAL mode, one serialized writer connection and a pool of reader connections,
// prepared statements cached per connection.
#pragma once

#include <filesystem>
#include <memory>

#include "store/database.h"

namespace cvm::store {

// Opens (creating if needed) the database and applies pending migrations.
Result<std::unique_ptr<Database>> OpenSqliteDatabase(const std::filesystem::path& path);

}  // namespace cvm::store
