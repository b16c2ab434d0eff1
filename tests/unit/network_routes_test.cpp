// Route tables in the data path, as plans and `ip` commands: which subnets get a policy rule,
// what their kernel table holds, and that applying is a difference against what the kernel
// already has (nothing re-added, strays of other route tables removed, foreign rules kept).
#include <gtest/gtest.h>

#include "common/ids.h"

#include "drivers/network/links.h"
#include "engine/network_plane.h"
#include "store/network_records.h"
#include "store/route_tables.h"
#include "store_fixture.h"

namespace cvm {
namespace {

namespace dn = drivers::network;

store::SubnetRoute Route(std::string subnet, int64_t mark, int64_t table, std::string dest,
                         std::string hop, std::string instance) {
  return {.subnet_cidr = std::move(subnet),
          .vpc_mark = mark,
          .vpc_cidr = "10.9.0.0/16",
          .kernel_table = table,
          .destination = std::move(dest),
          .next_hop_ip = std::move(hop),
          .next_hop_instance = std::move(instance)};
}

std::vector<std::string> Commands(const std::string& rules, const std::string& routes,
                                  const dn::RoutingPlan& plan) {
  auto c = dn::RoutingCommands(rules, routes, plan);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : std::vector<std::string>{};
}

TEST(RoutingPlan, EachSubnetOfATableWithRoutesLooksItUpFirst) {
  // Two subnets share table 1000001; a route whose next hop is not plugged is left out (its
  // packets fall through to the VPC's table), but its subnet's rule and throws (the VPC's
  // CIDR, the uplink's) stay.
  auto plan = engine::RoutingPlanOf(
      {Route("10.9.1.0/24", 1001, 1000001, "192.168.77.0/24", "10.9.1.5", "ins-bbbbbbbb"),
       Route("10.9.2.0/24", 1001, 1000001, "192.168.77.0/24", "10.9.1.5", "ins-bbbbbbbb"),
       Route("10.9.1.0/24", 1001, 1000001, "0.0.0.0/0", "10.9.1.6", "ins-cccccccc"),
       Route("10.9.1.0/24", 1002, 1000002, "192.168.0.0/16", "10.9.1.7", "")},
      {"ins-bbbbbbbb"}, *network::ParseCidr("169.254.9.0/30", true));
  auto cmds = Commands("[]", "[]", plan);
  EXPECT_EQ(cmds, (std::vector<std::string>{
                      "route replace throw 10.9.0.0/16 table 1000001",
                      "route replace throw 169.254.9.0/30 table 1000001",
                      "route replace 192.168.77.0/24 via 10.9.1.5 dev tap-bbbbbbbb onlink table "
                      "1000001",
                      "route replace throw 10.9.0.0/16 table 1000002",
                      "route replace throw 169.254.9.0/30 table 1000002",
                      "rule add from 10.9.1.0/24 fwmark 1001 lookup 1000001 priority 90",
                      "rule add from 10.9.1.0/24 fwmark 1002 lookup 1000002 priority 90",
                      "rule add from 10.9.2.0/24 fwmark 1001 lookup 1000001 priority 90",
                  }));
}

TEST(RoutingPlan, ApplyingIsADifferenceAgainstTheKernel) {
  dn::RoutingPlan plan;
  plan.rules.push_back(
      {.source = *network::ParseCidr("10.9.1.0/24", true), .mark = 1001, .table = 1000001});
  plan.routes.push_back(
      {.table = 1000001, .destination = *network::ParseCidr("10.9.0.0/16", true)});
  plan.routes.push_back({.table = 1000001,
                         .destination = *network::ParseCidr("0.0.0.0/0", true),
                         .next_hop = *network::ParseIpv4("10.9.1.5"),
                         .tap = "tap-bbbbbbbb"});
  // What `ip -j` prints once that is applied, plus a VPC's rules and routes (not ours) and a
  // stale rule and route of a deleted route table.
  const std::string rules = R"([
    {"priority":0,"src":"all","table":"local"},
    {"priority":90,"src":"10.9.1.0","srclen":24,"fwmark":"0x3e9","table":"1000001"},
    {"priority":90,"src":"10.9.3.0","srclen":24,"fwmark":"0x3e9","table":"1000009"},
    {"priority":100,"src":"all","iif":"tap-aaaaaaaa","table":"1001"},
    {"priority":200,"src":"all","fwmark":"0x3e9","table":"1001"}])";
  const std::string routes = R"([
    {"type":"throw","dst":"10.9.0.0/16","table":"1000001","flags":[]},
    {"dst":"default","gateway":"10.9.1.5","dev":"tap-bbbbbbbb","table":"1000001",
     "flags":["onlink"]},
    {"dst":"192.168.5.0/24","gateway":"10.9.3.9","dev":"tap-dddddddd","table":"1000009",
     "flags":["onlink"]},
    {"dst":"10.9.1.2","dev":"tap-aaaaaaaa","table":"1001","flags":[]},
    {"type":"throw","dst":"default","table":"1001","flags":[]},
    {"type":"local","dst":"127.0.0.1","dev":"lo","table":"local","flags":[]}])";
  EXPECT_EQ(Commands(rules, routes, plan),
            (std::vector<std::string>{
                "rule del from 10.9.3.0/24 fwmark 1001 lookup 1000009 priority 90",
                "route del 192.168.5.0/24 table 1000009",
            }));
  // A next hop that moved is replaced in place.
  plan.routes[1].next_hop = *network::ParseIpv4("10.9.1.6");
  plan.routes[1].tap = "tap-cccccccc";
  auto cmds = Commands(rules, routes, plan);
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(cmds[2], "route replace 0.0.0.0/0 via 10.9.1.6 dev tap-cccccccc onlink table 1000001");
  // An empty plan removes every route table's rule and route, and nothing of the VPCs'.
  EXPECT_EQ(Commands(rules, routes, {}),
            (std::vector<std::string>{
                "rule del from 10.9.1.0/24 fwmark 1001 lookup 1000001 priority 90",
                "rule del from 10.9.3.0/24 fwmark 1001 lookup 1000009 priority 90",
                "route del 0.0.0.0/0 table 1000001",
                "route del 10.9.0.0/16 table 1000001",
                "route del 192.168.5.0/24 table 1000009",
            }));
}

class RouteTableStoreTest : public testutil::StoreTransactionTest {};

// The default VPC made on first use gets its main table in the same transaction, with the
// LOCAL route, and its default subnet is associated with it; deleting the VPC's tables takes
// their routes.
TEST_F(RouteTableStoreTest, EveryVpcHasAMainTableItsSubnetsUse) {
  Config config;
  auto net = store::EnsureDefaultNetwork(*tx_, "100", "ap-guangzhou", "ap-guangzhou-3", config);
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  auto main = store::MainRouteTableId(*tx_, net->vpc.vpc_id);
  ASSERT_TRUE(main.ok()) << main.status().ToString();
  EXPECT_EQ(net->subnet.route_table_id, *main);
  auto t = store::LoadRouteTable(*tx_, {"100", "ap-guangzhou"}, *main);
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_TRUE((*t)->is_main);
  EXPECT_GE((*t)->table_id, int64_t{dn::kFirstRouteTable});
  EXPECT_FALSE(store::LoadRouteTable(*tx_, {"101", "ap-guangzhou"}, *main)->has_value());
  EXPECT_FALSE(store::LoadRouteTable(*tx_, {"100", "ap-shanghai"}, *main)->has_value());
  auto routes = store::LoadRoutes(*tx_, *main);
  ASSERT_TRUE(routes.ok());
  ASSERT_EQ(routes->size(), 1u);
  EXPECT_EQ((*routes)[0].destination, net->vpc.cidr);
  EXPECT_EQ((*routes)[0].gateway_type, "LOCAL");
  ASSERT_TRUE(store::DeleteVpcRouteTables(*tx_, net->vpc.vpc_id).ok());
  EXPECT_TRUE(store::LoadRoutes(*tx_, *main)->empty());
  EXPECT_FALSE(store::MainRouteTableId(*tx_, net->vpc.vpc_id).ok());
}

// VPCs from before route tables get their main table, LOCAL route and associations from the
// migration.
TEST(RouteTableMigration, ExistingVpcsGetTheirMainTable) {
  testutil::TempDir dir;
  {
    auto db = store::OpenSqliteDatabase(dir.path() / "cvmd.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    Status st = store::WithTransaction(**db, [](store::Transaction& tx) -> Status {
      // Later migrations' view reads route_tables; it is not what this test is about.
      CVM_RETURN_IF_ERROR(tx.Exec("DROP VIEW IF EXISTS taggable_resources"));
      CVM_RETURN_IF_ERROR(tx.Exec("DROP TABLE route_tables"));
      CVM_RETURN_IF_ERROR(tx.Exec("DROP TABLE routes"));
      CVM_RETURN_IF_ERROR(tx.Exec("DROP INDEX subnets_by_route_table"));
      CVM_RETURN_IF_ERROR(tx.Exec("ALTER TABLE subnets DROP COLUMN route_table_id"));
      CVM_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO vpcs(vpc_id, owner_uin, region, name, cidr, table_id, created_at) "
                  "VALUES ('vpc-aaaaaaaa', '100', 'ap-guangzhou', 'old', '10.7.0.0/16', 1000, 5)"));
      CVM_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO subnets(subnet_id, owner_uin, vpc_id, zone, name, cidr, created_at) "
                  "VALUES ('subnet-aaaaaaaa', '100', 'vpc-aaaaaaaa', 'ap-guangzhou-3', 's', "
                  "'10.7.1.0/24', 5)"));
      return tx.Exec("DELETE FROM schema_migrations WHERE version = 14");
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto db = store::OpenSqliteDatabase(dir.path() / "cvmd.db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto rows = (*db)->Query(
      "SELECT r.route_table_id, r.is_main, r.region, r.table_id, s.route_table_id, "
      "rt.destination, rt.gateway_type FROM route_tables r JOIN subnets s ON s.vpc_id = r.vpc_id "
      "JOIN routes rt ON rt.route_table_id = r.route_table_id WHERE r.vpc_id = 'vpc-aaaaaaaa'");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  const auto& r = rows->front();
  EXPECT_TRUE(IsWellFormedId("rtb", r.Str(0))) << r.Str(0);
  EXPECT_EQ(r.Int(1), 1);
  EXPECT_EQ(r.Str(2), "ap-guangzhou");
  EXPECT_GE(r.Int(3), int64_t{dn::kFirstRouteTable});
  EXPECT_EQ(r.Str(4), r.Str(0));
  EXPECT_EQ(r.Str(5), "10.7.0.0/16");
  EXPECT_EQ(r.Str(6), "LOCAL");
}

}  // namespace
}  // namespace cvm
