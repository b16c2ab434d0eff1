// A migrated SQLite store in a temporary directory with one open transaction: for tests of code
// that runs inside its caller's transaction (store/network_records, the CVM network half).
#pragma once

#include <memory>

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_database.h"
#include "test_files.h"

namespace cvm::testutil {

class StoreTransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::OpenSqliteDatabase(dir_.path() / "test.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok()) << tx.status().ToString();
    tx_ = std::move(*tx);
  }

  // Declared first, destroyed last: the directory goes after the database is closed.
  TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::Transaction> tx_;
};

}  // namespace cvm::testutil
