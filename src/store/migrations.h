// Versioned schema migrations, applied in order at start. Never edit a released migration:
// append a new one, with its SQLite and its PostgreSQL text.
#pragma once

#include <string_view>
#include <vector>

namespace cvm::store {

// Each migration is written for both backends. PostgreSQL support began at version 16, so a new
// PostgreSQL database starts from one baseline script equal to the SQLite schema after version
// 16; every later migration carries both texts.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;       // SQLite; several statements separated by ';'
  std::string_view postgres;  // PostgreSQL; empty only for versions the baseline covers
};

const std::vector<Migration>& AllMigrations();

inline constexpr int kPostgresBaselineVersion = 16;

// The PostgreSQL schema at kPostgresBaselineVersion. Differences from SQLite's: BIGINT for
// INTEGER, identity columns for AUTOINCREMENT, the instance counters' trigger in PL/pgSQL, and
// an explicit `rowid` identity column on the tables listed in insertion order (SQLite has it
// implicitly), so `ORDER BY created_at, rowid` means the same on both.
std::string_view PostgresBaseline();

}  // namespace cvm::store
