// Migration versions are claimed by parallel work and can land out of order: a database that
// already has a higher version must still get a lower one that it lacks.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_database.h"

namespace cvm::store {
namespace {

namespace fs = std::filesystem;

TEST(MigrationGaps, AMissingLowerVersionIsAppliedBelowAHigherOne) {
  std::string t = "/tmp/cvm-migr-XXXXXX";
  fs::path dir = ::mkdtemp(t.data());
  {
    auto db = OpenSqliteDatabase(dir / "cvmd.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    // Pretend version 2 arrived after the higher versions were applied: forget it.
    Status st = WithTransaction(**db, [](Transaction& tx) -> Status {
      for (const char* table : {"operations", "key_pairs", "disks", "instances", "images"}) {
        CVM_RETURN_IF_ERROR(tx.Exec(std::string("DROP TABLE ") + table));
      }
      return tx.Exec("DELETE FROM schema_migrations WHERE version = 2");
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto db = OpenSqliteDatabase(dir / "cvmd.db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto rows = (*db)->Query("SELECT COUNT(*) FROM schema_migrations WHERE version = 2");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].Int(0), 1);
  EXPECT_TRUE((*db)->Query("SELECT instance_id FROM instances").ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cvm::store
