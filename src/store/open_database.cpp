#include "store/open_database.h"

#include "common/error_codes.h"
#include "store/postgres/postgres_database.h"
#include "store/sqlite/sqlite_database.h"

namespace cvm::store {

Result<std::unique_ptr<Database>> OpenDatabase(std::string_view url,
                                               const std::filesystem::path& default_sqlite) {
  if (url.empty()) return OpenSqliteDatabase(default_sqlite);
  if (url.starts_with("sqlite:")) {
    std::string_view path = url.substr(7);
    if (path.empty()) return Status(err::kInvalidParameter, "store URL sqlite: names no file");
    return OpenSqliteDatabase(std::filesystem::path(path));
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return OpenPostgresDatabase(std::string(url));
  }
  return Status(err::kInvalidParameter, "store URL must start with sqlite: or postgresql:// (got " +
                                            std::string(url.substr(0, url.find(':'))) + ")");
}

}  // namespace cvm::store
