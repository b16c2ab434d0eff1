// The store's contract on both backends: the same migrations and schema, typed values, commit
// and rollback, and writers serialized across processes. The PostgreSQL cases run when
// CVM_TEST_PG names the socket directory of a throw-away cluster (scripts/test starts one);
// without it they are skipped, and scripts/test runs them again with it.
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "api/console_tokens.h"
#include "common/error_codes.h"
#include "store/database.h"
#include "store/migrations.h"
#include "store/network_records.h"
#include "store/open_database.h"
#include "store/postgres/postgres_database.h"
#include "store/tag_records.h"
#include "test_files.h"

namespace cvm::store {
namespace {

using namespace std::chrono_literals;

const char* PgSocketDir() { return std::getenv("CVM_TEST_PG"); }

// Runs `sql` on the cluster's maintenance database (to create and drop test databases).
void PgAdmin(const std::string& sql) {
  std::string url = std::string("postgresql:///postgres?host=") + PgSocketDir() + "&user=postgres";
  PGconn* c = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PGresult* r = PQexec(c, sql.c_str());
  EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
}

// A fresh, empty store of the backend under test: a SQLite file, or a new PostgreSQL database.
class StoreBackends : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      if (!PgSocketDir()) GTEST_SKIP() << "CVM_TEST_PG is not set";
      static std::atomic<int> n{0};
      db_name_ = "cvm_unit_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
      PgAdmin("CREATE DATABASE " + db_name_);
      url_ = "postgresql:///" + db_name_ + "?host=" + PgSocketDir() + "&user=postgres";
    } else {
      url_ = "sqlite:" + (dir_.path() / "test.db").string();
    }
    auto db = OpenDatabase(url_, {});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(
        Exec("CREATE TABLE kv (k TEXT PRIMARY KEY, n BIGINT, r DOUBLE PRECISION, t TEXT)").ok());
  }
  void TearDown() override {
    db_.reset();
    if (!db_name_.empty()) PgAdmin("DROP DATABASE IF EXISTS " + db_name_ + " WITH (FORCE)");
  }

  Result<std::unique_ptr<Database>> OpenAnother() { return OpenDatabase(url_, {}); }

  Status Exec(std::string_view sql, const std::vector<Value>& params = {}) {
    return WithTransaction(*db_, [&](Transaction& tx) { return tx.Exec(sql, params); });
  }

  int64_t Count(const std::string& table) {
    auto rows = db_->Query("SELECT COUNT(*) FROM " + table);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? (*rows)[0].Int(0) : -1;
  }

  testutil::TempDir dir_;
  std::string url_, db_name_;
  std::unique_ptr<Database> db_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreBackends, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST_P(StoreBackends, RecordsEveryMigration) {
  EXPECT_EQ(db_->BackendName(), GetParam());
  auto rows = db_->Query("SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), AllMigrations().size());
  for (size_t i = 0; i < rows->size(); ++i) {
    EXPECT_EQ((*rows)[i].Int(0), AllMigrations()[i].version);
  }
  // A second open applies nothing again (re-running a CREATE TABLE would fail).
  auto again = OpenAnother();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
}

TEST_P(StoreBackends, EveryMigrationAfterTheBaselineHasBothTexts) {
  for (const Migration& m : AllMigrations()) {
    if (m.version > kPostgresBaselineVersion) {
      EXPECT_FALSE(m.postgres.empty()) << "migration " << m.version;
    }
  }
}

TEST_P(StoreBackends, TypedValuesRoundTrip) {
  const std::string text = "Zoë · 广州三区 · it's \"quoted\"; --";
  ASSERT_TRUE(Exec("INSERT INTO kv(k, n, r, t) VALUES (?, ?, ?, ?)",
                   {std::string("a"), int64_t{1} << 40, 2.5, text})
                  .ok());
  ASSERT_TRUE(Exec("INSERT INTO kv(k, n, r, t) VALUES ('b', NULL, NULL, NULL)").ok());
  auto rows = db_->Query(
      "SELECT n, r, t, n > 5, COUNT(*) OVER (), SUM(n) OVER () FROM kv "
      "WHERE k = ?",
      {std::string("a")});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  const Row& r = rows->front();
  EXPECT_EQ(r.Int(0), int64_t{1} << 40);
  EXPECT_EQ(r.Real(1), 2.5);
  EXPECT_EQ(r.Str(2), text);
  EXPECT_EQ(r.Int(3), 1);  // a comparison reads as 0 or 1 on both (PostgreSQL: boolean)
  EXPECT_EQ(r.Int(4), 1);
  EXPECT_EQ(r.Int(5), int64_t{1} << 40);  // PostgreSQL sums BIGINT as NUMERIC
  // The wrong accessor is a bug and says so, instead of reading 0 or "".
  EXPECT_THROW(r.Str(0), std::logic_error);
  EXPECT_THROW(r.Int(2), std::logic_error);
  auto nulls = db_->Query("SELECT n, r, t FROM kv WHERE k = 'b'");
  ASSERT_TRUE(nulls.ok());
  EXPECT_TRUE(nulls->front().IsNull(0));
  EXPECT_EQ(nulls->front().Int(0), 0);
  EXPECT_EQ(nulls->front().Str(2), "");
}

TEST_P(StoreBackends, NumberedAndRepeatedParameters) {
  ASSERT_TRUE(Exec("INSERT INTO kv(k, n) VALUES (?1, ?2), (?1 || '-copy', ?2 + 1)",
                   {std::string("x"), int64_t{7}})
                  .ok());
  auto rows = db_->Query("SELECT k, n FROM kv WHERE k IN " + InList(3) + " ORDER BY k",
                         {std::string("x"), std::string("x-copy"), std::string("none")});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].Int(1), 8);
  auto none = db_->Query("SELECT k FROM kv WHERE k IN " + InList(0));
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreBackends, RollbackAndChangedRows) {
  ASSERT_TRUE(Exec("INSERT INTO kv(k, n) VALUES ('a', 1), ('b', 1), ('c', 2)").ok());
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("UPDATE kv SET n = 3 WHERE n = ?", {int64_t{1}}).ok());
    EXPECT_EQ((*tx)->ChangedRows(), 2);
    ASSERT_TRUE((*tx)->Exec("DELETE FROM kv").ok());
  }  // not committed
  EXPECT_EQ(Count("kv"), 3);
  // A failed statement is an InternalError naming the cause; the store stays usable.
  Status bad = Exec("INSERT INTO kv(k) VALUES ('a')");
  EXPECT_EQ(bad.code(), err::kInternalError);
  EXPECT_EQ(Count("kv"), 3);
}

TEST_P(StoreBackends, LiveInstanceCountsFollowInsertsDeletionsAndRemovals) {
  auto insert = [&](const std::string& id, const std::string& owner, int64_t deleted) {
    return Exec(
        "INSERT INTO instances(instance_id, uuid, owner_uin, name, host_name, instance_type, cpu, "
        "memory_mib, zone, region, image_id, state, mac, created_at, deleted) "
        "VALUES (?, ?, ?, 'n', 'h', 'T', 1, 128, 'z', 'r', 'img', 'RUNNING', 'm', 1, ?)",
        {id, id, owner, deleted});
  };
  auto live = [&](const std::string& owner) -> int64_t {
    auto counted =
        db_->Query("SELECT COUNT(*) FROM instances WHERE owner_uin = ? AND deleted = 0", {owner});
    auto kept = db_->Query("SELECT COALESCE(SUM(live), 0) FROM instance_counts WHERE owner_uin = ?",
                           {owner});
    if (!counted.ok() || !kept.ok()) {
      ADD_FAILURE() << counted.status().ToString() << " " << kept.status().ToString();
      return -1;
    }
    EXPECT_EQ((*kept)[0].Int(0), (*counted)[0].Int(0)) << owner;
    return (*kept)[0].Int(0);
  };
  ASSERT_TRUE(insert("ins-a", "1", 0).ok());
  ASSERT_TRUE(insert("ins-b", "1", 0).ok());
  ASSERT_TRUE(insert("ins-c", "2", 0).ok());
  ASSERT_TRUE(insert("ins-d", "2", 1).ok());  // inserted deleted: not live
  EXPECT_EQ(live("1"), 2);
  EXPECT_EQ(live("2"), 1);
  ASSERT_TRUE(Exec("UPDATE instances SET deleted = 1 WHERE instance_id = 'ins-a'").ok());
  ASSERT_TRUE(Exec("UPDATE instances SET deleted = 1 WHERE instance_id = 'ins-a'").ok());  // again
  ASSERT_TRUE(Exec("UPDATE instances SET state = 'STOPPED' WHERE instance_id = 'ins-b'").ok());
  EXPECT_EQ(live("1"), 1);
  ASSERT_TRUE(Exec("UPDATE instances SET deleted = 0 WHERE instance_id = 'ins-d'").ok());
  ASSERT_TRUE(Exec("UPDATE instances SET owner_uin = '3' WHERE instance_id = 'ins-c'").ok());
  EXPECT_EQ(live("2"), 1);
  EXPECT_EQ(live("3"), 1);
  ASSERT_TRUE(Exec("DELETE FROM instances WHERE instance_id IN ('ins-b', 'ins-a')").ok());
  EXPECT_EQ(live("1"), 0);
}

// Two handles on one database stand for two cvmd processes: a second writer waits for the
// first, and check-then-act transactions on both never lose an update.
TEST_P(StoreBackends, WritersAreSerializedAcrossHandles) {
  auto other = OpenAnother();
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_TRUE(Exec("INSERT INTO kv(k, n) VALUES ('counter', 0)").ok());

  auto first = db_->Begin();
  ASSERT_TRUE(first.ok());
  std::atomic<bool> second_began{false};
  auto second = std::async(std::launch::async, [&] {
    return WithTransaction(**other, [&](Transaction& tx) {
      second_began = true;
      return tx.Exec("UPDATE kv SET n = n * 10 WHERE k = 'counter'");
    });
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(second_began) << "a second writer started while the first was open";
  ASSERT_TRUE((*first)->Exec("UPDATE kv SET n = 1 WHERE k = 'counter'").ok());
  ASSERT_TRUE((*first)->Commit().ok());
  first->reset();
  ASSERT_EQ(second.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(second.get().ok());

  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    Database& db = t % 2 ? **other : *db_;
    threads.emplace_back([&db, &errors] {
      for (int i = 0; i < kEach; ++i) {
        Status st = WithTransaction(db, [](Transaction& tx) {
          auto rows = tx.Query("SELECT n FROM kv WHERE k = 'counter'");
          if (!rows.ok()) return rows.status();
          return tx.Exec("UPDATE kv SET n = ? WHERE k = 'counter'", {(*rows)[0].Int(0) + 1});
        });
        if (!st.ok()) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors, 0);
  auto rows = db_->Query("SELECT n FROM kv WHERE k = 'counter'");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].Int(0), 10 + kThreads * kEach);
}

// A console token issued by one process is redeemed by another, once.
TEST_P(StoreBackends, ConsoleTokensAreSharedAndSpentOnce) {
  auto other = OpenAnother();
  ASSERT_TRUE(other.ok());
  api::ConsoleTokens issuer(*db_), redeemer(**other);
  auto token = issuer.Issue("ins-1", "/run/x/vnc.sock");
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto wrong = issuer.Issue("ins-1", "/run/x/vnc.sock");
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(redeemer.Redeem(*wrong, "ins-2"));  // for another instance: refused and spent
  EXPECT_FALSE(redeemer.Redeem(*wrong, "ins-1"));
  auto socket = redeemer.Redeem(*token, "ins-1");
  ASSERT_TRUE(socket);
  EXPECT_EQ(socket->string(), "/run/x/vnc.sock");
  EXPECT_FALSE(issuer.Redeem(*token, "ins-1"));  // spent
  auto stored = db_->Query("SELECT token_hash FROM console_tokens");
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->empty());
}

// A process killed inside a transaction leaves nothing of it behind.
TEST_P(StoreBackends, KillNineMidTransactionLeavesNothing) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto db = OpenDatabase(url_, {});
    if (!db.ok()) ::_exit(2);
    auto tx = (*db)->Begin();
    if (!tx.ok() || !(*tx)->Exec("INSERT INTO kv(k, n) VALUES ('half', 1)").ok()) ::_exit(3);
    ::raise(SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(Count("kv"), 0);
  // The dead writer's lock went with it.
  EXPECT_TRUE(Exec("INSERT INTO kv(k, n) VALUES ('after', 1)").ok());
}

// Several processes starting at once against a new database: one applies the migrations, the
// others wait for it and apply nothing.
TEST_P(StoreBackends, ConcurrentOpensMigrateOnce) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "one SQLite file has one process";
  db_.reset();
  PgAdmin("DROP DATABASE " + db_name_ + " WITH (FORCE)");
  PgAdmin("CREATE DATABASE " + db_name_);
  std::vector<std::future<Status>> opens;
  for (int i = 0; i < 4; ++i) {
    opens.push_back(std::async(std::launch::async, [this] { return OpenAnother().status(); }));
  }
  for (auto& f : opens) EXPECT_TRUE(f.get().ok());
  auto db = OpenAnother();
  ASSERT_TRUE(db.ok());
  auto rows = (*db)->Query("SELECT COUNT(*) FROM schema_migrations");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].Int(0), static_cast<int64_t>(AllMigrations().size()));
}

// The PostgreSQL schema is the SQLite one: the same tables, views, columns, named indexes and
// triggers (PostgreSQL's explicit `rowid` columns aside).
TEST(StoreBackendsSchema, PostgresSchemaMatchesSqlite) {
  if (!PgSocketDir()) GTEST_SKIP() << "CVM_TEST_PG is not set";
  testutil::TempDir dir;
  auto lite = OpenDatabase("sqlite:" + (dir.path() / "s.db").string(), {});
  ASSERT_TRUE(lite.ok());
  const std::string name = "cvm_unit_schema_" + std::to_string(::getpid());
  PgAdmin("CREATE DATABASE " + name);
  auto pg = OpenDatabase("postgresql:///" + name + "?host=" + PgSocketDir() + "&user=postgres", {});
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  auto collect = [](Database& db, const std::string& sql) {
    std::set<std::string> out;
    auto rows = db.Query(sql);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (rows.ok()) {
      for (const auto& r : *rows) out.insert(r.Str(0));
    }
    return out;
  };
  EXPECT_EQ(
      collect(**lite,
              "SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p "
              "WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%'"),
      collect(**pg,
              "SELECT table_name || '.' || column_name FROM information_schema.columns "
              "WHERE table_schema = 'public' AND column_name != 'rowid'"));
  EXPECT_EQ(
      collect(**lite, "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"),
      // Indexes of their own, not those backing a PRIMARY KEY or UNIQUE constraint.
      collect(**pg,
              "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
              "WHERE c.relnamespace = current_schema()::regnamespace AND NOT EXISTS "
              "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"));
  EXPECT_EQ(collect(**lite, "SELECT name FROM sqlite_master WHERE type = 'trigger'"),
            collect(**pg, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"));
  pg->reset();
  PgAdmin("DROP DATABASE " + name + " WITH (FORCE)");
}

// A Describe listing pages and counts alike on both backends, whether the database pages (the
// caller sees everything) or the ids are judged one by one (a CAM visibility), and its typed
// filters (a name substring, a tag) narrow it the same way.
TEST_P(StoreBackends, ListingsPageAndCountAlike) {
  const Scope scope{"100001", "ap-guangzhou"};
  ASSERT_TRUE(WithTransaction(*db_, [&](Transaction& tx) -> Status {
                for (const std::string n : {"a", "b", "c", "d", "e"}) {
                  VpcRecord v{.vpc_id = "vpc-" + n,
                              .owner_uin = scope.owner_uin,
                              .region = scope.region,
                              .name = "net-" + n,
                              .cidr = "10.0.0.0/16",
                              .created_at = 7};  // one time: the id's insertion order decides
                  CVM_RETURN_IF_ERROR(InsertVpc(tx, v));
                }
                // Another account's VPC is never listed.
                CVM_RETURN_IF_ERROR(InsertVpc(tx, {.vpc_id = "vpc-x",
                                                   .owner_uin = "100002",
                                                   .region = scope.region,
                                                   .name = "net-a",
                                                   .cidr = "10.0.0.0/16",
                                                   .created_at = 7}));
                return SetTags(tx, scope.owner_uin, "vpc-d", {{"env", "prod"}}, "LimitExceeded");
              }).ok());
  auto ids = [](const Page<VpcRecord>& p) {
    std::vector<std::string> out;
    for (const auto& v : p.items) out.push_back(v.vpc_id);
    return out;
  };
  auto all = ListVpcs(*db_, scope, {}, {.offset = 1, .limit = 2});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->total, 5);
  EXPECT_EQ(ids(*all), (std::vector<std::string>{"vpc-b", "vpc-c"}));

  PageRequest hiding_b{.offset = 1, .limit = 2};
  hiding_b.visible = [](std::string_view id) { return id != "vpc-b"; };
  auto visible = ListVpcs(*db_, scope, {}, hiding_b);
  ASSERT_TRUE(visible.ok()) << visible.status().ToString();
  EXPECT_EQ(visible->total, 4);
  EXPECT_EQ(ids(*visible), (std::vector<std::string>{"vpc-c", "vpc-d"}));

  VpcFilter named{.name_contains = std::vector<std::string>{"t-e", "T-A"}};
  auto by_name = ListVpcs(*db_, scope, named, {});
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  EXPECT_EQ(ids(*by_name), (std::vector<std::string>{"vpc-e"}));  // case counts on both

  VpcFilter tagged{.tags = {{TagCondition::Kind::kKeyValue, "env", {"prod", "dev"}}}};
  auto by_tag = ListVpcs(*db_, scope, tagged, {});
  ASSERT_TRUE(by_tag.ok()) << by_tag.status().ToString();
  EXPECT_EQ(by_tag->total, 1);
  EXPECT_EQ(ids(*by_tag), (std::vector<std::string>{"vpc-d"}));
}

TEST(NumberParameters, NumbersAsSqliteDoesAndLeavesQuotesAlone) {
  EXPECT_EQ(NumberParameters("a = ? AND b = ?"), "a = $1 AND b = $2");
  EXPECT_EQ(NumberParameters("a = ?2 OR b = ?1 OR c = ?2"), "a = $2 OR b = $1 OR c = $2");
  EXPECT_EQ(NumberParameters("a = ? AND b = ?3 AND c = ?"), "a = $1 AND b = $3 AND c = $4");
  EXPECT_EQ(NumberParameters("x = '?' AND \"?col\" = ? -- why?\n AND y = ?"),
            "x = '?' AND \"?col\" = $1 -- why?\n AND y = $2");
  EXPECT_EQ(NumberParameters("s = 'it''s ?' AND t = ?"), "s = 'it''s ?' AND t = $1");
}

}  // namespace
}  // namespace cvm::store
