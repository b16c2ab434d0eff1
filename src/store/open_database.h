// Chooses the backend from a store URL.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "store/database.h"

namespace cvm::store {

// "sqlite:PATH" opens (creating) that SQLite file; "postgresql://..." or "postgres://..." a
// PostgreSQL database (any libpq URI, a multi-host one included). An empty URL means
// `default_sqlite`. Pending migrations are applied either way.
Result<std::unique_ptr<Database>> OpenDatabase(std::string_view url,
                                               const std::filesystem::path& default_sqlite);

}  // namespace cvm::store
