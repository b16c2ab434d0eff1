// The TAT store on a real migrated SQLite database: listings stay inside the account and
// region, a cancel marks pending tasks cancelled and running ones cancelling, and a late
// progress write of the engine never revives a finished or cancelling task.
#include <map>

#include <gtest/gtest.h>

#include "store/tat_records.h"
#include "store_fixture.h"

namespace cvm::store {
namespace {

class TatRecordsTest : public testutil::StoreTransactionTest {
 protected:
  void Invoke(const std::string& inv, const Scope& scope, const std::vector<std::string>& ins,
              int64_t at) {
    TatInvocation i{.invocation_id = inv, .owner_uin = scope.owner_uin, .region = scope.region,
                    .command_id = "cmd-1", .content = "dHJ1ZQ==", .command_type = "SHELL",
                    .username = "root", .created_at = at};
    std::vector<TatTask> tasks;
    for (const auto& id : ins) {
      tasks.push_back(TatTask{.task_id = "invt-" + inv + id, .invocation_id = inv,
                              .owner_uin = scope.owner_uin, .region = scope.region,
                              .instance_id = id, .command_id = "cmd-1", .created_at = at,
                              .updated_at = at});
    }
    ASSERT_TRUE(InsertTatInvocation(*tx_, i, tasks).ok());
  }
  const Scope a_{"100", "ap-guangzhou"};
  const Scope b_{"200", "ap-guangzhou"};
};

TEST_F(TatRecordsTest, CommandsAreScopedAndOnlyUserCommandsDelete) {
  TatCommand c{.command_id = "cmd-1", .owner_uin = "100", .region = "ap-guangzhou",
               .name = "hello", .content = "ZWNobw==", .created_at = 1, .updated_at = 1};
  ASSERT_TRUE(InsertTatCommand(*tx_, c).ok());
  TatCommand run = c;
  run.command_id = "cmd-2";
  run.created_by = "RUN";
  run.created_at = 2;
  ASSERT_TRUE(InsertTatCommand(*tx_, run).ok());
  ASSERT_TRUE(tx_->Commit().ok());
  tx_.reset();

  auto page = ListTatCommands(*db_, {.scope = a_});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->total, 2);
  ASSERT_EQ(page->commands.size(), 2u);
  EXPECT_EQ(page->commands[0].command_id, "cmd-2");  // newest first
  page = ListTatCommands(*db_, {.scope = a_, .created_by = "USER"});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 1);
  page = ListTatCommands(*db_, {.scope = b_});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 0);

  auto tx = db_->Begin();
  ASSERT_TRUE(tx.ok());
  auto found = FindTatCommand(**tx, b_, "cmd-1");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  EXPECT_FALSE(*DeleteTatCommand(**tx, b_, "cmd-1"));
  EXPECT_FALSE(*DeleteTatCommand(**tx, a_, "cmd-2"));
  EXPECT_TRUE(*DeleteTatCommand(**tx, a_, "cmd-1"));
}

TEST_F(TatRecordsTest, CancelAndLateProgressWrites) {
  Invoke("inv-1", a_, {"ins-1", "ins-2"}, 10);
  Invoke("inv-2", b_, {"ins-9"}, 11);
  ASSERT_TRUE(tx_->Commit().ok());
  tx_.reset();

  auto unfinished = UnfinishedTatTasks(*db_);
  ASSERT_TRUE(unfinished.ok());
  EXPECT_EQ(unfinished->size(), 3u);
  auto page = ListTatTasks(*db_, {.scope = a_, .invocation_ids = {"inv-1"}});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->total, 2);
  EXPECT_TRUE(ListTatTasks(*db_, {.scope = b_, .invocation_ids = {"inv-1"}})->tasks.empty());

  TatTask running = page->tasks[0];
  running.status = kTatRunning;
  running.guest_pid = 42;
  auto tx = db_->Begin();
  ASSERT_TRUE(tx.ok());
  EXPECT_TRUE(*UpdateTatTask(**tx, running));
  // Another account cannot cancel it; its owner can.
  EXPECT_EQ(*CancelTatTasks(**tx, b_, "inv-1", 20), 0);
  EXPECT_EQ(*CancelTatTasks(**tx, a_, "inv-1", 20), 2);
  // The engine's next progress write must not undo the cancel...
  EXPECT_FALSE(*UpdateTatTask(**tx, running));
  // ...but its final write goes through, once.
  TatTask ended = running;
  ended.status = kTatTerminated;
  EXPECT_TRUE(*UpdateTatTask(**tx, ended));
  EXPECT_FALSE(*UpdateTatTask(**tx, ended));
  ASSERT_TRUE((*tx)->Commit().ok());

  page = ListTatTasks(*db_, {.scope = a_, .invocation_ids = {"inv-1"}});
  ASSERT_TRUE(page.ok());
  std::map<std::string, std::string> status;
  for (const auto& t : page->tasks) status[t.instance_id] = t.status;
  EXPECT_EQ(status[running.instance_id], kTatTerminated);
  EXPECT_EQ(status[running.instance_id == "ins-1" ? "ins-2" : "ins-1"], kTatCancelled);
  unfinished = UnfinishedTatTasks(*db_);
  ASSERT_TRUE(unfinished.ok());
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].instance_id, "ins-9");
}

}  // namespace
}  // namespace cvm::store
