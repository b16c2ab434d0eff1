// The audit log's packed storage: queries across stored rows answer exactly what one row per
// record would (newest first, filters, time range, paging, totals), and records stored by the
// one-row-per-record schema survive the migration.
#include "iam/audit_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_database.h"
#include "test_files.h"

namespace cvm::iam {
namespace {

AuditRecord Make(int i, const std::string& owner) {
  AuditRecord r;
  r.time_ms = 1'000'000 + i * 10;
  r.request_id = "req-" + std::to_string(i);
  r.owner_uin = owner;
  r.caller_uin = i % 3 == 0 ? "sub" : owner;
  r.secret_id = "AKID" + std::to_string(i % 5);
  r.service = "cvm";
  r.action = i % 4 == 0 ? "RunInstances" : "DescribeZones";
  r.region = "ap-guangzhou";
  if (i % 7 == 0) r.resources = {"ins-" + std::to_string(i), "disk-\"q\""};
  r.source_ip = "127.0.0.1";
  r.result_code = i % 11 == 0 ? "AuthFailure.SignatureFailure" : "";
  return r;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::OpenSqliteDatabase(dir_.path() / "test.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    audit_ = std::make_unique<AuditLog>(*db_);
  }

  // What one row per record, read newest first with SQL filters, would answer.
  std::pair<int64_t, std::vector<std::string>> Expected(const AuditQuery& q) const {
    std::vector<std::string> ids;
    int64_t total = 0;
    for (auto it = all_.rbegin(); it != all_.rend(); ++it) {
      if (it->owner_uin != q.owner_uin || it->time_ms < q.start_ms || it->time_ms > q.end_ms)
        continue;
      if (!q.action.empty() && it->action != q.action) continue;
      if (!q.caller_uin.empty() && it->caller_uin != q.caller_uin) continue;
      if (static_cast<size_t>(total) >= q.offset && ids.size() < q.limit) {
        ids.push_back(it->request_id);
      }
      ++total;
    }
    return {total, ids};
  }

  void ExpectSameAnswer(const AuditQuery& q) {
    auto found = audit_->Find(q);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    std::vector<std::string> ids;
    for (const auto& r : found->second) ids.push_back(r.request_id);
    auto [total, expected] = Expected(q);
    EXPECT_EQ(found->first, total) << "offset " << q.offset << " action " << q.action;
    EXPECT_EQ(ids, expected) << "offset " << q.offset << " action " << q.action;
  }

  testutil::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<AuditLog> audit_;
  std::vector<AuditRecord> all_;  // in the order recorded
};

TEST_F(AuditLogTest, QueriesAcrossStoredRowsMatchOneRowPerRecord) {
  // 2600 records of two accounts interleaved, stored in three flushes: several rows per account,
  // some of the full row size.
  for (int i = 0; i < 2600; ++i) {
    all_.push_back(Make(i, i % 5 == 0 ? "200000000002" : "200000000001"));
    audit_->Record(all_.back());
    if (i == 99 || i == 2399) {
      ASSERT_TRUE(audit_->Flush().ok());
    }
  }
  AuditQuery q;
  q.visible = Visibility::Everything();
  q.owner_uin = "200000000001";
  for (size_t offset : {0, 19, 20, 1000, 1023, 1024, 1900, 2079, 2080, 5000}) {
    q.offset = offset;
    ExpectSameAnswer(q);
  }
  q.offset = 0;
  q.limit = 200;
  q.start_ms = Make(1500, "").time_ms;
  q.end_ms = Make(2100, "").time_ms;
  ExpectSameAnswer(q);
  q.offset = 150;
  ExpectSameAnswer(q);
  q.action = "RunInstances";
  ExpectSameAnswer(q);
  q.action.clear();
  q.caller_uin = "sub";
  q.start_ms = 0;
  q.end_ms = std::numeric_limits<int64_t>::max();
  ExpectSameAnswer(q);
  q.owner_uin = "200000000002";
  ExpectSameAnswer(q);

  // Every field comes back as recorded.
  AuditQuery one;
  one.visible = Visibility::Everything();
  one.owner_uin = "200000000001";
  one.start_ms = one.end_ms = Make(7, "").time_ms;
  auto found = audit_->Find(one);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->second.size(), 1u);
  const AuditRecord& r = found->second[0];
  const AuditRecord& want = all_[7];
  EXPECT_EQ(r.request_id, want.request_id);
  EXPECT_EQ(r.owner_uin, want.owner_uin);
  EXPECT_EQ(r.caller_uin, want.caller_uin);
  EXPECT_EQ(r.secret_id, want.secret_id);
  EXPECT_EQ(r.service, want.service);
  EXPECT_EQ(r.action, want.action);
  EXPECT_EQ(r.region, want.region);
  EXPECT_EQ(r.resources, want.resources);
  EXPECT_EQ(r.source_ip, want.source_ip);
  EXPECT_EQ(r.result_code, want.result_code);
}

TEST_F(AuditLogTest, RecordsFromManyThreadsComeBackInTimeOrder) {
  // Request threads queue into separate shards; the writer merges them by time, so queries page
  // through one account's calls newest first whichever threads served them. 4 x 700 records:
  // more than two stored rows of one flush.
  constexpr int kThreads = 4, kEach = 700;
  for (int i = 0; i < kThreads * kEach; ++i) {
    all_.push_back(Make(i, i % 9 == 0 ? "200000000002" : "200000000001"));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kThreads * kEach; i += kThreads) audit_->Record(all_[i]);
    });
  }
  for (auto& t : threads) t.join();
  AuditQuery q;
  q.visible = Visibility::Everything();
  q.owner_uin = "200000000001";
  for (size_t offset : {0, 1000, 1020, 1024, 2040, 2480, 3000}) {
    q.offset = offset;
    q.limit = 30;
    ExpectSameAnswer(q);
  }
  q.owner_uin = "200000000002";
  q.offset = 0;
  q.limit = 400;
  ExpectSameAnswer(q);
  auto rows = db_->Query("SELECT record_count FROM audit_batches ORDER BY id");
  ASSERT_TRUE(rows.ok());
  int64_t stored = 0;
  for (const auto& r : *rows) {
    EXPECT_LE(r.Int(0), 1024);
    stored += r.Int(0);
  }
  EXPECT_EQ(stored, kThreads * kEach);
}

TEST_F(AuditLogTest, AFailedStoreLosesNothing) {
  auto move_table = [&](const char* from, const char* to) {
    return store::WithTransaction(*db_, [&](store::Transaction& tx) {
      return tx.Exec(std::string("ALTER TABLE ") + from + " RENAME TO " + to, {});
    });
  };
  for (int i = 0; i < 300; ++i) {
    all_.push_back(Make(i, "200000000001"));
    audit_->Record(all_.back());
  }
  ASSERT_TRUE(move_table("audit_batches", "audit_batches_away").ok());
  EXPECT_FALSE(audit_->Flush().ok());
  for (int i = 300; i < 400; ++i) {  // while the failed rows wait
    all_.push_back(Make(i, "200000000001"));
    audit_->Record(all_.back());
  }
  ASSERT_TRUE(move_table("audit_batches_away", "audit_batches").ok());
  ASSERT_TRUE(audit_->Flush().ok());
  AuditQuery q;
  q.visible = Visibility::Everything();
  q.owner_uin = "200000000001";
  q.limit = 50;
  for (size_t offset : {0, 90, 100, 350, 399}) {
    q.offset = offset;
    ExpectSameAnswer(q);
  }
}

TEST(AuditLogMigration, RecordsStoredOneRowEachSurviveTheMigration) {
  testutil::TempDir dir;
  {
    auto db = store::OpenSqliteDatabase(dir.path() / "test.db");
    ASSERT_TRUE(db.ok());
    // Back to the schema before migration 9, with two records in it.
    Status st = store::WithTransaction(**db, [](store::Transaction& tx) -> Status {
      CVM_RETURN_IF_ERROR(tx.Exec("DROP TABLE audit_batches"));
      CVM_RETURN_IF_ERROR(tx.Exec(
          "CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, "
          "request_id TEXT NOT NULL, owner_uin TEXT NOT NULL, caller_uin TEXT NOT NULL, "
          "secret_id TEXT NOT NULL, service TEXT NOT NULL, action TEXT NOT NULL, region TEXT "
          "NOT NULL, resources TEXT NOT NULL, source_ip TEXT NOT NULL, result_code TEXT NOT "
          "NULL)"));
      CVM_RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO audit_log(time_ms, request_id, owner_uin, caller_uin, secret_id, service, "
          "action, region, resources, source_ip, result_code) VALUES "
          "(5000, 'old-1', '200000000001', '300000000001', 'AKIDa', 'cvm', 'RunInstances', "
          "'ap-guangzhou', '[\"ins-aaaaaaaa\"]', '10.0.0.1', ''), "
          "(6000, 'old-2', '200000000001', '200000000001', 'AKIDb', 'cam', 'AddUser', '', '[]', "
          "'10.0.0.2', 'InvalidParameter')"));
      return tx.Exec("DELETE FROM schema_migrations WHERE version = 9");
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto db = store::OpenSqliteDatabase(dir.path() / "test.db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_FALSE((*db)->Query("SELECT 1 FROM audit_log").ok());
  AuditLog audit(**db);
  AuditQuery q;
  q.visible = Visibility::Everything();
  q.owner_uin = "200000000001";
  auto found = audit.Find(q);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->first, 2);
  EXPECT_EQ(found->second[0].request_id, "old-2");
  EXPECT_EQ(found->second[0].result_code, "InvalidParameter");
  EXPECT_EQ(found->second[1].request_id, "old-1");
  EXPECT_EQ(found->second[1].caller_uin, "300000000001");
  EXPECT_EQ(found->second[1].resources, std::vector<std::string>{"ins-aaaaaaaa"});
  EXPECT_EQ(found->second[1].time_ms, 5000);
}

}  // namespace
}  // namespace cvm::iam
