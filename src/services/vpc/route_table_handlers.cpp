// Route tables and routes: every VPC has a main table (made with it, see store/route_tables.h);
// a subnet uses one table of its VPC. A route sends a subnet's packets for a destination outside
// the VPC to an instance of the VPC (NORMAL_CVM); the LOCAL route is the system's. Changes reach
// the data path through Engine::SyncNetwork, like security groups.
#include <set>

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "network/ipv4.h"
#include "services/resource_tags.h"
#include "services/service_deps.h"
#include "services/vpc/vpc_common.h"
#include "store/route_tables.h"

namespace cvm::services {
namespace {

using namespace vpc;
using store::RouteRecord;
using store::RouteTableRecord;

constexpr int64_t kMaxRouteTablesPerVpc = 10;
constexpr size_t kMaxRoutesPerTable = 200;
constexpr size_t kMaxDescription = 100;

json RouteJson(const RouteRecord& r) {
  const bool local = r.gateway_type == store::kGatewayLocal;
  return json{{"RouteTableId", r.route_table_id},
              {"RouteId", r.route_id},
              {"RouteItemId", r.route_item_id},
              {"DestinationCidrBlock", r.destination},
              {"DestinationIpv6CidrBlock", ""},
              {"GatewayType", r.gateway_type},
              {"GatewayId", r.gateway_id},
              {"RouteDescription", r.description},
              {"CreatedTime", FormatDateTime(r.created_at)},
              // The LOCAL route is the system's: not the user's to edit or delete.
              {"RouteType", local ? "NETD" : "USER"},
              {"Enabled", true},
              {"PublishedToVbc", false},
              {"CdcId", ""}};
}

json RouteSetJson(const std::vector<RouteRecord>& routes) {
  json set = json::array();
  for (const auto& r : routes) set.push_back(RouteJson(r));
  return set;
}

// `routes`: what RouteSet shows (all of the table's, or only the ones just made).
json RouteTableJson(const RouteTableRecord& t, const std::vector<RouteRecord>& routes,
                    const std::vector<std::string>& subnets, json tags,
                    const std::string& vpc_cidr) {
  json assoc = json::array();
  for (const auto& s : subnets)
    assoc.push_back({{"SubnetId", s}, {"RouteTableId", t.route_table_id}});
  return json{{"VpcId", t.vpc_id},
              {"RouteTableId", t.route_table_id},
              {"RouteTableName", t.name},
              {"AssociationSet", std::move(assoc)},
              {"RouteSet", RouteSetJson(routes)},
              {"Main", t.is_main},
              {"CreatedTime", FormatDateTime(t.created_at)},
              {"TagSet", std::move(tags)},
              {"LocalCidrForCcn", json::array({{{"Cidr", vpc_cidr}, {"PublishedToVbc", false}}})}};
}

// The table's VPC CIDR: its LOCAL route's destination.
std::string LocalCidr(const std::vector<RouteRecord>& routes) {
  for (const auto& r : routes) {
    if (r.gateway_type == store::kGatewayLocal) return r.destination;
  }
  return "";
}

// The destination, next hop and description of a route as given, checked against its VPC:
// a well-formed IPv4 block not inside the VPC (its addresses are the LOCAL route's), and a
// next hop the data path honours.
Result<RouteRecord> ParseRoute(store::Transaction& tx, const json& r, const store::VpcRecord& vpc) {
  RouteRecord out;
  // Required here, not in DeleteRoutes, which shares the structure.
  for (const char* field : {"DestinationCidrBlock", "GatewayType", "GatewayId"}) {
    if (!r.contains(field)) {
      return Status(err::kMissingParameter, std::string("Each of Routes needs its ") + field + ".");
    }
  }
  if (!r.value("DestinationIpv6CidrBlock", "").empty()) {
    return Status(err::kUnsupportedOperationNotSupportRouteType,
                  "IPv6 routes are not offered here (the data path is IPv4).");
  }
  const std::string dest = r.value("DestinationCidrBlock", "");
  auto cidr = network::ParseCidr(dest, /*strict=*/true);
  if (!cidr) {
    return Status(err::kInvalidParameterValueMalformed,
                  "DestinationCidrBlock `" + dest.substr(0, 40) + "` is not a CIDR block.");
  }
  auto vpc_cidr = network::ParseCidr(vpc.cidr, true);
  if (vpc_cidr && vpc_cidr->Contains(*cidr)) {
    return Status(err::kInvalidParameterValueVpcCidrOverlapRoute,
                  "DestinationCidrBlock " + cidr->ToString() + " lies inside " + vpc.cidr + " of " +
                      vpc.vpc_id + ", which its LOCAL route serves.");
  }
  out.destination = cidr->ToString();
  out.gateway_type = r.value("GatewayType", "");
  out.gateway_id = r.value("GatewayId", "");
  out.description = r.value("RouteDescription", "");
  if (out.description.size() > kMaxDescription) {
    return Status(err::kInvalidParameterValueTooLong,
                  "RouteDescription is longer than " + std::to_string(kMaxDescription) + " bytes.");
  }
  if (r.contains("Enabled") && !r["Enabled"].get<bool>()) {
    return Status(err::kUnsupportedOperation, "Disabled routes are not offered here.");
  }
  if (out.gateway_type == store::kGatewayLocal) {
    return Status(err::kUnsupportedOperationSystemRoute,
                  "LOCAL routes are the system's: each table has its VPC's one.");
  }
  if (out.gateway_type != store::kGatewayNormalCvm) {
    return Status(err::kUnsupportedOperationNotSupportRouteType,
                  "GatewayType `" + out.gateway_type.substr(0, 32) +
                      "` is not offered here; routes go to an instance (NORMAL_CVM).");
  }
  if (!network::ParseIpv4(out.gateway_id)) {
    return Status(err::kInvalidParameterValueRouteNextHopInvalid,
                  "GatewayId `" + out.gateway_id.substr(0, 40) +
                      "` is not an IPv4 address: a NORMAL_CVM next hop is an instance's private "
                      "address.");
  }
  auto held = store::IsInstanceAddressInVpc(tx, vpc.vpc_id, out.gateway_id);
  if (!held.ok()) return held.status();
  if (!*held) {
    return Status(err::kInvalidParameterValueRouteNextHopInvalid,
                  "No instance of " + vpc.vpc_id + " has the address " + out.gateway_id + ".");
  }
  return out;
}

// The routes named by RouteId or RouteItemId (each at most once), from the table's `routes`;
// the LOCAL route is not the caller's to change.
Result<std::vector<RouteRecord>> NamedRoutes(const json& p, const std::vector<RouteRecord>& routes,
                                             const std::string& route_table_id) {
  auto it = p.find("Routes");
  if (it == p.end() || it->empty()) {
    return Status(err::kMissingParameter, "Routes names no route.");
  }
  std::vector<RouteRecord> out;
  std::set<int64_t> seen;
  for (const auto& r : *it) {
    const RouteRecord* found = nullptr;
    const std::string item = r.value("RouteItemId", "");
    const int64_t id = r.contains("RouteId") ? r["RouteId"].get<int64_t>() : 0;
    for (const auto& existing : routes) {
      if ((id != 0 && existing.route_id == id) ||
          (!item.empty() && existing.route_item_id == item)) {
        found = &existing;
      }
    }
    if (!found) {
      return Status(err::kInvalidRouteIdNotFound,
                    "The route " + (item.empty() ? std::to_string(id) : item.substr(0, 40)) +
                        " is not in " + route_table_id + ".");
    }
    if (found->gateway_type == store::kGatewayLocal) {
      return Status(err::kUnsupportedOperationSystemRoute,
                    "The LOCAL route " + std::to_string(found->route_id) +
                        " is the system's and cannot be changed.");
    }
    if (!seen.insert(found->route_id).second) {
      return Status(err::kInvalidParameterValueDuplicate,
                    "The route " + std::to_string(found->route_id) + " is named twice.");
    }
    out.push_back(*found);
  }
  return out;
}

// Refuses a destination that another route of the table (or of the same call) already has.
Status CheckUnique(std::set<std::string>& destinations, const RouteRecord& r) {
  if (!destinations.insert(r.destination).second) {
    return Status(err::kInvalidParameterValueDuplicate,
                  "The table already has a route to " + r.destination + ".");
  }
  return Status::Ok();
}

Result<json> CreateRouteTable(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  RouteTableRecord t{
      .owner_uin = ctx.owner_uin, .region = ctx.region, .name = p.value("RouteTableName", "")};
  CVM_RETURN_IF_ERROR(CheckName(t.name, "RouteTableName"));
  std::vector<RouteRecord> routes;
  std::string vpc_cidr;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto v = LoadOwnedVpc(tx, ctx, p.value("VpcId", ""));
    if (!v.ok()) return v.status();
    auto count = store::CountRouteTables(tx, v->vpc_id);
    if (!count.ok()) return count.status();
    if (*count >= kMaxRouteTablesPerVpc) {
      return Status(err::kLimitExceeded,
                    "At most " + std::to_string(kMaxRouteTablesPerVpc) + " route tables per VPC.");
    }
    t.vpc_id = v->vpc_id;
    vpc_cidr = v->cidr;
    CVM_RETURN_IF_ERROR(store::InsertRouteTable(tx, t, v->cidr));
    CVM_RETURN_IF_ERROR(InsertTags(tx, p, t.route_table_id, ctx.owner_uin));
    auto made = store::LoadRoutes(tx, t.route_table_id);
    if (!made.ok()) return made.status();
    routes = std::move(*made);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return json{
      {"RouteTable",
       RouteTableJson(t, routes, {}, TagListsOf(deps.db, {t.route_table_id})[t.route_table_id],
                      vpc_cidr)}};
}

Result<json> DescribeRouteTables(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto ids = IdsParam(p, "RouteTableIds", "rtb", err::kInvalidRouteTableIdMalformed);
  if (!ids.ok()) return ids.status();
  auto filters = ParseFilters(
      p, {"route-table-id", "route-table-name", "vpc-id", "association.main", "tag-key", "tag:"},
      "RouteTableIds");
  if (!filters.ok()) return filters.status();
  auto paging = ParsePaging(p, ctx.visible, iam::kind::kRouteTable);
  if (!paging.ok()) return paging.status();
  store::RouteTableFilter f{.ids = *ids,
                            .route_table_ids = filters->Any("route-table-id"),
                            .names = filters->Any("route-table-name"),
                            .vpc_ids = filters->Any("vpc-id"),
                            .tags = filters->Tags()};
  f.is_main = filters->Bool("association.main", &f.match_nothing);
  auto list = store::ListRouteTables(deps.db, ScopeOf(ctx), f, paging->Request());
  if (!list.ok()) return list.status();
  CVM_RETURN_IF_ERROR(CheckAllFound(*ids, list->total, err::kInvalidRouteTableIdNotFound));
  const std::vector<RouteTableRecord>& tables = list->items;
  std::vector<std::string> page_ids;
  for (const auto& t : tables) page_ids.push_back(t.route_table_id);
  auto routes = store::LoadRoutes(deps.db, page_ids);
  if (!routes.ok()) return routes.status();
  auto assoc = store::LoadAssociations(deps.db, page_ids);
  if (!assoc.ok()) return assoc.status();
  auto tags = TagListsOf(deps.db, page_ids);
  const bool with_routes = !p.contains("NeedRouterInfo") || p["NeedRouterInfo"].get<bool>();
  json set = json::array();
  for (const auto& t : tables) {
    const auto& rs = (*routes)[t.route_table_id];
    set.push_back(RouteTableJson(t, with_routes ? rs : std::vector<RouteRecord>{},
                                 (*assoc)[t.route_table_id], tags[t.route_table_id],
                                 LocalCidr(rs)));
  }
  return json{{"TotalCount", list->total}, {"RouteTableSet", std::move(set)}};
}

Result<json> ModifyRouteTableAttribute(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  const std::string name = p.value("RouteTableName", "");
  CVM_RETURN_IF_ERROR(CheckName(name, "RouteTableName"));
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto t = LoadOwnedRouteTable(tx, ctx, p.value("RouteTableId", ""));
    if (!t.ok()) return t.status();
    return store::RenameRouteTable(tx, t->route_table_id, name);
  });
  if (!st.ok()) return st;
  return json::object();
}

Result<json> DeleteRouteTable(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto t = LoadOwnedRouteTable(tx, ctx, p.value("RouteTableId", ""));
    if (!t.ok()) return t.status();
    if (t->is_main) {
      return Status(err::kUnsupportedOperationDelDefaultRoute,
                    t->route_table_id + " is the main route table of " + t->vpc_id +
                        "; it goes with the VPC.");
    }
    auto used = store::CountAssociatedSubnets(tx, t->route_table_id);
    if (!used.ok()) return used.status();
    if (*used > 0) {
      return Status(err::kUnsupportedOperationDelRouteWithSubnet,
                    t->route_table_id + " is associated with " + std::to_string(*used) +
                        " subnet(s); associate them with another table first.");
    }
    return store::DeleteRouteTable(tx, t->route_table_id);
  });
  if (!st.ok()) return st;
  SyncNetworkAfterCommit(deps.engine, ctx);
  return json::object();
}

Result<json> ReplaceRouteTableAssociation(ServiceDeps& deps, const api::RequestContext& ctx,
                                          json& p) {
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto t = LoadOwnedRouteTable(tx, ctx, p.value("RouteTableId", ""));
    if (!t.ok()) return t.status();
    auto s = LoadOwnedSubnet(tx, ctx, p.value("SubnetId", ""));
    if (!s.ok()) return s.status();
    if (s->vpc_id != t->vpc_id) {
      return Status(err::kUnsupportedOperationVpcMismatch,
                    "The subnet " + s->subnet_id + " is in " + s->vpc_id + ", the table " +
                        t->route_table_id + " in " + t->vpc_id + ".");
    }
    return store::AssociateSubnet(tx, s->subnet_id, t->route_table_id);
  });
  if (!st.ok()) return st;
  SyncNetworkAfterCommit(deps.engine, ctx);
  return json::object();
}

Result<json> CreateRoutes(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  RouteTableRecord table;
  std::vector<RouteRecord> made;
  std::string vpc_cidr;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto t = LoadOwnedRouteTable(tx, ctx, p.value("RouteTableId", ""));
    if (!t.ok()) return t.status();
    table = *t;
    auto v = LoadOwnedVpc(tx, ctx, t->vpc_id);
    if (!v.ok()) return v.status();
    vpc_cidr = v->cidr;
    auto existing = store::LoadRoutes(tx, t->route_table_id);
    if (!existing.ok()) return existing.status();
    if (p["Routes"].empty()) return Status(err::kMissingParameter, "Routes holds no route.");
    // The LOCAL route does not count.
    if (existing->size() - 1 + p["Routes"].size() > kMaxRoutesPerTable) {
      return Status(err::kLimitExceeded, "A route table holds at most " +
                                             std::to_string(kMaxRoutesPerTable) + " routes.");
    }
    std::set<std::string> destinations;
    for (const auto& r : *existing) destinations.insert(r.destination);
    for (const auto& spec : p["Routes"]) {
      auto r = ParseRoute(tx, spec, *v);
      if (!r.ok()) return r.status();
      CVM_RETURN_IF_ERROR(CheckUnique(destinations, *r));
      r->route_table_id = t->route_table_id;
      CVM_RETURN_IF_ERROR(store::InsertRoute(tx, *r));
      made.push_back(std::move(*r));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  SyncNetworkAfterCommit(deps.engine, ctx);
  auto assoc = store::LoadAssociations(deps.db, {table.route_table_id});
  if (!assoc.ok()) return assoc.status();
  return json{{"TotalCount", made.size()},
              {"RouteTableSet",
               json::array({RouteTableJson(
                   table, made, (*assoc)[table.route_table_id],
                   TagListsOf(deps.db, {table.route_table_id})[table.route_table_id], vpc_cidr)})}};
}

Result<json> DeleteRoutes(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  std::vector<RouteRecord> gone;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto t = LoadOwnedRouteTable(tx, ctx, p.value("RouteTableId", ""));
    if (!t.ok()) return t.status();
    auto existing = store::LoadRoutes(tx, t->route_table_id);
    if (!existing.ok()) return existing.status();
    auto named = NamedRoutes(p, *existing, t->route_table_id);
    if (!named.ok()) return named.status();
    for (const auto& r : *named) CVM_RETURN_IF_ERROR(store::DeleteRoute(tx, r.route_id));
    gone = std::move(*named);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  SyncNetworkAfterCommit(deps.engine, ctx);
  return json{{"RouteSet", RouteSetJson(gone)}};
}

Result<json> ReplaceRoutes(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  std::vector<RouteRecord> old_routes, new_routes;
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto t = LoadOwnedRouteTable(tx, ctx, p.value("RouteTableId", ""));
    if (!t.ok()) return t.status();
    auto v = LoadOwnedVpc(tx, ctx, t->vpc_id);
    if (!v.ok()) return v.status();
    auto existing = store::LoadRoutes(tx, t->route_table_id);
    if (!existing.ok()) return existing.status();
    auto named = NamedRoutes(p, *existing, t->route_table_id);
    if (!named.ok()) return named.status();
    // A replaced route's destination is free for the routes of this call.
    std::set<std::string> destinations;
    for (const auto& r : *existing) {
      bool replaced = false;
      for (const auto& n : *named) replaced = replaced || n.route_id == r.route_id;
      if (!replaced) destinations.insert(r.destination);
    }
    for (size_t i = 0; i < named->size(); ++i) {
      auto r = ParseRoute(tx, p["Routes"][i], *v);
      if (!r.ok()) return r.status();
      CVM_RETURN_IF_ERROR(CheckUnique(destinations, *r));
      RouteRecord next = (*named)[i];
      next.destination = r->destination;
      next.gateway_type = r->gateway_type;
      next.gateway_id = r->gateway_id;
      next.description = r->description;
      CVM_RETURN_IF_ERROR(store::UpdateRoute(tx, next));
      new_routes.push_back(std::move(next));
    }
    old_routes = std::move(*named);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  SyncNetworkAfterCommit(deps.engine, ctx);
  return json{{"OldRouteSet", RouteSetJson(old_routes)}, {"NewRouteSet", RouteSetJson(new_routes)}};
}

}  // namespace

void RegisterVpcRouteTableHandlers(api::Router& router, ServiceDeps& deps) {
  RegisterActions(router, deps,
                  {{"CreateRouteTable", &CreateRouteTable},
                   {"DescribeRouteTables", &DescribeRouteTables},
                   {"ModifyRouteTableAttribute", &ModifyRouteTableAttribute},
                   {"DeleteRouteTable", &DeleteRouteTable},
                   {"ReplaceRouteTableAssociation", &ReplaceRouteTableAssociation},
                   {"CreateRoutes", &CreateRoutes},
                   {"DeleteRoutes", &DeleteRoutes},
                   {"ReplaceRoutes", &ReplaceRoutes}});
}

}  // namespace cvm::services
