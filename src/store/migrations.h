// Versioned schema migrations, applied in order at start. Never edit a released migration:
// append a new one.
#pragma once

#include <string_view>
#include <vector>

namespace cvm::store {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;  // portable SQL; several statements separated by ';'
};

const std::vector<Migration>& AllMigrations();

}  // namespace cvm::store
