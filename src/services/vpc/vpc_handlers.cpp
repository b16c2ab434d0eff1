// VPCs and subnets: address plans only (the data path follows the store through
// Engine::SyncNetwork). A VPC's CIDR must be private and its subnets must not overlap one
// another; different VPCs and accounts may overlap freely (isolation, not uniqueness).
#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "network/ipv4.h"
#include "services/resource_tags.h"
#include "services/service_deps.h"
#include "services/vpc/vpc_common.h"

namespace cvm::services {
namespace {

using namespace vpc;
using network::Cidr;
using network::ParseCidr;
using store::SubnetRecord;
using store::VpcRecord;

constexpr int64_t kMaxVpcsPerRegion = 20;
constexpr int64_t kMaxSubnetsPerVpc = 100;
constexpr int kMinBlockPrefix = 28;

json VpcJson(const VpcRecord& v, json tags) {
  return json{{"VpcName", v.name},
              {"VpcId", v.vpc_id},
              {"CidrBlock", v.cidr},
              {"IsDefault", v.is_default},
              {"EnableMulticast", v.enable_multicast},
              {"CreatedTime", FormatDateTime(v.created_at)},
              {"DnsServerSet", v.dns_servers},
              {"DomainName", v.domain_name},
              {"DhcpOptionsId", ""},
              {"EnableDhcp", true},
              {"Ipv6CidrBlock", ""},
              {"TagSet", std::move(tags)},
              {"AssistantCidrSet", json::array()},
              {"EnableRouteVpcPublish", false},
              {"Ipv6CidrBlockSet", json::array()},
              {"EnableRouteVpcPublishIpv6", false}};
}

json SubnetJson(const SubnetRecord& s, int64_t used, json tags) {
  auto cidr = ParseCidr(s.cidr, true);
  const int64_t total = cidr ? static_cast<int64_t>(network::UsableAddressCount(*cidr)) : 0;
  return json{{"VpcId", s.vpc_id},
              {"SubnetId", s.subnet_id},
              {"SubnetName", s.name},
              {"CidrBlock", s.cidr},
              {"IsDefault", s.is_default},
              {"EnableBroadcast", false},
              {"Zone", s.zone},
              {"RouteTableId", s.route_table_id},
              {"CreatedTime", FormatDateTime(s.created_at)},
              {"AvailableIpAddressCount", std::max<int64_t>(0, total - used)},
              {"Ipv6CidrBlock", ""},
              {"NetworkAclId", ""},
              {"IsRemoteVpcSnat", false},
              {"TotalIpAddressCount", total},
              {"TagSet", std::move(tags)},
              {"CdcId", ""},
              {"IsCdcSubnet", 0}};
}

Result<std::vector<std::string>> DnsServers(const json& p) {
  std::vector<std::string> out;
  if (!p.contains("DnsServers")) return out;
  if (p["DnsServers"].size() > 4) {
    return Status(err::kInvalidParameterValueLimitExceeded, "At most 4 DnsServers.");
  }
  for (const auto& v : p["DnsServers"]) {
    std::string s = v.get<std::string>();
    if (!network::ParseIpv4(s)) {
      return Status(err::kInvalidParameterValueMalformed,
                    "DnsServers: `" + s.substr(0, 40) + "` is not an IPv4 address.");
    }
    out.push_back(s);
  }
  return out;
}

Result<bool> BoolString(const json& p, const char* name, bool fallback) {
  if (!p.contains(name)) return fallback;
  std::string v = p[name].get<std::string>();
  if (v == "true" || v == "TRUE") return true;
  if (v == "false" || v == "FALSE") return false;
  return Status(err::kInvalidParameterValue, std::string(name) + " must be true or false.");
}

// A subnet block: well-formed, a /28 or larger, inside its VPC, overlapping no sibling.
Result<Cidr> CheckSubnetBlock(store::Transaction& tx, const VpcRecord& vpc,
                              const std::string& text) {
  auto cidr = ParseCidr(text, /*strict=*/true);
  if (!cidr) {
    return Status(err::kInvalidParameterValueMalformed,
                  "CidrBlock `" + text.substr(0, 40) + "` is not a CIDR block.");
  }
  auto vpc_cidr = ParseCidr(vpc.cidr, true);
  if (cidr->prefix > kMinBlockPrefix || !vpc_cidr || !vpc_cidr->Contains(*cidr)) {
    return Status(err::kInvalidParameterValueSubnetRange, "CidrBlock " + cidr->ToString() +
                                                              " must be a /28 or larger inside " +
                                                              vpc.cidr + " of " + vpc.vpc_id + ".");
  }
  auto siblings = tx.Query("SELECT subnet_id, cidr FROM subnets WHERE vpc_id = ?", {vpc.vpc_id});
  if (!siblings.ok()) return siblings.status();
  for (const auto& r : *siblings) {
    auto other = ParseCidr(r.Str(1), true);
    if (other && other->Overlaps(*cidr)) {
      return Status(err::kInvalidParameterValueSubnetOverlap, "CidrBlock " + cidr->ToString() +
                                                                  " overlaps " + r.Str(1) +
                                                                  " of subnet " + r.Str(0) + ".");
    }
  }
  return *cidr;
}

// ResourceInUse while a live instance is in the VPC or subnet (`column` of instances).
Status CheckNoInstances(store::Transaction& tx, const std::string& column, const std::string& id) {
  auto used = tx.Query(
      "SELECT instance_id FROM instances WHERE " + column + " = ? AND deleted = 0 LIMIT 1", {id});
  if (!used.ok()) return used.status();
  if (!used->empty()) {
    return Status(err::kResourceInUse,
                  id + " still holds instance " + used->front().Str(0) + "; terminate it first.");
  }
  return Status::Ok();
}

}  // namespace

void RegisterVpcHandlers(api::Router& router, ServiceDeps& deps) {
  auto& db = deps.db;
  auto& engine = deps.engine;
  const Config& config = deps.config;

  router.Register("CreateVpc", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    VpcRecord v;
    v.name = p.value("VpcName", "");
    CVM_RETURN_IF_ERROR(CheckName(v.name, "VpcName"));
    const std::string text = p.value("CidrBlock", "");
    auto cidr = ParseCidr(text, /*strict=*/true);
    if (!cidr) {
      return Status(err::kInvalidParameterValueMalformed,
                    "CidrBlock `" + text.substr(0, 40) + "` is not a CIDR block.");
    }
    if (!network::IsAllowedVpcRange(*cidr)) {
      return Status(err::kInvalidParameterValueRange,
                    "CidrBlock " + cidr->ToString() +
                        " must lie in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, from /12 "
                        "(/16 in 192.168) to /28.");
    }
    auto multicast = BoolString(p, "EnableMulticast", false);
    if (!multicast.ok()) return multicast.status();
    auto dns = DnsServers(p);
    if (!dns.ok()) return dns.status();
    v.domain_name = p.value("DomainName", "");
    if (v.domain_name.size() > 60) {
      return Status(err::kInvalidParameterValueTooLong, "DomainName is longer than 60 bytes.");
    }
    v.vpc_id = NewResourceId("vpc");
    v.owner_uin = ctx.owner_uin;
    v.region = ctx.region;
    v.cidr = cidr->ToString();
    v.enable_multicast = *multicast;
    v.dns_servers = *dns;
    v.created_at = NowUnix();
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      auto count = tx.Query("SELECT COUNT(*) FROM vpcs WHERE owner_uin = ? AND region = ?",
                            {ctx.owner_uin, ctx.region});
      if (!count.ok()) return count.status();
      if ((*count)[0].Int(0) >= kMaxVpcsPerRegion) {
        return Status(err::kLimitExceeded,
                      "At most " + std::to_string(kMaxVpcsPerRegion) + " VPCs per region.");
      }
      CVM_RETURN_IF_ERROR(store::InsertVpc(tx, v));
      return InsertTags(tx, p, v.vpc_id, ctx.owner_uin);
    });
    if (!st.ok()) return st;
    return json{{"Vpc", VpcJson(v, TagListsOf(db, {v.vpc_id})[v.vpc_id])}};
  });

  router.Register("DescribeVpcs", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto ids = IdsParam(p, "VpcIds", "vpc", err::kInvalidParameterValueMalformed);
    if (!ids.ok()) return ids.status();
    auto filters = ParseFilters(p,
                                {"vpc-name", "is-default", "vpc-id", "cidr-block", "tag-key",
                                 "tag:", "ipv6-cidr-block", "isp-type", "address-type"},
                                "VpcIds");
    if (!filters.ok()) return filters.status();
    auto paging = ParsePaging(p, ctx.visible, iam::kind::kVpc);
    if (!paging.ok()) return paging.status();
    SqlWhere where("owner_uin = ? AND region = ?", {ctx.owner_uin, ctx.region});
    if (!ids->empty()) where.In("vpc_id", *ids);
    where.Filtered(*filters, {{"vpc-id", "vpc_id"}, {"cidr-block", "cidr"}});
    if (auto names = filters->Values("vpc-name")) {
      // Fuzzy: any of the values as a substring of the name.
      std::string any;
      std::vector<store::Value> args;
      for (const auto& n : *names) {
        // A substring test both backends run alike (LIKE folds case on SQLite only).
        any += (any.empty() ? "(" : " OR ") +
               std::string("(? = '' OR length(replace(name, ?, '')) < length(name))");
        args.emplace_back(n);
        args.emplace_back(n);
      }
      where.And(any + ")", std::move(args));
    }
    FilterByBool(where, *filters, "is-default", "is_default");
    // No VPC here has IPv6 or ISP addresses.
    for (const char* none : {"ipv6-cidr-block", "isp-type", "address-type"}) {
      if (filters->Has(none)) where.MatchNothing();
    }
    FilterByTags(where, *filters, "vpc_id");
    auto list = ListPage(db, where, "vpcs", "vpc_id", store::kVpcColumns, "created_at, rowid",
                         *paging, *ids, err::kResourceNotFound.data());
    if (!list.ok()) return list.status();
    std::vector<VpcRecord> vpcs;
    std::vector<std::string> page_ids;
    for (const auto& r : list->rows) {
      vpcs.push_back(store::VpcFromRow(r));
      page_ids.push_back(vpcs.back().vpc_id);
    }
    auto tags = TagListsOf(db, page_ids);
    json set = json::array();
    for (const auto& v : vpcs) set.push_back(VpcJson(v, tags[v.vpc_id]));
    return json{{"TotalCount", list->total}, {"VpcSet", std::move(set)}};
  });

  router.Register(
      "ModifyVpcAttribute", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        std::optional<std::string> name;
        if (p.contains("VpcName")) {
          name = p["VpcName"].get<std::string>();
          CVM_RETURN_IF_ERROR(CheckName(*name, "VpcName"));
        }
        auto multicast = BoolString(p, "EnableMulticast", false);
        if (!multicast.ok()) return multicast.status();
        auto dns = DnsServers(p);
        if (!dns.ok()) return dns.status();
        if (p.value("DomainName", "").size() > 60) {
          return Status(err::kInvalidParameterValueTooLong, "DomainName is longer than 60 bytes.");
        }
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          auto v = LoadOwnedVpc(tx, ctx, p.value("VpcId", ""));
          if (!v.ok()) return v.status();
          return tx.Exec(
              "UPDATE vpcs SET name = ?, enable_multicast = ?, dns_servers = ?, domain_name = ? "
              "WHERE vpc_id = ?",
              {name.value_or(v->name),
               int64_t{p.contains("EnableMulticast") ? *multicast : v->enable_multicast},
               json(p.contains("DnsServers") ? *dns : v->dns_servers).dump(),
               p.value("DomainName", v->domain_name), v->vpc_id});
        });
        if (!st.ok()) return st;
        return json::object();
      });

  router.Register("DeleteVpc", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      auto v = LoadOwnedVpc(tx, ctx, p.value("VpcId", ""));
      if (!v.ok()) return v.status();
      CVM_RETURN_IF_ERROR(CheckNoInstances(tx, "vpc_id", v->vpc_id));
      // Its empty subnets go with it, as on Tencent Cloud.
      CVM_RETURN_IF_ERROR(tx.Exec(
          "DELETE FROM tags WHERE resource_id IN (SELECT subnet_id FROM subnets WHERE vpc_id = ?)",
          {v->vpc_id}));
      CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM subnets WHERE vpc_id = ?", {v->vpc_id}));
      CVM_RETURN_IF_ERROR(store::DeleteVpcRouteTables(tx, v->vpc_id));
      CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM tags WHERE resource_id = ?", {v->vpc_id}));
      return tx.Exec("DELETE FROM vpcs WHERE vpc_id = ?", {v->vpc_id});
    });
    if (!st.ok()) return st;
    SyncNetworkAfterCommit(engine, ctx);
    return json::object();
  });

  auto create_subnet = [&](const api::RequestContext& ctx, const std::string& vpc_id,
                           const std::vector<json>& specs) -> Result<json> {
    std::vector<SubnetRecord> made;
    for (const auto& s : specs) {
      std::string name = s.value("SubnetName", "");
      CVM_RETURN_IF_ERROR(CheckName(name, "SubnetName"));
      std::string zone = s.value("Zone", "");
      const RegionConfig* region = nullptr;
      if (!config.FindZone(zone, &region) || region->region != ctx.region) {
        return Status(
            err::kInvalidParameterValueRange,
            "The zone `" + zone.substr(0, 32) + "` does not exist in " + ctx.region + ".");
      }
      if (s.contains("CdcId")) {
        return Status(err::kUnsupportedOperation, "CDC subnets are not offered here.");
      }
    }
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      auto v = LoadOwnedVpc(tx, ctx, vpc_id);
      if (!v.ok()) return v.status();
      auto count = tx.Query("SELECT COUNT(*) FROM subnets WHERE vpc_id = ?", {vpc_id});
      if (!count.ok()) return count.status();
      if ((*count)[0].Int(0) + static_cast<int64_t>(specs.size()) > kMaxSubnetsPerVpc) {
        return Status(err::kLimitExceeded,
                      "At most " + std::to_string(kMaxSubnetsPerVpc) + " subnets per VPC.");
      }
      for (const auto& s : specs) {
        // Checked against the siblings inserted so far, so a batch cannot overlap itself.
        auto cidr = CheckSubnetBlock(tx, *v, s.value("CidrBlock", ""));
        if (!cidr.ok()) return cidr.status();
        SubnetRecord r{NewResourceId("subnet"),   ctx.owner_uin,    vpc_id, s.value("Zone", ""),
                       s.value("SubnetName", ""), cidr->ToString(), false,  NowUnix()};
        if (s.contains("RouteTableId")) {  // CreateSubnets: a table of the VPC instead of its main
          auto t = LoadOwnedRouteTable(tx, ctx, s.value("RouteTableId", ""));
          if (!t.ok()) return t.status();
          if (t->vpc_id != vpc_id) {
            return Status(err::kUnsupportedOperationVpcMismatch,
                          "The route table " + t->route_table_id + " is not in " + vpc_id + ".");
          }
          r.route_table_id = t->route_table_id;
        }
        auto stored = store::InsertSubnet(tx, std::move(r));
        if (!stored.ok()) return stored.status();
        CVM_RETURN_IF_ERROR(InsertTags(tx, s, stored->subnet_id, ctx.owner_uin));
        made.push_back(std::move(*stored));
      }
      return Status::Ok();
    });
    if (!st.ok()) return st;
    SyncNetworkAfterCommit(engine, ctx);
    std::vector<std::string> ids;
    for (const auto& s : made) ids.push_back(s.subnet_id);
    auto tags = TagListsOf(db, ids);
    json set = json::array();
    for (const auto& s : made) set.push_back(SubnetJson(s, 0, tags[s.subnet_id]));
    return set;
  };

  router.Register("CreateSubnet",
                  [&, create_subnet](const api::RequestContext& ctx, json& p) -> Result<json> {
                    auto made = create_subnet(ctx, p.value("VpcId", ""), {p});
                    if (!made.ok()) return made.status();
                    return json{{"Subnet", (*made)[0]}};
                  });

  router.Register("CreateSubnets",
                  [&, create_subnet](const api::RequestContext& ctx, json& p) -> Result<json> {
                    std::vector<json> specs(p["Subnets"].begin(), p["Subnets"].end());
                    if (specs.empty() || specs.size() > 100) {
                      return Status(err::kInvalidParameterValueLimitExceeded,
                                    "Subnets holds 1 to 100 subnets.");
                    }
                    for (auto& s : specs) {
                      if (!s.contains("Tags") && p.contains("Tags")) s["Tags"] = p["Tags"];
                    }
                    auto made = create_subnet(ctx, p.value("VpcId", ""), specs);
                    if (!made.ok()) return made.status();
                    return json{{"SubnetSet", *made}};
                  });

  router.Register("DescribeSubnets", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    auto ids = IdsParam(p, "SubnetIds", "subnet", err::kInvalidParameterValueMalformed);
    if (!ids.ok()) return ids.status();
    auto filters =
        ParseFilters(p,
                     {"subnet-id", "vpc-id", "cidr-block", "is-default", "is-remote-vpc-snat",
                      "subnet-name", "zone", "tag-key", "tag:", "cdc-id", "is-cdc-subnet",
                      "ipv6-cidr-block", "isp-type", "address-type"},
                     "SubnetIds");
    if (!filters.ok()) return filters.status();
    auto paging = ParsePaging(p, ctx.visible, iam::kind::kSubnet);
    if (!paging.ok()) return paging.status();
    SqlWhere where("owner_uin = ? AND vpc_id IN (SELECT vpc_id FROM vpcs WHERE region = ?)",
                   {ctx.owner_uin, ctx.region});
    if (!ids->empty()) where.In("subnet_id", *ids);
    where.Filtered(*filters, {{"subnet-id", "subnet_id"},
                              {"vpc-id", "vpc_id"},
                              {"cidr-block", "cidr"},
                              {"subnet-name", "name"},
                              {"zone", "zone"}});
    FilterByBool(where, *filters, "is-default", "is_default");
    where.OnlyIfListed(*filters, "is-remote-vpc-snat", "false");
    where.OnlyIfListed(*filters, "is-cdc-subnet", "0");
    for (const char* none : {"cdc-id", "ipv6-cidr-block", "isp-type", "address-type"}) {
      if (filters->Has(none)) where.MatchNothing();
    }
    FilterByTags(where, *filters, "subnet_id");
    auto list = ListPage(db, where, "subnets", "subnet_id", store::kSubnetColumns,
                         "created_at, rowid", *paging, *ids, err::kResourceNotFound.data());
    if (!list.ok()) return list.status();
    std::vector<SubnetRecord> subnets;
    std::vector<std::string> page_ids;
    for (const auto& r : list->rows) {
      subnets.push_back(store::SubnetFromRow(r));
      page_ids.push_back(subnets.back().subnet_id);
    }
    auto tags = TagListsOf(db, page_ids);
    json set = json::array();
    for (const auto& s : subnets) {
      auto used = UsedAddressCount(db, s.subnet_id);
      if (!used.ok()) return used.status();
      set.push_back(SubnetJson(s, *used, tags[s.subnet_id]));
    }
    return json{{"TotalCount", list->total}, {"SubnetSet", std::move(set)}};
  });

  router.Register(
      "ModifySubnetAttribute", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
        std::optional<std::string> name;
        if (p.contains("SubnetName")) {
          name = p["SubnetName"].get<std::string>();
          CVM_RETURN_IF_ERROR(CheckName(*name, "SubnetName"));
        }
        if (p.contains("EnableBroadcast") && p["EnableBroadcast"].get<std::string>() == "true") {
          return Status(err::kUnsupportedOperation, "Broadcast is not offered here.");
        }
        Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
          auto s = LoadOwnedSubnet(tx, ctx, p.value("SubnetId", ""));
          if (!s.ok()) return s.status();
          return tx.Exec("UPDATE subnets SET name = ? WHERE subnet_id = ?",
                         {name.value_or(s->name), s->subnet_id});
        });
        if (!st.ok()) return st;
        return json::object();
      });

  router.Register("DeleteSubnet", [&](const api::RequestContext& ctx, json& p) -> Result<json> {
    Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
      auto s = LoadOwnedSubnet(tx, ctx, p.value("SubnetId", ""));
      if (!s.ok()) return s.status();
      CVM_RETURN_IF_ERROR(CheckNoInstances(tx, "subnet_id", s->subnet_id));
      CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM tags WHERE resource_id = ?", {s->subnet_id}));
      return tx.Exec("DELETE FROM subnets WHERE subnet_id = ?", {s->subnet_id});
    });
    if (!st.ok()) return st;
    SyncNetworkAfterCommit(engine, ctx);
    return json::object();
  });
}

}  // namespace cvm::services
