#include "store/migrations.h"

namespace cvm::store {

const std::vector<Migration>& AllMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "accounts and access keys", R"sql(
CREATE TABLE accounts (
  uin          TEXT PRIMARY KEY,     -- root account id (Tencent Uin, decimal digits)
  app_id       INTEGER NOT NULL UNIQUE,
  name         TEXT NOT NULL UNIQUE,
  is_admin     INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL
);
CREATE TABLE access_keys (
  secret_id    TEXT PRIMARY KEY,
  owner_uin    TEXT NOT NULL REFERENCES accounts(uin),  -- root account the key acts for
  user_uin     TEXT NOT NULL,                           -- the identity (root or sub-user)
  secret_enc   TEXT NOT NULL,                           -- AES-256-GCM under the master key
  status       TEXT NOT NULL DEFAULT 'Active',
  created_at   INTEGER NOT NULL
);
CREATE INDEX access_keys_by_user ON access_keys(user_uin);
)sql"},
  };
  return kMigrations;
}

}  // namespace cvm::store
