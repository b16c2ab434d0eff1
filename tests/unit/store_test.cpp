// The SQLite store on a real database file in a temp dir: migrations, transactions, value
// round trips, and readers running beside a writer.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/error_codes.h"
#include "store/database.h"
#include "store/migrations.h"
#include "store/sqlite/sqlite_database.h"

namespace cvm::store {
namespace {

using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string t = "/tmp/cvm-store-XXXXXX";
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = OpenSqliteDatabase(path());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(Exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v)").ok());
  }

  std::filesystem::path path() const { return dir_.path() / "test.db"; }

  Status Exec(std::string_view sql, const std::vector<Value>& params = {}) {
    return WithTransaction(*db_, [&](Transaction& tx) { return tx.Exec(sql, params); });
  }

  int64_t CountKeys() {
    auto rows = db_->Query("SELECT COUNT(*) FROM kv");
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? (*rows)[0].Int(0) : -1;
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(StoreTest, BackendIsSqlite) { EXPECT_EQ(db_->BackendName(), "sqlite"); }

TEST_F(StoreTest, AppliesEveryMigrationOnce) {
  const auto& all = AllMigrations();
  ASSERT_FALSE(all.empty());
  auto rows = db_->Query("SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ((*rows)[i].Int(0), all[i].version);
  // The first migration's tables exist and are usable.
  EXPECT_TRUE(db_->Query("SELECT uin, app_id, name FROM accounts").ok());
  EXPECT_TRUE(db_->Query("SELECT secret_id, secret_enc FROM access_keys").ok());
}

TEST_F(StoreTest, AMigrationBelowTheHighestAppliedStillRuns) {
  // As when a branch's lower version is merged after a higher one was applied: the newest
  // migration is recorded, an older one is not.
  const auto& all = AllMigrations();
  ASSERT_GE(all.size(), 2u);
  const Migration& older = all[all.size() - 2];
  ASSERT_TRUE(
      Exec("DELETE FROM schema_migrations WHERE version = ?", {int64_t{older.version}}).ok());
  // Reopening must run `older` again (here it fails, its tables exist already), where a
  // "skip everything up to the highest version" rule would skip it silently.
  db_.reset();
  auto reopened = OpenSqliteDatabase(path());
  EXPECT_FALSE(reopened.ok());
  if (!reopened.ok()) {
    EXPECT_NE(reopened.status().message().find("migration " + std::to_string(older.version)),
              std::string::npos)
        << reopened.status().ToString();
  }
}

TEST_F(StoreTest, MigrationVersionsAreStrictlyIncreasing) {
  const auto& all = AllMigrations();
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].version, all[i - 1].version);
}

TEST_F(StoreTest, ReopenKeepsDataAndDoesNotReapplyMigrations) {
  ASSERT_TRUE(Exec("INSERT INTO kv(k, v) VALUES (?, ?)", {std::string("a"), int64_t{1}}).ok());
  auto before = db_->Query("SELECT version, applied_at FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(before.ok());
  db_.reset();

  // Re-running a CREATE TABLE migration would fail, so a clean reopen proves it was skipped.
  auto reopened = OpenSqliteDatabase(path());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  db_ = std::move(*reopened);
  auto after = db_->Query("SELECT version, applied_at FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), before->size());
  for (size_t i = 0; i < after->size(); ++i) {
    EXPECT_EQ((*after)[i].Int(0), (*before)[i].Int(0));
    EXPECT_EQ((*after)[i].Int(1), (*before)[i].Int(1));
  }
  EXPECT_EQ(CountKeys(), 1);
}

TEST_F(StoreTest, CommittedTransactionIsVisible) {
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO kv(k, v) VALUES ('a', 1)").ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  EXPECT_EQ(CountKeys(), 1);
  // The writer was released with the transaction: a later one commits too.
  ASSERT_TRUE(Exec("INSERT INTO kv(k, v) VALUES ('b', 2)").ok());
  EXPECT_EQ(CountKeys(), 2);
}

TEST_F(StoreTest, TransactionDestroyedWithoutCommitRollsBack) {
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO kv(k, v) VALUES ('a', 1)").ok());
    // Inside the transaction the write is visible...
    auto inside = (*tx)->Query("SELECT COUNT(*) FROM kv");
    ASSERT_TRUE(inside.ok());
    EXPECT_EQ((*inside)[0].Int(0), 1);
  }
  // ...and gone once the transaction is dropped.
  EXPECT_EQ(CountKeys(), 0);
  // The writer is free again: a later transaction commits normally.
  ASSERT_TRUE(Exec("INSERT INTO kv(k, v) VALUES ('b', 2)").ok());
  EXPECT_EQ(CountKeys(), 1);
}

TEST_F(StoreTest, WithTransactionRollsBackWhenTheFunctionFails) {
  Status st = WithTransaction(*db_, [](Transaction& tx) -> Status {
    Status ins = tx.Exec("INSERT INTO kv(k, v) VALUES ('a', 1)");
    if (!ins.ok()) return ins;
    return Status(err::kInvalidParameterValue, "changed my mind");
  });
  EXPECT_EQ(st.code(), err::kInvalidParameterValue);
  EXPECT_EQ(CountKeys(), 0);
}

TEST_F(StoreTest, FailedStatementReportsInternalErrorAndLeavesTransactionUsable) {
  auto tx = db_->Begin();
  ASSERT_TRUE(tx.ok());
  Status bad = (*tx)->Exec("INSERT INTO no_such_table VALUES (1)");
  EXPECT_EQ(bad.code(), err::kInternalError);
  EXPECT_NE(bad.message().find("no_such_table"), std::string::npos) << bad.message();
  ASSERT_TRUE((*tx)->Exec("INSERT INTO kv(k, v) VALUES ('a', 1)").ok());
  ASSERT_TRUE((*tx)->Commit().ok());
  EXPECT_EQ(CountKeys(), 1);
  EXPECT_EQ(db_->Query("SELEC nonsense").status().code(), err::kInternalError);
}

TEST_F(StoreTest, ConstraintViolationIsAnError) {
  ASSERT_TRUE(Exec("INSERT INTO kv(k, v) VALUES ('a', 1)").ok());
  EXPECT_FALSE(Exec("INSERT INTO kv(k, v) VALUES ('a', 2)").ok());
  auto rows = db_->Query("SELECT v FROM kv WHERE k = 'a'");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].Int(0), 1);
}

TEST_F(StoreTest, ChangedRowsCountsTheLastStatement) {
  ASSERT_TRUE(Exec("INSERT INTO kv(k, v) VALUES ('a', 1), ('b', 1), ('c', 2)").ok());
  auto tx = db_->Begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE((*tx)->Exec("UPDATE kv SET v = 3 WHERE v = ?", {int64_t{1}}).ok());
  EXPECT_EQ((*tx)->ChangedRows(), 2);
  ASSERT_TRUE((*tx)->Exec("UPDATE kv SET v = 4 WHERE v = ?", {int64_t{99}}).ok());
  EXPECT_EQ((*tx)->ChangedRows(), 0);
}

TEST_F(StoreTest, ValuesRoundTrip) {
  const std::string non_ascii = "Zoë · 广州三区 · 🚀";
  const std::string with_nul("a\0b\0", 4);
  const std::vector<std::pair<std::string, Value>> cases = {
      {"null", nullptr},
      {"zero", int64_t{0}},
      {"max", std::numeric_limits<int64_t>::max()},
      {"min", std::numeric_limits<int64_t>::min()},
      {"double", 3.25},
      {"negative double", -1e-300},
      {"empty", std::string()},
      {"non-ascii", non_ascii},
      {"nul", with_nul},
      {"quote", std::string("it's \"quoted\"; DROP TABLE kv; --")},
  };
  for (const auto& [k, v] : cases) {
    ASSERT_TRUE(Exec("INSERT INTO kv(k, v) VALUES (?, ?)", {k, v}).ok()) << k;
  }
  for (const auto& [k, v] : cases) {
    auto rows = db_->Query("SELECT v FROM kv WHERE k = ?", {k});
    ASSERT_TRUE(rows.ok()) << k;
    ASSERT_EQ(rows->size(), 1u) << k;
    EXPECT_EQ((*rows)[0].columns.at(0), v) << k;
  }
  // Reading a value as another type is a bug in the query, and says so.
  auto rows = db_->Query("SELECT v FROM kv WHERE k = ?", {std::string("double")});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].Real(0), 3.25);
  EXPECT_THROW((*rows)[0].Int(0), std::logic_error);
  EXPECT_THROW((*rows)[0].Str(0), std::logic_error);
  EXPECT_FALSE((*rows)[0].IsNull(0));
  rows = db_->Query("SELECT v FROM kv WHERE k = ?", {std::string("null")});
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE((*rows)[0].IsNull(0));
  EXPECT_EQ((*rows)[0].Int(0), 0);
  // Text compares byte for byte in a WHERE clause too.
  rows = db_->Query("SELECT k FROM kv WHERE v = ?", {non_ascii});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Str(0), "non-ascii");
}

TEST_F(StoreTest, RepeatedStatementsBindFreshParameters) {
  // Statements are cached per connection; each use must see its own parameters.
  for (int64_t i = 0; i < 50; ++i) {
    ASSERT_TRUE(Exec("INSERT INTO kv(k, v) VALUES (?, ?)", {std::to_string(i), i * i}).ok());
  }
  for (int64_t i = 0; i < 50; ++i) {
    auto rows = db_->Query("SELECT v FROM kv WHERE k = ?", {std::to_string(i)});
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0].Int(0), i * i);
  }
}

TEST_F(StoreTest, ReadersSeeTheLastCommitWhileAWriterHoldsATransaction) {
  ASSERT_TRUE(Exec("INSERT INTO kv(k, v) VALUES ('committed', 1)").ok());
  auto tx = db_->Begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE((*tx)->Exec("INSERT INTO kv(k, v) VALUES ('pending', 2)").ok());
  ASSERT_TRUE((*tx)->Exec("UPDATE kv SET v = 10 WHERE k = 'committed'").ok());

  // Several readers at once, on their own threads, while the write is open: none blocks and
  // none sees the uncommitted change.
  constexpr int kReaders = 4, kQueriesEach = 50;
  std::vector<std::future<std::string>> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.push_back(std::async(std::launch::async, [this]() -> std::string {
      for (int i = 0; i < kQueriesEach; ++i) {
        auto rows = db_->Query("SELECT k, v FROM kv ORDER BY k");
        if (!rows.ok()) return rows.status().ToString();
        if (rows->size() != 1 || (*rows)[0].Str(0) != "committed" || (*rows)[0].Int(1) != 1) {
          return "saw uncommitted state";
        }
      }
      return "";
    }));
  }
  for (auto& f : readers) {
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << "a reader blocked on the writer";
    EXPECT_EQ(f.get(), "");
  }

  ASSERT_TRUE((*tx)->Commit().ok());
  EXPECT_EQ(CountKeys(), 2);
  auto rows = db_->Query("SELECT v FROM kv WHERE k = 'committed'");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].Int(0), 10);
}

TEST_F(StoreTest, WritersAreSerialized) {
  auto first = db_->Begin();
  ASSERT_TRUE(first.ok());
  std::atomic<bool> second_began{false};
  auto second = std::async(std::launch::async, [&] {
    Status st = WithTransaction(*db_, [&](Transaction& tx) {
      second_began = true;
      // Reads inside the second writer see what the first committed.
      auto rows = tx.Query("SELECT COUNT(*) FROM kv");
      if (!rows.ok()) return rows.status();
      return tx.Exec("INSERT INTO kv(k, v) VALUES ('second', ?)", {(*rows)[0].Int(0)});
    });
    return st;
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(second_began) << "a second writer started while the first was open";
  ASSERT_TRUE((*first)->Exec("INSERT INTO kv(k, v) VALUES ('first', 0)").ok());
  ASSERT_TRUE((*first)->Commit().ok());
  // A committed transaction keeps the writer until it is destroyed.
  first->reset();
  ASSERT_EQ(second.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(second.get().ok());
  auto rows = db_->Query("SELECT v FROM kv WHERE k = 'second'");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Int(0), 1);
}

TEST_F(StoreTest, ConcurrentReadersAndWritersAllSucceed) {
  constexpr int kWrites = 100;
  std::atomic<bool> done{false};
  std::atomic<int> reader_errors{0}, reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      int64_t last = 0;
      while (!done) {
        auto rows = db_->Query("SELECT COUNT(*) FROM kv");
        // Counts never go backwards: each read sees a committed prefix.
        if (!rows.ok() || (*rows)[0].Int(0) < last) ++reader_errors;
        if (rows.ok()) last = (*rows)[0].Int(0);
        ++reads;
      }
    });
  }
  // Writes start once readers are reading, so a busy machine cannot run them all first.
  while (reads == 0) std::this_thread::yield();
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_TRUE(Exec("INSERT INTO kv(k, v) VALUES (?, ?)", {std::to_string(i), int64_t{i}}).ok());
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(reader_errors, 0);
  EXPECT_GT(reads, 0);
  EXPECT_EQ(CountKeys(), kWrites);
}

TEST(StoreOpenTest, UnwritableLocationFails) {
  auto db = OpenSqliteDatabase("/nonexistent-dir-for-cvm-test/sub/test.db");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), err::kInternalError);
}

}  // namespace
}  // namespace cvm::store
