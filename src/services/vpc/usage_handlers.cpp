// What holds a VPC's resources: DescribeUsedIpAddress (the addresses live instances hold) and
// DescribeSecurityGroupAssociationStatistics (what a group is bound to or referenced by). Both
// answer what deleting something would have to wait for, which is how clients such as the
// Terraform provider use them.
#include <algorithm>

#include "common/error_codes.h"
#include "network/ipv4.h"
#include "services/service_deps.h"
#include "services/vpc/vpc_common.h"

namespace cvm::services {
namespace {

using nlohmann::json;

Result<json> DescribeUsedIpAddress(store::Database& db, const api::RequestContext& ctx, json& p) {
  std::vector<std::string> ips = p.value("IpAddresses", std::vector<std::string>{});
  if (ips.size() > 100) {
    return Status(err::kInvalidParameterValueLimitExceeded, "IpAddresses holds at most 100.");
  }
  for (const auto& ip : ips) {
    if (!network::ParseIpv4(ip)) {
      return Status(err::kInvalidParameterValueMalformed,
                    "`" + ip.substr(0, 40) + "` is not an IPv4 address.");
    }
  }
  auto filters = vpc::ParseFilters(p, {"ip-addresses", "resource-id"}, "IpAddresses");
  if (!filters.ok()) return filters.status();
  auto paging = Paging::Parse(p, ctx.visible, iam::kind::kInstance);
  if (!paging.ok()) return paging.status();
  std::string subnet_id = p.value("SubnetId", "");
  std::vector<store::UsedAddress> used;
  Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
    auto vpc = vpc::LoadOwnedVpc(tx, ctx, p.value("VpcId", ""));
    if (!vpc.ok()) return vpc.status();
    if (!subnet_id.empty()) {
      auto subnet = vpc::LoadOwnedSubnet(tx, ctx, subnet_id);
      if (!subnet.ok()) return subnet.status();
      if (subnet->vpc_id != vpc->vpc_id) {
        return Status(err::kResourceNotFound,
                      "The subnet " + subnet_id + " is not in " + vpc->vpc_id + ".");
      }
    }
    auto rows = store::UsedAddresses(tx, vpc->vpc_id);
    if (!rows.ok()) return rows.status();
    used = std::move(*rows);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  json states = json::array();
  for (const auto& u : used) {
    if (!subnet_id.empty() && u.subnet_id != subnet_id) continue;
    if (!ips.empty() && std::find(ips.begin(), ips.end(), u.ip) == ips.end()) continue;
    if (!filters->Matches("ip-addresses", u.ip) ||
        !filters->Matches("resource-id", u.instance_id)) {
      continue;
    }
    if (!paging->Take(u.instance_id)) continue;
    states.push_back({{"VpcId", p.value("VpcId", "")},
                      {"SubnetId", u.subnet_id},
                      {"IpAddress", u.ip},
                      {"ResourceType", "CVM"},
                      {"ResourceId", u.instance_id}});
  }
  return json{{"IpAddressStates", std::move(states)}, {"TotalCount", paging->total()}};
}

Result<json> DescribeSecurityGroupAssociationStatistics(store::Database& db,
                                                        const api::RequestContext& ctx, json& p) {
  auto ids = vpc::IdsParam(p, "SecurityGroupIds", "sg", err::kInvalidSecurityGroupIDMalformed);
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return Status(err::kMissingParameter, "SecurityGroupIds is empty.");
  json set = json::array();
  Status st = store::WithTransaction(db, [&](store::Transaction& tx) -> Status {
    for (const auto& id : *ids) {
      CVM_RETURN_IF_ERROR(vpc::CheckOwnedSecurityGroup(tx, ctx, id));
      auto usage = store::UsageOfSecurityGroup(tx, id);
      if (!usage.ok()) return usage.status();
      json by_type = json::array();
      if (usage->instances > 0) {
        by_type.push_back({{"InstanceType", "CVM"}, {"InstanceCount", usage->instances}});
      }
      set.push_back({{"SecurityGroupId", id},
                     {"CVM", usage->instances},
                     {"CDB", 0},
                     {"ENI", 0},
                     {"SG", usage->referencing_groups},
                     {"CLB", 0},
                     {"InstanceStatistics", std::move(by_type)},
                     {"TotalCount", usage->instances + usage->referencing_groups}});
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return json{{"SecurityGroupAssociationStatisticsSet", std::move(set)}};
}

}  // namespace

void RegisterVpcUsageHandlers(api::Router& router, ServiceDeps& deps) {
  router.Register("DescribeUsedIpAddress",
                  [&db = deps.db](const api::RequestContext& ctx, json& p) {
                    return DescribeUsedIpAddress(db, ctx, p);
                  });
  router.Register("DescribeSecurityGroupAssociationStatistics",
                  [&db = deps.db](const api::RequestContext& ctx, json& p) {
                    return DescribeSecurityGroupAssociationStatistics(db, ctx, p);
                  });
}

}  // namespace cvm::services
