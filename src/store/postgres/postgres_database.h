// PostgreSQL backend (libpq): a pool of connections, statements prepared once per connection,
// and writers serialized across every process sharing the database by a transaction-scoped
// advisory lock, so the store's one-writer semantics hold for many cvmd processes.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "store/database.h"

namespace cvm::store {

// Connects to `url` (a libpq connection URI, postgresql://...) and applies pending migrations
// under an advisory lock, so several processes may start against one database at once.
Result<std::unique_ptr<Database>> OpenPostgresDatabase(const std::string& url);

// `sql` with its '?' and '?N' parameters numbered as PostgreSQL's $N (the numbers SQLite gives
// them), leaving quoted text and comments alone.
std::string NumberParameters(std::string_view sql);

}  // namespace cvm::store
