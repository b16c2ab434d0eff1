// RunInstances' network half without booting anything: the request's form checks, the default
// network and group made on first use, one address per instance of a launch, requested and
// public addresses, and security groups kept in binding order (CVM's error codes throughout).
#include <gtest/gtest.h>

#include "services/cvm/instance_network.h"
#include "store/datapath_records.h"
#include "store/network_records.h"
#include "store_fixture.h"

namespace cvm::services {
namespace {

using nlohmann::json;

class InstanceNetworkTest : public testutil::StoreTransactionTest {
 protected:
  void SetUp() override {
    StoreTransactionTest::SetUp();
    ctx_.owner_uin = "100";
    ctx_.region = "ap-guangzhou";
    config_.public_ip_pool = "198.18.0.0/30";  // two public addresses
  }

  // Launches `count` instances as RunInstances does; returns their records or the error code.
  std::vector<store::InstanceRecord> Launch(const json& params, int64_t count,
                                            std::string* code = nullptr) {
    std::vector<store::InstanceRecord> out;
    auto fail = [&](const Status& st) {
      if (code) *code = st.code();
      return std::vector<store::InstanceRecord>{};
    };
    auto request = ParseNetworkRequest(params, count);
    if (!request.ok()) return fail(request.status());
    auto plan = ResolveNetwork(*tx_, ctx_, "ap-guangzhou-3", config_, *request);
    if (!plan.ok()) return fail(plan.status());
    for (int64_t i = 0; i < count; ++i) {
      store::InstanceRecord r;
      r.instance_id = "ins-" + std::to_string(10000000 + ++n_);
      r.uuid = r.instance_id;
      r.owner_uin = ctx_.owner_uin;
      r.state = "PENDING";
      Status st = AssignAddresses(*tx_, *plan, *request, static_cast<size_t>(i), config_, r);
      if (!st.ok()) return fail(st);
      EXPECT_TRUE(store::InsertInstance(*tx_, r).ok());
      EXPECT_TRUE(store::ReplaceSecurityGroupBindings(*tx_, r.instance_id, plan->sg_ids).ok());
      out.push_back(r);
    }
    if (code) *code = "";
    return out;
  }
  std::string NewGroup() {
    const std::string id = "sg-" + std::to_string(20000000 + ++n_);
    EXPECT_TRUE(tx_->Exec("INSERT INTO security_groups(sg_id, owner_uin, region, name, "
                          "created_at, updated_at) VALUES (?, ?, ?, 'g', 0, 0)",
                          {id, ctx_.owner_uin, ctx_.region})
                    .ok());
    return id;
  }

  api::RequestContext ctx_;
  Config config_;
  int n_ = 0;
};

TEST_F(InstanceNetworkTest, DefaultsGiveEachInstanceItsOwnAddressAndTheDefaultGroup) {
  auto two = Launch(json::object(), 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].private_ip, "172.16.0.2");
  EXPECT_EQ(two[1].private_ip, "172.16.0.3");
  EXPECT_EQ(two[0].vpc_id, two[1].vpc_id);
  EXPECT_EQ(two[0].public_ip, "");
  auto groups = store::BoundSecurityGroups(*tx_, two[0].instance_id);
  ASSERT_TRUE(groups.ok());
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ(*groups, *store::BoundSecurityGroups(*tx_, two[1].instance_id));
  auto def = store::EnsureDefaultSecurityGroup(*tx_, ctx_.owner_uin, ctx_.region);
  EXPECT_EQ(groups->front(), *def);
  // "DEFAULT"/"DEFAULT" is the same network.
  auto again =
      Launch({{"VirtualPrivateCloud", {{"VpcId", "DEFAULT"}, {"SubnetId", "DEFAULT"}}}}, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].subnet_id, two[0].subnet_id);
  EXPECT_EQ(again[0].private_ip, "172.16.0.4");
}

TEST_F(InstanceNetworkTest, RequestedAndPublicAddresses) {
  auto first = Launch(json::object(), 1);
  ASSERT_EQ(first.size(), 1u);
  json vpc = {{"VpcId", first[0].vpc_id}, {"SubnetId", first[0].subnet_id}};
  vpc["PrivateIpAddresses"] = {"172.16.0.50", "172.16.0.51"};
  auto pair = Launch(
      {{"VirtualPrivateCloud", vpc}, {"InternetAccessible", {{"PublicIpAssigned", true}}}}, 2);
  ASSERT_EQ(pair.size(), 2u);
  EXPECT_EQ(pair[0].private_ip, "172.16.0.50");
  EXPECT_EQ(pair[1].private_ip, "172.16.0.51");
  EXPECT_EQ(pair[0].public_ip, "198.18.0.1");
  EXPECT_EQ(pair[1].public_ip, "198.18.0.2");
  std::string code;
  Launch({{"InternetAccessible", {{"InternetMaxBandwidthOut", 10}}}}, 1, &code);
  EXPECT_EQ(code, "ResourcesSoldOut.EipInsufficient");  // the pool of two is used up
  vpc["PrivateIpAddresses"] = {"172.16.0.50"};
  Launch({{"VirtualPrivateCloud", vpc}}, 1, &code);
  EXPECT_EQ(code, "VpcIpIsUsed");
  vpc["PrivateIpAddresses"] = {"172.17.0.5"};
  Launch({{"VirtualPrivateCloud", vpc}}, 1, &code);
  EXPECT_EQ(code, "VpcAddrNotInSubNet");
  vpc["PrivateIpAddresses"] = {"172.16.0.60"};
  Launch({{"VirtualPrivateCloud", vpc}}, 2, &code);  // one address for two instances
  EXPECT_EQ(code, "InvalidParameterValue");
}

TEST_F(InstanceNetworkTest, NamedNetworksMustExistMatchAndBeTheCallers) {
  auto first = Launch(json::object(), 1);
  ASSERT_EQ(first.size(), 1u);
  std::string code;
  auto run = [&](const std::string& vpc, const std::string& subnet) {
    Launch({{"VirtualPrivateCloud", {{"VpcId", vpc}, {"SubnetId", subnet}}}}, 1, &code);
    return code;
  };
  EXPECT_EQ(run("vpc-00000000", first[0].subnet_id), "InvalidParameterValue.VpcIdNotExist");
  EXPECT_EQ(run(first[0].vpc_id, "subnet-00000000"), "InvalidParameterValue.SubnetNotExist");
  EXPECT_EQ(run("vpc-x", first[0].subnet_id), "InvalidParameterValue.VpcIdMalformed");
  EXPECT_EQ(run(first[0].vpc_id, "subnet-x"), "InvalidParameterValue.SubnetIdMalformed");
  // A subnet of the same VPC in another zone.
  ASSERT_TRUE(store::InsertSubnet(*tx_, {"subnet-zzzzzzzz", "100", first[0].vpc_id,
                                         "ap-guangzhou-4", "z4", "172.16.100.0/24", false, 0})
                  .ok());
  EXPECT_EQ(run(first[0].vpc_id, "subnet-zzzzzzzz"),
            "InvalidParameterValue.SubnetIdZoneIdNotMatch");
  // Another account's VPC is not found.
  ctx_.owner_uin = "200";
  EXPECT_EQ(run(first[0].vpc_id, first[0].subnet_id), "InvalidParameterValue.VpcIdNotExist");
}

TEST_F(InstanceNetworkTest, SecurityGroupsKeepBindingOrderAndTheLimit) {
  std::vector<std::string> six;
  for (int i = 0; i < 6; ++i) six.push_back(NewGroup());
  std::vector<std::string> three = {six[2], six[0], six[1]};
  auto one = Launch({{"SecurityGroupIds", three}}, 1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(*store::BoundSecurityGroups(*tx_, one[0].instance_id), three);
  std::string code;
  Launch({{"SecurityGroupIds", six}}, 1, &code);
  EXPECT_EQ(code, "LimitExceeded.AssociateUSGLimitExceeded");
  Launch({{"SecurityGroupIds", {six[0], six[0]}}}, 1, &code);
  EXPECT_EQ(code, "InvalidParameterValue");
  Launch({{"SecurityGroupIds", {"sg-00000000"}}}, 1, &code);
  EXPECT_EQ(code, "InvalidSecurityGroupId.NotFound");
  Launch({{"SecurityGroupIds", {"sg-x"}}}, 1, &code);
  EXPECT_EQ(code, "InvalidParameterValue");
  ctx_.owner_uin = "200";  // the groups are not theirs
  Launch({{"SecurityGroupIds", {six[0]}}}, 1, &code);
  EXPECT_EQ(code, "InvalidSecurityGroupId.NotFound");
}

}  // namespace
}  // namespace cvm::services
