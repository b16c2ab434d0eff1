// The repositories the engine and IAM write through, on a real migrated SQLite database, where
// their statements differ from what SQLite alone would allow: an export's target is found in
// the unfinished operations' args without the database's JSON functions, adding what is already
// there changes nothing, and a name is counted as taken only in its own account.
#include <gtest/gtest.h>

#include "store/account_records.h"
#include "store/cam_records.h"
#include "store/operation_records.h"
#include "store_fixture.h"

namespace cvm::store {
namespace {

class StoreRepositoriesTest : public testutil::StoreTransactionTest {
 protected:
  void AddOperation(const std::string& id, const std::string& action, nlohmann::json args,
                    const std::string& state, int64_t at) {
    OperationRecord op{.operation_id = id,
                       .request_id = "req-" + id,
                       .owner_uin = "100",
                       .caller_uin = "100",
                       .action = action,
                       .api_action = "ExportImages",
                       .resource_id = "img-aaaaaaaa",
                       .args = std::move(args),
                       .state = state};
    ASSERT_TRUE(InsertOperation(*tx_, op, at).ok());
  }
  bool Claimed(const std::string& action, const std::string& target) {
    auto claimed = HasUnfinishedOperationWithTarget(*tx_, action, target);
    EXPECT_TRUE(claimed.ok()) << claimed.status().ToString();
    return claimed.ok() && *claimed;
  }
  void AddAccount(const std::string& uin, const std::string& name) {
    ASSERT_TRUE(InsertAccount(*tx_, {uin, std::stoll(uin), name, false, 1}).ok());
  }
  void Commit() {
    ASSERT_TRUE(tx_->Commit().ok());
    tx_.reset();
  }
};

TEST_F(StoreRepositoriesTest, AnExportTargetIsClaimedOnlyByAnUnfinishedExportToIt) {
  AddOperation("op-1", "EXPORT_IMAGE", {{"Target", "/exports/a.qcow2"}}, "RUNNING", 1);
  AddOperation("op-2", "EXPORT_IMAGE", {{"Target", "/exports/b.qcow2"}}, "SUCCESS", 2);
  AddOperation("op-3", "IMPORT_IMAGE", {{"Target", "/exports/c.qcow2"}}, "PENDING", 3);
  // A target named elsewhere than the args' own Target claims nothing.
  AddOperation("op-4", "EXPORT_IMAGE", {{"Nested", {{"Target", "/exports/d.qcow2"}}}}, "PENDING",
               4);
  EXPECT_TRUE(Claimed("EXPORT_IMAGE", "/exports/a.qcow2"));
  EXPECT_FALSE(Claimed("EXPORT_IMAGE", "/exports/b.qcow2"));
  EXPECT_FALSE(Claimed("EXPORT_IMAGE", "/exports/c.qcow2"));
  EXPECT_FALSE(Claimed("EXPORT_IMAGE", "/exports/d.qcow2"));
  ASSERT_TRUE(SetOperationOutcome(*tx_, "op-1", "FAILED", "X", "y", 5).ok());
  EXPECT_FALSE(Claimed("EXPORT_IMAGE", "/exports/a.qcow2"));
}

TEST_F(StoreRepositoriesTest, UnfinishedOperationsComeOldestFirst) {
  AddOperation("op-b", "STOP", nlohmann::json::object(), "PENDING", 20);
  AddOperation("op-a", "START", nlohmann::json::object(), "RUNNING", 30);
  AddOperation("op-c", "START", nlohmann::json::object(), "SUCCESS", 10);
  AddOperation("op-d", "START", nlohmann::json::object(), "PENDING", 5);
  Commit();
  auto ids = UnfinishedOperationIds(*db_);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(*ids, (std::vector<std::string>{"op-d", "op-b", "op-a"}));
  auto op = FindOperation(*db_, "op-b");
  ASSERT_TRUE(op.ok() && op->has_value());
  EXPECT_EQ((*op)->state, "PENDING");
  EXPECT_EQ((*op)->request_id, "req-op-b");
}

TEST_F(StoreRepositoriesTest, AddingAMemberOrAnAttachmentTwiceKeepsTheFirst) {
  AddAccount("100000000001", "a");
  auto uid = InsertCamUser(
      *tx_, {.uin = "200000000001", .owner_uin = "100000000001", .name = "ops", .created_at = 1});
  ASSERT_TRUE(uid.ok()) << uid.status().ToString();
  auto group = InsertCamGroup(*tx_, {.owner_uin = "100000000001", .name = "g", .created_at = 1});
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  EXPECT_TRUE(AddCamGroupMember(*tx_, *group, "200000000001", 1).ok());
  EXPECT_TRUE(AddCamGroupMember(*tx_, *group, "200000000001", 2).ok());
  auto policy = InsertCamPolicy(*tx_, {.owner_uin = "100000000001",
                                       .name = "p",
                                       .document = "{}",
                                       .created_at = 1,
                                       .updated_at = 1});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  const std::string gid = std::to_string(*group);
  EXPECT_TRUE(
      AttachCamPolicy(*tx_, {*policy, CamPrincipal::kGroup, gid, "100000000001", "first", 1}).ok());
  EXPECT_TRUE(
      AttachCamPolicy(*tx_, {*policy, CamPrincipal::kGroup, gid, "100000000001", "second", 2})
          .ok());
  Commit();
  auto attached = ListAttachedPolicies(*db_, "100000000001", CamPrincipal::kGroup, gid);
  ASSERT_TRUE(attached.ok()) << attached.status().ToString();
  ASSERT_EQ(attached->size(), 1u);
  EXPECT_EQ(attached->front().operate_uin, "first");
  EXPECT_EQ(attached->front().policy.attachments, 1);
  // The member gets the group's policy, once.
  auto documents = PolicyDocumentsOf(*db_, "100000000001", "200000000001");
  ASSERT_TRUE(documents.ok()) << documents.status().ToString();
  EXPECT_EQ(*documents, std::vector<std::string>{"{}"});
}

TEST_F(StoreRepositoriesTest, ANameIsTakenOnlyInItsOwnAccountButPresetNamesEverywhere) {
  AddAccount("100000000001", "a");
  AddAccount("100000000002", "b");
  ASSERT_TRUE(
      InsertCamGroup(*tx_, {.owner_uin = "100000000001", .name = "dev", .created_at = 1}).ok());
  ASSERT_TRUE(InsertCamPolicy(*tx_, {.name = "Preset", .document = "{}"}).ok());
  ASSERT_TRUE(
      InsertCamPolicy(*tx_, {.owner_uin = "100000000001", .name = "mine", .document = "{}"}).ok());
  auto mine = CountCamGroups(*tx_, "100000000001", "dev");
  auto theirs = CountCamGroups(*tx_, "100000000002", "dev");
  ASSERT_TRUE(mine.ok() && theirs.ok());
  EXPECT_EQ(mine->total, 1);
  EXPECT_TRUE(mine->name_taken);
  EXPECT_EQ(theirs->total, 0);
  EXPECT_FALSE(theirs->name_taken);
  auto preset = CountCamPolicies(*tx_, "100000000002", "Preset");
  auto other = CountCamPolicies(*tx_, "100000000002", "mine");
  ASSERT_TRUE(preset.ok() && other.ok());
  EXPECT_TRUE(preset->name_taken);
  EXPECT_EQ(preset->total, 0);  // presets are nobody's own
  EXPECT_FALSE(other->name_taken);
}

}  // namespace
}  // namespace cvm::store
