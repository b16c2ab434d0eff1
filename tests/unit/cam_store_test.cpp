// CAM state and enforcement below the API: compiled policies follow attachments and group
// membership at once, deleted users' keys stop working, and the authorizer reads resources from
// any request shape.
#include "iam/cam_store.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "iam/authorizer.h"
#include "store/sqlite/sqlite_database.h"

namespace cvm::iam {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class CamStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = "/tmp/cvm-cam-XXXXXX";
    dir_ = ::mkdtemp(t.data());
    auto db = store::OpenSqliteDatabase(dir_ / "cvmd.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    accounts_ = std::make_unique<AccountStore>(*db_, SecretBox(std::string(32, 'm')));
    cam_ = std::make_unique<CamStore>(*db_, *accounts_);
    ASSERT_TRUE(cam_->EnsurePresetPolicies().ok());
    auto root = accounts_->CreateRootAccount("tenant", false);
    ASSERT_TRUE(root.ok());
    root_ = *root;
    SubUser u;
    u.owner_uin = root_.uin;
    u.name = "dev";
    auto user = cam_->AddUser(u);
    ASSERT_TRUE(user.ok()) << user.status().ToString();
    user_ = *user;
  }
  void TearDown() override { fs::remove_all(dir_); }

  int64_t PresetId(const std::string& name) {
    auto all = cam_->ListPolicies(root_.uin);
    for (const auto& p : *all) {
      if (p.name == name) return p.policy_id;
    }
    return 0;
  }

  AccessOutcome Call(const std::string& service, const std::string& action, const json& params) {
    Authorizer authz(*cam_);
    return authz.Authorize(AccessRequest{service, action, "ap-guangzhou", root_.uin, user_.uin,
                                         root_.app_id, "127.0.0.1", 1800000000, &params});
  }

  // With `document` attached, which of ins-aaaaaaaa and ins-bbbbbbbb a DescribeInstances
  // answer may list.
  json VisibleInstances(const std::string& document) {
    auto id = cam_->CreatePolicy(root_.uin, "describe", "", document);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return nullptr;
    EXPECT_TRUE(cam_->Attach(root_.uin, *id, Principal::kUser, user_.uin, root_.uin).ok());
    json params = json::object();
    auto outcome = Call("cvm", "DescribeInstances", params);
    EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();
    json ids = json::array();
    for (const char* ins : {"ins-aaaaaaaa", "ins-bbbbbbbb"}) {
      if (outcome.visible.Sees(kind::kInstance, ins)) ids.push_back(ins);
    }
    return ids;
  }

  // The resources a call by the sub-user names, as SERVICE:TYPE/ID.
  std::vector<std::string> Named(const std::string& service, const std::string& action,
                                 const json& params) {
    Authorizer authz(*cam_);
    auto res = authz.ResourcesOf(AccessRequest{service, action, "ap-guangzhou", root_.uin,
                                               user_.uin, root_.app_id, "127.0.0.1", 1800000000,
                                               &params});
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    std::vector<std::string> out;
    if (!res.ok()) return out;
    for (const auto& r : *res) out.push_back(std::string(r.type) + "/" + r.id);
    return out;
  }

  // Attaches a policy with one allow statement for `actions` on `resources`.
  void Allow(const json& actions, const json& resources) {
    json doc = {{"version", "2.0"},
                {"statement", {{{"effect", "allow"}, {"action", actions}, {"resource", resources}}}}};
    auto id = cam_->CreatePolicy(root_.uin, "p" + std::to_string(++policies_), "", doc.dump());
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    ASSERT_TRUE(cam_->Attach(root_.uin, *id, Principal::kUser, user_.uin, root_.uin).ok());
  }

  std::string CamResource(const std::string& type_and_id) {
    return "qcs::cam::uin/" + root_.uin + ":" + type_and_id;
  }

  int policies_ = 0;
  fs::path dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<AccountStore> accounts_;
  std::unique_ptr<CamStore> cam_;
  Account root_;
  SubUser user_;
};

TEST_F(CamStoreTest, SubUsersHaveTheirOwnUinsAndUniqueNames) {
  EXPECT_NE(user_.uin, root_.uin);
  EXPECT_EQ(user_.uin.size(), 12u);
  SubUser again;
  again.owner_uin = root_.uin;
  again.name = "dev";
  EXPECT_EQ(cam_->AddUser(again).status().code(), "InvalidParameter.SubUserNameInUse");
}

TEST_F(CamStoreTest, PresetPoliciesExistOnce) {
  ASSERT_TRUE(cam_->EnsurePresetPolicies().ok());
  auto all = cam_->ListPolicies(root_.uin);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), PresetPolicies().size());
  EXPECT_GT(PresetId("QcloudCVMReadOnlyAccess"), 0);
}

TEST_F(CamStoreTest, AttachmentsAndGroupsTakeEffectAtOnce) {
  json none = json::object();
  EXPECT_EQ(Call("cvm", "DescribeZones", none).status.code(), "UnauthorizedOperation");
  int64_t readonly = PresetId("QcloudCVMReadOnlyAccess");
  ASSERT_TRUE(cam_->Attach(root_.uin, readonly, Principal::kUser, user_.uin, root_.uin).ok());
  auto zones = Call("cvm", "DescribeZones", none);
  EXPECT_TRUE(zones.status.ok());
  EXPECT_TRUE(zones.visible.SeesAll());  // allowed on "*" with no deny: nothing to filter
  EXPECT_EQ(Call("cvm", "RunInstances", none).status.code(), "UnauthorizedOperation");
  ASSERT_TRUE(cam_->Detach(root_.uin, readonly, Principal::kUser, user_.uin).ok());
  EXPECT_FALSE(Call("cvm", "DescribeZones", none).status.ok());

  auto group = cam_->CreateGroup(root_.uin, "ops", "");
  ASSERT_TRUE(group.ok());
  ASSERT_TRUE(cam_->Attach(root_.uin, PresetId("QcloudCVMFullAccess"), Principal::kGroup,
                           std::to_string(group->group_id), root_.uin)
                  .ok());
  EXPECT_FALSE(Call("cvm", "RunInstances", none).status.ok());
  ASSERT_TRUE(cam_->AddUserToGroup(root_.uin, group->group_id, user_.uin).ok());
  EXPECT_TRUE(Call("cvm", "RunInstances", none).status.ok());
  ASSERT_TRUE(cam_->RemoveUserFromGroup(root_.uin, group->group_id, user_.uin).ok());
  EXPECT_FALSE(Call("cvm", "RunInstances", none).status.ok());
}

TEST_F(CamStoreTest, ResourcesAreReadFromAnyRequestShape) {
  json run = {{"ImageId", "img-aaaaaaaa"},
              {"LoginSettings", {{"KeyIds", {"skey-aaaaaaaa", "skey-bbbbbbbb"}}}},
              {"SecurityGroupIds", {"sg-aaaaaaaa"}},
              {"VirtualPrivateCloud", {{"VpcId", "vpc-aaaaaaaa"}, {"SubnetId", "subnet-aaaa"}}},
              {"Filters", {{{"Name", "instance-id"}, {"Values", {"ins-zzzzzzzz"}}}}}};
  EXPECT_EQ(Named("cvm", "RunInstances", run), (std::vector<std::string>{"image/img-aaaaaaaa", "keypair/skey-aaaaaaaa",
                                           "keypair/skey-bbbbbbbb", "sg/sg-aaaaaaaa",
                                           "subnet/subnet-aaaa", "vpc/vpc-aaaaaaaa"}));
}

TEST_F(CamStoreTest, CamActionsNameTheUsersGroupsAndPoliciesTheyActOn) {
  SubUser other;
  other.owner_uin = root_.uin;
  other.name = "ops";
  auto ops = cam_->AddUser(other);
  ASSERT_TRUE(ops.ok()) << ops.status().ToString();
  const std::string me = "uin/" + user_.uin, them = "uin/" + ops->uin;
  using V = std::vector<std::string>;
  // Key actions name TargetUin, or else the caller's own user.
  for (const char* action :
       {"ListAccessKeys", "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"}) {
    EXPECT_EQ(Named("cam", action, {{"AccessKeyId", "AKIDx"}}), V{me}) << action;
    EXPECT_EQ(Named("cam", action, {{"TargetUin", std::stoull(ops->uin)}}), V{them}) << action;
  }
  EXPECT_EQ(Named("cam", "GetUserAppId", json::object()), V{me});
  // Users by name or uid; a name that is nobody's could be anyone's.
  for (const char* action : {"GetUser", "UpdateUser", "DeleteUser"}) {
    EXPECT_EQ(Named("cam", action, {{"Name", "ops"}}), V{them}) << action;
    EXPECT_EQ(Named("cam", action, {{"Name", "nobody"}}), V{"uin/*"}) << action;
  }
  EXPECT_EQ(Named("cam", "AddUser", {{"Name", "ops"}}), V{});
  json info = {{"Info", {{{"GroupId", 7}, {"Uid", ops->uid}}, {{"GroupId", 8}, {"Uin", 9}}}}};
  for (const char* action : {"AddUserToGroup", "RemoveUserFromGroup"}) {
    EXPECT_EQ(Named("cam", action, info), (V{"groupid/7", them, "groupid/8", "uin/9"})) << action;
  }
  EXPECT_EQ(Named("cam", "DeleteGroup", {{"GroupId", 7}}), V{"groupid/7"});
  EXPECT_EQ(Named("cam", "ListAttachedGroupPolicies", {{"TargetGroupId", 7}}), V{"groupid/7"});
  EXPECT_EQ(Named("cam", "ListAttachedUserPolicies", {{"TargetUin", 9}}), V{"uin/9"});
  EXPECT_EQ(Named("cam", "AttachUserPolicy", {{"PolicyId", 3}, {"AttachUin", 9}}),
            (V{"uin/9", "policyid/3"}));
  EXPECT_EQ(Named("cam", "DetachUserPolicy", {{"PolicyId", 3}, {"DetachUin", 9}}),
            (V{"uin/9", "policyid/3"}));
  EXPECT_EQ(Named("cam", "AttachGroupPolicy", {{"PolicyId", 3}, {"AttachGroupId", 7}}),
            (V{"groupid/7", "policyid/3"}));
  EXPECT_EQ(Named("cam", "DetachGroupPolicy", {{"PolicyId", 3}, {"DetachGroupId", 7}}),
            (V{"groupid/7", "policyid/3"}));
  EXPECT_EQ(Named("cam", "GetPolicy", {{"PolicyId", 3}}), V{"policyid/3"});
  EXPECT_EQ(Named("cam", "UpdatePolicy", {{"PolicyId", 3}, {"PolicyName", "x"}}),
            V{"policyid/3"});
  EXPECT_EQ(Named("cam", "DeletePolicy", {{"PolicyId", {3, 4, 3}}}),
            (V{"policyid/3", "policyid/4"}));
  // Creations and whole-account lists name nothing: they are decided on "*".
  EXPECT_EQ(Named("cam", "CreateGroup", {{"GroupName", "g"}}), V{});
  EXPECT_EQ(Named("cam", "CreatePolicy", {{"PolicyName", "p"}, {"PolicyDocument", "{}"}}), V{});
  EXPECT_EQ(Named("cam", "ListUsers", json::object()), V{});
  // CAM's parameter names mean nothing to other services.
  EXPECT_EQ(Named("cvm", "DescribeInstances", {{"Name", "ops"}, {"PolicyId", 3}}), V{});
}

TEST_F(CamStoreTest, ASelfScopedPolicyCoversTheCallersOwnKeysOnly) {
  Allow({"cam:ListAccessKeys", "cam:CreateAccessKey", "cam:UpdateAccessKey",
         "cam:DeleteAccessKey"},
        CamResource("uin/${uin}"));
  SubUser other;
  other.owner_uin = root_.uin;
  other.name = "ops";
  auto ops = cam_->AddUser(other);
  ASSERT_TRUE(ops.ok());
  for (const char* action :
       {"ListAccessKeys", "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"}) {
    EXPECT_TRUE(Call("cam", action, json::object()).status.ok()) << action;
    EXPECT_TRUE(Call("cam", action, {{"TargetUin", std::stoull(user_.uin)}}).status.ok())
        << action;
    auto denied = Call("cam", action, {{"TargetUin", std::stoull(ops->uin)}});
    EXPECT_EQ(denied.status.code(), "UnauthorizedOperation") << action;
    EXPECT_NE(denied.status.message().find(CamResource("uin/" + ops->uin)), std::string::npos);
    EXPECT_EQ(Call("cam", action, {{"TargetUin", std::stoull(root_.uin)}}).status.code(),
              "UnauthorizedOperation")
        << action;
  }
}

TEST_F(CamStoreTest, AttachingNeedsBothThePrincipalAndThePolicy) {
  Allow("cam:AttachUserPolicy", {CamResource("uin/${uin}"), CamResource("policyid/5")});
  auto self = std::stoull(user_.uin);
  EXPECT_TRUE(Call("cam", "AttachUserPolicy", {{"PolicyId", 5}, {"AttachUin", self}}).status.ok());
  EXPECT_EQ(Call("cam", "AttachUserPolicy", {{"PolicyId", 6}, {"AttachUin", self}}).status.code(),
            "UnauthorizedOperation");
  EXPECT_EQ(Call("cam", "AttachUserPolicy", {{"PolicyId", 5}, {"AttachUin", 9}}).status.code(),
            "UnauthorizedOperation");
  Allow("cam:AddUserToGroup", CamResource("groupid/7"));
  EXPECT_EQ(Call("cam", "AddUserToGroup", {{"Info", {{{"GroupId", 7}, {"Uin", self}}}}})
                .status.code(),
            "UnauthorizedOperation");  // the user is a resource too
  Allow("cam:AddUserToGroup", CamResource("uin/*"));
  EXPECT_TRUE(Call("cam", "AddUserToGroup", {{"Info", {{{"GroupId", 7}, {"Uin", self}}}}}).status.ok());
  EXPECT_EQ(Call("cam", "AddUserToGroup", {{"Info", {{{"GroupId", 8}, {"Uin", self}}}}})
                .status.code(),
            "UnauthorizedOperation");
}

TEST_F(CamStoreTest, ResourceLevelDecisionNamesTheResource) {
  std::string doc = R"({"version":"2.0","statement":[{"effect":"allow",
      "action":"cvm:StopInstances","resource":"qcs::cvm::uin/)" +
                    root_.uin + R"(:instance/ins-aaaaaaaa"}]})";
  auto id = cam_->CreatePolicy(root_.uin, "stop-one", "", doc);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(cam_->Attach(root_.uin, *id, Principal::kUser, user_.uin, root_.uin).ok());
  EXPECT_TRUE(Call("cvm", "StopInstances", {{"InstanceIds", {"ins-aaaaaaaa"}}}).status.ok());
  auto denied = Call("cvm", "StopInstances", {{"InstanceIds", {"ins-aaaaaaaa", "ins-bbbbbbbb"}}});
  EXPECT_EQ(denied.status.code(), "UnauthorizedOperation");
  EXPECT_NE(denied.status.message().find("cvm:StopInstances"), std::string::npos);
  EXPECT_NE(denied.status.message().find("instance/ins-bbbbbbbb"), std::string::npos);
}

TEST_F(CamStoreTest, DescribeAnswersAreFilteredPerResource) {
  // Allowed on one instance only: the call runs, and the answer keeps that one.
  EXPECT_EQ(VisibleInstances(R"({"version":"2.0","statement":[{"effect":"allow",
      "action":"cvm:DescribeInstances","resource":"qcs::cvm:::instance/ins-aaaaaaaa"}]})"),
            json::array({"ins-aaaaaaaa"}));
}

TEST_F(CamStoreTest, ADenyHidesItemsOfAnAnswerAllowedOnEverything) {
  EXPECT_EQ(VisibleInstances(R"({"version":"2.0","statement":[
      {"effect":"allow","action":"cvm:DescribeInstances","resource":"*"},
      {"effect":"deny","action":"cvm:DescribeInstances","resource":"qcs::cvm:::instance/ins-b*"}]})"),
            json::array({"ins-aaaaaaaa"}));
}

TEST_F(CamStoreTest, DeletingAUserKillsItsKeysAtOnce) {
  auto key = accounts_->CreateAccessKey(root_.uin, user_.uin);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(accounts_->LookupActiveKey(key->secret_id).ok());  // now cached
  EXPECT_EQ(cam_->DeleteUser(root_.uin, "dev", false).code(), "OperationDenied.HaveKeys");
  ASSERT_TRUE(cam_->DeleteUser(root_.uin, "dev", true).ok());
  EXPECT_EQ(accounts_->LookupActiveKey(key->secret_id).status().code(),
            "AuthFailure.SecretIdNotFound");
}

TEST_F(CamStoreTest, AnInactiveKeyFailsAtOnce) {
  auto key = accounts_->CreateAccessKey(root_.uin, user_.uin);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(accounts_->LookupActiveKey(key->secret_id).ok());
  ASSERT_TRUE(accounts_->SetKeyStatus(key->secret_id, "Inactive").ok());
  EXPECT_FALSE(accounts_->LookupActiveKey(key->secret_id).ok());
  ASSERT_TRUE(accounts_->SetKeyStatus(key->secret_id, "Active").ok());
  EXPECT_TRUE(accounts_->LookupActiveKey(key->secret_id).ok());
}

}  // namespace
}  // namespace cvm::iam
