// Store-level network helpers on a real migrated SQLite database: default network and group
// created once, lowest-free address allocation with reserved addresses skipped, requested
// addresses checked, exhaustion, and addresses of deleted instances reused.
#include <gtest/gtest.h>

#include "store/instance_records.h"
#include "store/network_records.h"
#include "store_fixture.h"

namespace cvm::store {
namespace {

using network::ParseCidr;

class NetworkRecordsTest : public testutil::StoreTransactionTest {
 protected:
  // A live instance holding `ip` (and `public_ip`) in `subnet`.
  void AddInstance(const std::string& subnet, const std::string& ip,
                   const std::string& public_ip = "", bool deleted = false) {
    InstanceRecord r;
    r.instance_id = "ins-" + std::to_string(10000000 + ++n_);
    r.uuid = r.instance_id;
    r.owner_uin = "100";
    r.state = "RUNNING";
    r.subnet_id = subnet;
    r.private_ip = ip;
    r.public_ip = public_ip;
    ASSERT_TRUE(InsertInstance(*tx_, r).ok());
    if (deleted) {
      ASSERT_TRUE(
          tx_->Exec("UPDATE instances SET deleted = 1 WHERE instance_id = ?", {r.instance_id})
              .ok());
    }
  }
  std::string Alloc(const std::string& cidr, const std::string& requested = "",
                    std::string* code = nullptr) {
    auto ip = AllocatePrivateIp(*tx_, "subnet-aaaaaaaa", *ParseCidr(cidr, true), requested);
    if (code) *code = ip.ok() ? "" : ip.status().code();
    return ip.ok() ? *ip : "";
  }

  int n_ = 0;
};

TEST_F(NetworkRecordsTest, PrivateAddressesAreTheLowestFreeNotReservedOnes) {
  EXPECT_EQ(Alloc("10.0.1.0/24"), "10.0.1.2");  // .0 network, .1 gateway
  AddInstance("subnet-aaaaaaaa", "10.0.1.2");
  AddInstance("subnet-aaaaaaaa", "10.0.1.4");
  AddInstance("subnet-bbbbbbbb", "10.0.1.3");  // another subnet: does not count
  EXPECT_EQ(Alloc("10.0.1.0/24"), "10.0.1.3");
  AddInstance("subnet-aaaaaaaa", "10.0.1.3", "", /*deleted=*/true);  // freed by deletion
  EXPECT_EQ(Alloc("10.0.1.0/24"), "10.0.1.3");
}

TEST_F(NetworkRecordsTest, ASubnetRunsOutAndNeverHandsOutBroadcast) {
  // A /29: .0 network, .1 gateway, .7 broadcast; .2 to .6 usable.
  for (int i = 2; i <= 6; ++i) {
    std::string ip = Alloc("192.168.0.0/29");
    EXPECT_EQ(ip, "192.168.0." + std::to_string(i));
    AddInstance("subnet-aaaaaaaa", ip);
  }
  std::string code;
  EXPECT_EQ(Alloc("192.168.0.0/29", "", &code), "");
  EXPECT_EQ(code, "FailedOperation.NoAvailableIpAddressCountInSubnet");
}

TEST_F(NetworkRecordsTest, RequestedAddressesMustBeInsideFreeAndNotReserved) {
  AddInstance("subnet-aaaaaaaa", "10.0.1.9");
  EXPECT_EQ(Alloc("10.0.1.0/24", "10.0.1.77"), "10.0.1.77");
  std::string code;
  Alloc("10.0.1.0/24", "10.0.1.9", &code);
  EXPECT_EQ(code, "VpcIpIsUsed");
  for (const char* outside : {"10.0.2.5", "10.0.1.0", "10.0.1.1", "10.0.1.255"}) {
    Alloc("10.0.1.0/24", outside, &code);
    EXPECT_EQ(code, "VpcAddrNotInSubNet") << outside;
  }
  Alloc("10.0.1.0/24", "10.0.1", &code);
  EXPECT_EQ(code, "InvalidParameterValue.IPAddressMalformed");
}

TEST_F(NetworkRecordsTest, PublicAddressesSkipNetworkAndBroadcastAndRunOut) {
  auto pool = *ParseCidr("198.18.0.0/30", true);  // .1 and .2 usable
  auto a = AllocatePublicIp(*tx_, pool);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "198.18.0.1");
  AddInstance("subnet-aaaaaaaa", "10.0.0.2", *a);
  EXPECT_EQ(*AllocatePublicIp(*tx_, pool), "198.18.0.2");
  AddInstance("subnet-bbbbbbbb", "10.0.0.2", "198.18.0.2");
  auto none = AllocatePublicIp(*tx_, pool);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), "ResourcesSoldOut.EipInsufficient");
}

TEST_F(NetworkRecordsTest, DefaultNetworkIsMadeOncePerAccountRegionAndZone) {
  Config config;
  auto a = EnsureDefaultNetwork(*tx_, "100", "ap-guangzhou", "ap-guangzhou-3", config);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->vpc.cidr, "172.16.0.0/16");
  EXPECT_EQ(a->vpc.name, "Default-VPC");
  EXPECT_TRUE(a->vpc.is_default);
  EXPECT_EQ(a->subnet.cidr, "172.16.0.0/20");
  EXPECT_EQ(a->subnet.name, "Default-Subnet");
  auto again = EnsureDefaultNetwork(*tx_, "100", "ap-guangzhou", "ap-guangzhou-3", config);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->vpc.vpc_id, a->vpc.vpc_id);
  EXPECT_EQ(again->subnet.subnet_id, a->subnet.subnet_id);
  // A user subnet takes the next /20; the next zone's default skips it.
  ASSERT_TRUE(InsertSubnet(*tx_, {"subnet-cccccccc", "100", a->vpc.vpc_id, "ap-guangzhou-3", "u",
                                  "172.16.16.0/24", false, 0})
                  .ok());
  auto z4 = EnsureDefaultNetwork(*tx_, "100", "ap-guangzhou", "ap-guangzhou-4", config);
  ASSERT_TRUE(z4.ok());
  EXPECT_EQ(z4->vpc.vpc_id, a->vpc.vpc_id);
  EXPECT_EQ(z4->subnet.cidr, "172.16.32.0/20");
  // Another account gets its own VPC on the same CIDR with the next data-path table.
  auto b = EnsureDefaultNetwork(*tx_, "200", "ap-guangzhou", "ap-guangzhou-3", config);
  ASSERT_TRUE(b.ok());
  EXPECT_NE(b->vpc.vpc_id, a->vpc.vpc_id);
  EXPECT_EQ(b->subnet.cidr, "172.16.0.0/20");
  auto tables = tx_->Query("SELECT table_id FROM vpcs ORDER BY table_id");
  ASSERT_TRUE(tables.ok());
  ASSERT_EQ(tables->size(), 2u);
  EXPECT_EQ((*tables)[0].Int(0), 1000);
  EXPECT_EQ((*tables)[1].Int(0), 1001);
}

TEST_F(NetworkRecordsTest, DefaultSecurityGroupHasTencentsDefaultRules) {
  auto id = EnsureDefaultSecurityGroup(*tx_, "100", "ap-guangzhou");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*EnsureDefaultSecurityGroup(*tx_, "100", "ap-guangzhou"), *id);
  EXPECT_NE(*EnsureDefaultSecurityGroup(*tx_, "200", "ap-guangzhou"), *id);
  // Each region has its own.
  EXPECT_NE(*EnsureDefaultSecurityGroup(*tx_, "100", "ap-shanghai"), *id);
  auto in = LoadSecurityGroupRules(*tx_, *id, "INGRESS");
  ASSERT_TRUE(in.ok());
  std::vector<std::string> seen;
  for (const auto& r : *in) seen.push_back(r.rule.protocol + ":" + r.rule.port);
  EXPECT_EQ(seen,
            (std::vector<std::string>{"TCP:22", "TCP:3389", "TCP:80", "TCP:443", "ICMP:ALL"}));
  for (const auto& r : *in) {
    EXPECT_EQ(r.rule.cidr, "0.0.0.0/0");
    EXPECT_EQ(r.rule.action, "ACCEPT");
    EXPECT_TRUE(network::NormalizeRule(r.rule).ok());  // stored in canonical form
  }
  auto out = LoadSecurityGroupRules(*tx_, *id, "EGRESS");
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].rule.protocol, "ALL");
}

}  // namespace
}  // namespace cvm::store
