#include "store/route_tables.h"

#include <algorithm>

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"

namespace cvm::store {

namespace {
// Kernel table numbers of route tables: apart from the VPCs' (which start at 1000 and are also
// marks and conntrack zones, so stay small).
constexpr int64_t kFirstRouteTableNumber = 1000000;

constexpr const char* kRouteColumns =
    "route_id, route_item_id, route_table_id, destination, gateway_type, gateway_id, "
    "description, created_at";
// LOCAL first, then in creation order, as Tencent lists them.
constexpr const char* kRouteOrder = " ORDER BY gateway_type != 'LOCAL', route_id";

RouteRecord RouteFromRow(const Row& r) {
  return RouteRecord{r.Int(0), r.Str(1), r.Str(2), r.Str(3),
                     r.Str(4), r.Str(5), r.Str(6), r.Int(7)};
}
}  // namespace

const char* const kRouteTableColumns =
    "route_table_id, owner_uin, region, vpc_id, name, is_main, table_id, created_at";

RouteTableRecord RouteTableFromRow(const Row& r) {
  return RouteTableRecord{r.Str(0), r.Str(1),      r.Str(2), r.Str(3),
                          r.Str(4), r.Int(5) != 0, r.Int(6), r.Int(7)};
}

Status InsertRouteTable(Transaction& tx, RouteTableRecord& t, const std::string& vpc_cidr) {
  if (t.route_table_id.empty()) t.route_table_id = NewResourceId("rtb");
  if (t.created_at == 0) t.created_at = NowUnix();
  // Allocated inside the creating transaction: writers are serialized.
  auto max = tx.Query("SELECT COALESCE(MAX(table_id), 0) FROM route_tables");
  if (!max.ok()) return max.status();
  t.table_id = std::max(kFirstRouteTableNumber, (*max)[0].Int(0) + 1);
  CVM_RETURN_IF_ERROR(tx.Exec(
      std::string("INSERT INTO route_tables(") + kRouteTableColumns + ") VALUES (?,?,?,?,?,?,?,?)",
      {t.route_table_id, t.owner_uin, t.region, t.vpc_id, t.name, int64_t{t.is_main}, t.table_id,
       t.created_at}));
  RouteRecord local{.route_table_id = t.route_table_id,
                    .destination = vpc_cidr,
                    .gateway_type = kGatewayLocal,
                    .gateway_id = "Local",
                    .created_at = t.created_at};
  return InsertRoute(tx, local);
}

Result<std::string> MainRouteTableId(Transaction& tx, const std::string& vpc_id) {
  auto rows = tx.Query("SELECT route_table_id FROM route_tables WHERE vpc_id = ? AND is_main = 1",
                       {vpc_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status(kind::kBug, "the VPC " + vpc_id + " has no main route table");
  return rows->front().Str(0);
}

Result<std::optional<RouteTableRecord>> LoadRouteTable(Transaction& tx, const Scope& scope,
                                                       const std::string& route_table_id) {
  auto rows = tx.Query(std::string("SELECT ") + kRouteTableColumns +
                           " FROM route_tables WHERE route_table_id = ? AND owner_uin = ? AND "
                           "region = ?",
                       {route_table_id, scope.owner_uin, scope.region});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<RouteTableRecord>();
  return std::optional(RouteTableFromRow(rows->front()));
}

Result<std::map<std::string, std::vector<RouteRecord>>> LoadRoutes(
    Database& db, const std::vector<std::string>& route_table_ids) {
  std::map<std::string, std::vector<RouteRecord>> out;
  for (const auto& id : route_table_ids) out[id];
  if (route_table_ids.empty()) return out;
  auto rows =
      db.Query(std::string("SELECT ") + kRouteColumns + " FROM routes WHERE route_table_id IN " +
                   InList(route_table_ids.size()) + kRouteOrder,
               Values(route_table_ids));
  if (!rows.ok()) return rows.status();
  for (const auto& r : *rows) out[r.Str(2)].push_back(RouteFromRow(r));
  return out;
}

Result<std::vector<RouteRecord>> LoadRoutes(Transaction& tx, const std::string& route_table_id) {
  auto rows = tx.Query(std::string("SELECT ") + kRouteColumns +
                           " FROM routes WHERE route_table_id = ?" + kRouteOrder,
                       {route_table_id});
  if (!rows.ok()) return rows.status();
  std::vector<RouteRecord> out;
  for (const auto& r : *rows) out.push_back(RouteFromRow(r));
  return out;
}

Result<std::map<std::string, std::vector<std::string>>> LoadAssociations(
    Database& db, const std::vector<std::string>& route_table_ids) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& id : route_table_ids) out[id];
  if (route_table_ids.empty()) return out;
  auto rows = db.Query("SELECT route_table_id, subnet_id FROM subnets WHERE route_table_id IN " +
                           InList(route_table_ids.size()) + " ORDER BY created_at, rowid",
                       Values(route_table_ids));
  if (!rows.ok()) return rows.status();
  for (const auto& r : *rows) out[r.Str(0)].push_back(r.Str(1));
  return out;
}

Result<int64_t> CountRouteTables(Transaction& tx, const std::string& vpc_id) {
  auto rows = tx.Query("SELECT COUNT(*) FROM route_tables WHERE vpc_id = ?", {vpc_id});
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

Result<int64_t> CountAssociatedSubnets(Transaction& tx, const std::string& route_table_id) {
  auto rows = tx.Query("SELECT COUNT(*) FROM subnets WHERE route_table_id = ?", {route_table_id});
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

Status InsertRoute(Transaction& tx, RouteRecord& r) {
  r.route_item_id = NewResourceId("rti");
  if (r.created_at == 0) r.created_at = NowUnix();
  CVM_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO routes(route_item_id, route_table_id, destination, gateway_type, "
              "gateway_id, description, created_at) VALUES (?,?,?,?,?,?,?)",
              {r.route_item_id, r.route_table_id, r.destination, r.gateway_type, r.gateway_id,
               r.description, r.created_at}));
  auto id = tx.Query("SELECT route_id FROM routes WHERE route_item_id = ?", {r.route_item_id});
  if (!id.ok()) return id.status();
  if (id->empty()) return Status(kind::kBug, "route " + r.route_item_id + " vanished");
  r.route_id = id->front().Int(0);
  return Status::Ok();
}

Status UpdateRoute(Transaction& tx, const RouteRecord& r) {
  return tx.Exec(
      "UPDATE routes SET destination = ?, gateway_type = ?, gateway_id = ?, description = ? "
      "WHERE route_id = ?",
      {r.destination, r.gateway_type, r.gateway_id, r.description, r.route_id});
}

Status DeleteRoute(Transaction& tx, int64_t route_id) {
  return tx.Exec("DELETE FROM routes WHERE route_id = ?", {route_id});
}

Status RenameRouteTable(Transaction& tx, const std::string& route_table_id,
                        const std::string& name) {
  return tx.Exec("UPDATE route_tables SET name = ? WHERE route_table_id = ?",
                 {name, route_table_id});
}

Status AssociateSubnet(Transaction& tx, const std::string& subnet_id,
                       const std::string& route_table_id) {
  return tx.Exec("UPDATE subnets SET route_table_id = ? WHERE subnet_id = ?",
                 {route_table_id, subnet_id});
}

Status DeleteRouteTable(Transaction& tx, const std::string& route_table_id) {
  CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM routes WHERE route_table_id = ?", {route_table_id}));
  CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM tags WHERE resource_id = ?", {route_table_id}));
  return tx.Exec("DELETE FROM route_tables WHERE route_table_id = ?", {route_table_id});
}

Status DeleteVpcRouteTables(Transaction& tx, const std::string& vpc_id) {
  auto rows = tx.Query("SELECT route_table_id FROM route_tables WHERE vpc_id = ?", {vpc_id});
  if (!rows.ok()) return rows.status();
  for (const auto& r : *rows) CVM_RETURN_IF_ERROR(DeleteRouteTable(tx, r.Str(0)));
  return Status::Ok();
}

Result<bool> IsInstanceAddressInVpc(Transaction& tx, const std::string& vpc_id,
                                    const std::string& ip) {
  auto rows = tx.Query(
      "SELECT 1 FROM instances WHERE vpc_id = ? AND private_ip = ? AND deleted = 0 LIMIT 1",
      {vpc_id, ip});
  if (!rows.ok()) return rows.status();
  return !rows->empty();
}

Result<std::vector<SubnetRoute>> LoadSubnetRoutes(Database& db) {
  auto rows = db.Query(
      "SELECT s.cidr, v.table_id, v.cidr, r.table_id, rt.destination, rt.gateway_id, "
      "COALESCE(i.instance_id, '') FROM subnets s "
      "JOIN vpcs v ON v.vpc_id = s.vpc_id "
      "JOIN route_tables r ON r.route_table_id = s.route_table_id "
      "JOIN routes rt ON rt.route_table_id = r.route_table_id AND rt.gateway_type = ? "
      "LEFT JOIN instances i ON i.vpc_id = v.vpc_id AND i.private_ip = rt.gateway_id AND "
      "i.deleted = 0 ORDER BY s.subnet_id, rt.route_id",
      {std::string(kGatewayNormalCvm)});
  if (!rows.ok()) return rows.status();
  std::vector<SubnetRoute> out;
  for (const auto& r : *rows) {
    out.push_back(
        SubnetRoute{r.Str(0), r.Int(1), r.Str(2), r.Int(3), r.Str(4), r.Str(5), r.Str(6)});
  }
  return out;
}

Result<Page<RouteTableRecord>> ListRouteTables(Database& db, const Scope& scope,
                                               const RouteTableFilter& f, const PageRequest& page) {
  ListQuery q("owner_uin = ? AND region = ?", {scope.owner_uin, scope.region});
  if (!f.ids.empty()) q.In("route_table_id", f.ids);
  q.In("name", f.names);
  q.In("route_table_id", f.route_table_ids);
  q.In("vpc_id", f.vpc_ids);
  q.Flag("is_main", f.is_main);
  if (f.match_nothing) q.MatchNothing();
  q.Tagged("route_table_id", f.tags);
  return TypedPage<RouteTableRecord>(
      q.List(db, "route_tables", "route_table_id", kRouteTableColumns, "created_at, rowid", page),
      RouteTableFromRow);
}

}  // namespace cvm::store
