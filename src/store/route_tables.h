// Route tables and their routes as the store keeps them. Every VPC has one main table (made with
// the VPC, never deleted apart from it); a subnet is associated with exactly one table of its
// VPC (subnets.route_table_id), the main one unless moved. Each table holds its LOCAL route (the
// VPC's CIDR, a row like any other so it has Tencent's ids) and the user's routes. Everything
// here runs inside the caller's transaction unless it takes a Database.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/database.h"
#include "store/listing.h"

namespace cvm::store {

inline constexpr const char* kGatewayLocal = "LOCAL";
inline constexpr const char* kGatewayNormalCvm = "NORMAL_CVM";

struct RouteTableRecord {
  std::string route_table_id, owner_uin, region, vpc_id, name;
  bool is_main = false;
  int64_t table_id = 0, created_at = 0;
};
extern const char* const kRouteTableColumns;
RouteTableRecord RouteTableFromRow(const Row& row);

struct RouteRecord {
  int64_t route_id = 0;
  std::string route_item_id, route_table_id, destination, gateway_type, gateway_id, description;
  int64_t created_at = 0;
};

// DescribeRouteTables: every set field narrows the listing.
struct RouteTableFilter {
  std::vector<std::string> ids;  // RouteTableIds; empty: no condition
  AnyOf route_table_ids, names, vpc_ids;
  std::optional<bool> is_main;
  TagFilter tags;
  bool match_nothing = false;
};
// In creation order.
Result<Page<RouteTableRecord>> ListRouteTables(Database& db, const Scope& scope,
                                               const RouteTableFilter& f, const PageRequest& page);

// A new table of `vpc_cidr`'s VPC (its id, kernel table number and LOCAL route are made here).
Status InsertRouteTable(Transaction& tx, RouteTableRecord& t, const std::string& vpc_cidr);
// The VPC's main table (InsertVpc makes it with the VPC).
Result<std::string> MainRouteTableId(Transaction& tx, const std::string& vpc_id);
// The caller's table, or nullopt (another account's or region's is not found either).
Result<std::optional<RouteTableRecord>> LoadRouteTable(Transaction& tx, const Scope& scope,
                                                       const std::string& route_table_id);
// Routes of the tables (LOCAL first, then by RouteId), keyed by table id.
Result<std::map<std::string, std::vector<RouteRecord>>> LoadRoutes(
    Database& db, const std::vector<std::string>& route_table_ids);
Result<std::vector<RouteRecord>> LoadRoutes(Transaction& tx, const std::string& route_table_id);
// Subnets associated with each table, keyed by table id.
Result<std::map<std::string, std::vector<std::string>>> LoadAssociations(
    Database& db, const std::vector<std::string>& route_table_ids);
Result<int64_t> CountRouteTables(Transaction& tx, const std::string& vpc_id);
Result<int64_t> CountAssociatedSubnets(Transaction& tx, const std::string& route_table_id);

// Inserts a route (fills route_id, route_item_id, created_at).
Status InsertRoute(Transaction& tx, RouteRecord& r);
// Rewrites destination, gateway and description of route `r.route_id`.
Status UpdateRoute(Transaction& tx, const RouteRecord& r);
Status DeleteRoute(Transaction& tx, int64_t route_id);

Status RenameRouteTable(Transaction& tx, const std::string& route_table_id,
                        const std::string& name);
Status AssociateSubnet(Transaction& tx, const std::string& subnet_id,
                       const std::string& route_table_id);
// The table, its routes and tags.
Status DeleteRouteTable(Transaction& tx, const std::string& route_table_id);
// Every table of the VPC, with routes and tags (when the VPC goes).
Status DeleteVpcRouteTables(Transaction& tx, const std::string& vpc_id);

// Whether a live instance of the VPC holds private address `ip` (a NORMAL_CVM next hop).
Result<bool> IsInstanceAddressInVpc(Transaction& tx, const std::string& vpc_id,
                                    const std::string& ip);

// One NORMAL_CVM route as it applies to one subnet's packets: what the data path needs.
struct SubnetRoute {
  std::string subnet_cidr;
  int64_t vpc_mark = 0;  // the VPC's table_id (its packets' mark)
  std::string vpc_cidr;
  int64_t kernel_table = 0;  // the route table's table_id
  std::string destination, next_hop_ip;
  std::string next_hop_instance;  // '' when no live instance holds next_hop_ip
};
Result<std::vector<SubnetRoute>> LoadSubnetRoutes(Database& db);

}  // namespace cvm::store
