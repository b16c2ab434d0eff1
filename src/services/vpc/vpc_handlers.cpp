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
  auto siblings = store::SubnetsOfVpc(tx, vpc.vpc_id);
  if (!siblings.ok()) return siblings.status();
  for (const auto& sibling : *siblings) {
    auto other = ParseCidr(sibling.cidr, true);
    if (other && other->Overlaps(*cidr)) {
      return Status(err::kInvalidParameterValueSubnetOverlap,
                    "CidrBlock " + cidr->ToString() + " overlaps " + sibling.cidr + " of subnet " +
                        sibling.subnet_id + ".");
    }
  }
  return *cidr;
}

// ResourceInUse while `instance` (a live instance in the VPC or subnet `id`) is there.
Status CheckNoInstances(const Result<std::string>& instance, const std::string& id) {
  if (!instance.ok()) return instance.status();
  if (!instance->empty()) {
    return Status(err::kResourceInUse,
                  id + " still holds instance " + *instance + "; terminate it first.");
  }
  return Status::Ok();
}

Result<json> CreateVpc(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
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
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto count = store::CountVpcs(tx, ScopeOf(ctx));
    if (!count.ok()) return count.status();
    if (*count >= kMaxVpcsPerRegion) {
      return Status(err::kLimitExceeded,
                    "At most " + std::to_string(kMaxVpcsPerRegion) + " VPCs per region.");
    }
    CVM_RETURN_IF_ERROR(store::InsertVpc(tx, v));
    return InsertTags(tx, p, v.vpc_id, ctx.owner_uin);
  });
  if (!st.ok()) return st;
  return json{{"Vpc", VpcJson(v, TagListsOf(deps.db, {v.vpc_id})[v.vpc_id])}};
}

Result<json> DescribeVpcs(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto ids = IdsParam(p, "VpcIds", "vpc", err::kInvalidParameterValueMalformed);
  if (!ids.ok()) return ids.status();
  auto filters = ParseFilters(p,
                              {"vpc-name", "is-default", "vpc-id", "cidr-block", "tag-key",
                               "tag:", "ipv6-cidr-block", "isp-type", "address-type"},
                              "VpcIds");
  if (!filters.ok()) return filters.status();
  auto paging = ParsePaging(p, ctx.visible, iam::kind::kVpc);
  if (!paging.ok()) return paging.status();
  store::VpcFilter f{.ids = *ids,
                     .vpc_ids = filters->Any("vpc-id"),
                     .cidrs = filters->Any("cidr-block"),
                     .name_contains = filters->Any("vpc-name"),
                     .tags = filters->Tags()};
  f.is_default = filters->Bool("is-default", &f.match_nothing);
  // No VPC here has IPv6 or ISP addresses.
  for (const char* none : {"ipv6-cidr-block", "isp-type", "address-type"}) {
    if (filters->Has(none)) f.match_nothing = true;
  }
  auto list = store::ListVpcs(deps.db, ScopeOf(ctx), f, paging->Request());
  if (!list.ok()) return list.status();
  CVM_RETURN_IF_ERROR(CheckAllFound(*ids, list->total, err::kResourceNotFound));
  std::vector<std::string> page_ids;
  for (const auto& v : list->items) page_ids.push_back(v.vpc_id);
  auto tags = TagListsOf(deps.db, page_ids);
  json set = json::array();
  for (const auto& v : list->items) set.push_back(VpcJson(v, tags[v.vpc_id]));
  return json{{"TotalCount", list->total}, {"VpcSet", std::move(set)}};
}

Result<json> ModifyVpcAttribute(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
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
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto v = LoadOwnedVpc(tx, ctx, p.value("VpcId", ""));
    if (!v.ok()) return v.status();
    if (name) v->name = *name;
    if (p.contains("EnableMulticast")) v->enable_multicast = *multicast;
    if (p.contains("DnsServers")) v->dns_servers = *dns;
    v->domain_name = p.value("DomainName", v->domain_name);
    return store::UpdateVpc(tx, *v);
  });
  if (!st.ok()) return st;
  return json::object();
}

Result<json> DeleteVpc(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto v = LoadOwnedVpc(tx, ctx, p.value("VpcId", ""));
    if (!v.ok()) return v.status();
    CVM_RETURN_IF_ERROR(CheckNoInstances(store::AnyInstanceInVpc(tx, v->vpc_id), v->vpc_id));
    // Its empty subnets go with it, as on Tencent Cloud.
    return store::DeleteVpc(tx, v->vpc_id);
  });
  if (!st.ok()) return st;
  SyncNetworkAfterCommit(deps.engine, ctx);
  return json::object();
}

// CreateSubnet and CreateSubnets: the subnets of `specs` in VPC `vpc_id`, all or none.
Result<json> MakeSubnets(ServiceDeps& deps, const api::RequestContext& ctx,
                         const std::string& vpc_id, const std::vector<json>& specs) {
  std::vector<SubnetRecord> made;
  for (const auto& s : specs) {
    std::string name = s.value("SubnetName", "");
    CVM_RETURN_IF_ERROR(CheckName(name, "SubnetName"));
    std::string zone = s.value("Zone", "");
    const RegionConfig* region = nullptr;
    if (!deps.config.FindZone(zone, &region) || region->region != ctx.region) {
      return Status(err::kInvalidParameterValueRange,
                    "The zone `" + zone.substr(0, 32) + "` does not exist in " + ctx.region + ".");
    }
    if (s.contains("CdcId")) {
      return Status(err::kUnsupportedOperation, "CDC subnets are not offered here.");
    }
  }
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto v = LoadOwnedVpc(tx, ctx, vpc_id);
    if (!v.ok()) return v.status();
    auto count = store::CountSubnets(tx, vpc_id);
    if (!count.ok()) return count.status();
    if (*count + static_cast<int64_t>(specs.size()) > kMaxSubnetsPerVpc) {
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
  SyncNetworkAfterCommit(deps.engine, ctx);
  std::vector<std::string> ids;
  for (const auto& s : made) ids.push_back(s.subnet_id);
  auto tags = TagListsOf(deps.db, ids);
  json set = json::array();
  for (const auto& s : made) set.push_back(SubnetJson(s, 0, tags[s.subnet_id]));
  return set;
}

Result<json> CreateSubnet(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  auto made = MakeSubnets(deps, ctx, p.value("VpcId", ""), {p});
  if (!made.ok()) return made.status();
  return json{{"Subnet", (*made)[0]}};
}

Result<json> CreateSubnets(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  std::vector<json> specs(p["Subnets"].begin(), p["Subnets"].end());
  if (specs.empty() || specs.size() > 100) {
    return Status(err::kInvalidParameterValueLimitExceeded, "Subnets holds 1 to 100 subnets.");
  }
  for (auto& s : specs) {
    if (!s.contains("Tags") && p.contains("Tags")) s["Tags"] = p["Tags"];
  }
  auto made = MakeSubnets(deps, ctx, p.value("VpcId", ""), specs);
  if (!made.ok()) return made.status();
  return json{{"SubnetSet", *made}};
}

Result<json> DescribeSubnets(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
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
  store::SubnetFilter f{.ids = *ids,
                        .subnet_ids = filters->Any("subnet-id"),
                        .vpc_ids = filters->Any("vpc-id"),
                        .cidrs = filters->Any("cidr-block"),
                        .names = filters->Any("subnet-name"),
                        .zones = filters->Any("zone"),
                        .tags = filters->Tags()};
  f.is_default = filters->Bool("is-default", &f.match_nothing);
  // Every subnet here is neither remote-SNAT nor a CDC one, and has no IPv6 or ISP addresses.
  if (!filters->Matches("is-remote-vpc-snat", "false") || !filters->Matches("is-cdc-subnet", "0")) {
    f.match_nothing = true;
  }
  for (const char* none : {"cdc-id", "ipv6-cidr-block", "isp-type", "address-type"}) {
    if (filters->Has(none)) f.match_nothing = true;
  }
  auto list = store::ListSubnets(deps.db, ScopeOf(ctx), f, paging->Request());
  if (!list.ok()) return list.status();
  CVM_RETURN_IF_ERROR(CheckAllFound(*ids, list->total, err::kResourceNotFound));
  std::vector<std::string> page_ids;
  for (const auto& s : list->items) page_ids.push_back(s.subnet_id);
  auto tags = TagListsOf(deps.db, page_ids);
  json set = json::array();
  for (const auto& s : list->items) {
    auto used = store::CountSubnetAddressesInUse(deps.db, s.subnet_id);
    if (!used.ok()) return used.status();
    set.push_back(SubnetJson(s, *used, tags[s.subnet_id]));
  }
  return json{{"TotalCount", list->total}, {"SubnetSet", std::move(set)}};
}

Result<json> ModifySubnetAttribute(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  std::optional<std::string> name;
  if (p.contains("SubnetName")) {
    name = p["SubnetName"].get<std::string>();
    CVM_RETURN_IF_ERROR(CheckName(*name, "SubnetName"));
  }
  if (p.contains("EnableBroadcast") && p["EnableBroadcast"].get<std::string>() == "true") {
    return Status(err::kUnsupportedOperation, "Broadcast is not offered here.");
  }
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto s = LoadOwnedSubnet(tx, ctx, p.value("SubnetId", ""));
    if (!s.ok()) return s.status();
    return store::RenameSubnet(tx, s->subnet_id, name.value_or(s->name));
  });
  if (!st.ok()) return st;
  return json::object();
}

Result<json> DeleteSubnet(ServiceDeps& deps, const api::RequestContext& ctx, json& p) {
  Status st = store::WithTransaction(deps.db, [&](store::Transaction& tx) -> Status {
    auto s = LoadOwnedSubnet(tx, ctx, p.value("SubnetId", ""));
    if (!s.ok()) return s.status();
    CVM_RETURN_IF_ERROR(
        CheckNoInstances(store::AnyInstanceInSubnet(tx, s->subnet_id), s->subnet_id));
    return store::DeleteSubnet(tx, s->subnet_id);
  });
  if (!st.ok()) return st;
  SyncNetworkAfterCommit(deps.engine, ctx);
  return json::object();
}

}  // namespace

void RegisterVpcHandlers(api::Router& router, ServiceDeps& deps) {
  RegisterActions(router, deps,
                  {{"CreateVpc", &CreateVpc},
                   {"DescribeVpcs", &DescribeVpcs},
                   {"ModifyVpcAttribute", &ModifyVpcAttribute},
                   {"DeleteVpc", &DeleteVpc},
                   {"CreateSubnet", &CreateSubnet},
                   {"CreateSubnets", &CreateSubnets},
                   {"DescribeSubnets", &DescribeSubnets},
                   {"ModifySubnetAttribute", &ModifySubnetAttribute},
                   {"DeleteSubnet", &DeleteSubnet}});
}

}  // namespace cvm::services
