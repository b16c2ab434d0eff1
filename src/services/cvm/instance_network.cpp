#include "services/cvm/instance_network.h"

#include <set>

#include "common/error_codes.h"
#include "common/ids.h"
#include "services/service_deps.h"
#include "services/vpc/vpc_common.h"
#include "store/datapath_records.h"
#include "store/network_records.h"

namespace cvm::services {

using nlohmann::json;

Result<NetworkRequest> ParseNetworkRequest(const json& p, int64_t count) {
  NetworkRequest out;
  if (auto vpc = p.find("VirtualPrivateCloud"); vpc != p.end()) {
    out.vpc_id = vpc->value("VpcId", "");
    out.subnet_id = vpc->value("SubnetId", "");
    // "DEFAULT" for both means the default network, as when VirtualPrivateCloud is omitted.
    if (out.vpc_id == "DEFAULT" && out.subnet_id == "DEFAULT") out.vpc_id = out.subnet_id = "";
    if (!out.vpc_id.empty() && !IsWellFormedId("vpc", out.vpc_id)) {
      return Status(err::kInvalidParameterValueVpcIdMalformed,
                    "VpcId `" + out.vpc_id.substr(0, 40) + "` is not a VPC id.");
    }
    if (!out.subnet_id.empty() && !IsWellFormedId("subnet", out.subnet_id)) {
      return Status(err::kInvalidParameterValueSubnetIdMalformed,
                    "SubnetId `" + out.subnet_id.substr(0, 40) + "` is not a subnet id.");
    }
    if (out.vpc_id.empty() != out.subnet_id.empty()) {
      return Status(err::kInvalidParameterValueVpcIdSubnetIdNotMatch,
                    "VpcId and SubnetId are both given, or both DEFAULT.");
    }
    for (const auto& ip : vpc->value("PrivateIpAddresses", json::array())) {
      std::string s = ip.get<std::string>();
      if (!network::ParseIpv4(s)) {
        return Status(err::kInvalidParameterValueIPAddressMalformed,
                      "`" + s.substr(0, 40) + "` is not an IPv4 address.");
      }
      out.private_ips.push_back(s);
    }
    if (!out.private_ips.empty() && out.private_ips.size() != static_cast<size_t>(count)) {
      return Status(err::kInvalidParameterValue,
                    "VirtualPrivateCloud.PrivateIpAddresses must list one address per instance "
                    "(InstanceCount " +
                        std::to_string(count) + ").");
    }
  }
  for (const auto& id : p.value("SecurityGroupIds", json::array())) {
    out.sg_ids.push_back(id.get<std::string>());
  }
  if (auto ia = p.find("InternetAccessible"); ia != p.end()) {
    // Tencent's default: a public address whenever there is outbound bandwidth.
    out.public_ip =
        ia->value("PublicIpAssigned", ia->value("InternetMaxBandwidthOut", int64_t{0}) > 0);
  }
  return out;
}

Result<NetworkPlan> ResolveNetwork(store::Transaction& tx, const api::RequestContext& ctx,
                                   const std::string& zone, const Config& config,
                                   const NetworkRequest& request) {
  NetworkPlan plan;
  std::string cidr;
  if (request.vpc_id.empty()) {
    auto net = store::EnsureDefaultNetwork(tx, ctx.owner_uin, ctx.region, zone, config);
    if (!net.ok()) return net.status();
    plan.vpc_id = net->vpc.vpc_id;
    plan.subnet_id = net->subnet.subnet_id;
    cidr = net->subnet.cidr;
  } else {
    auto vpc = store::FindVpc(tx, ScopeOf(ctx), request.vpc_id);
    if (!vpc.ok()) return vpc.status();
    if (!*vpc) {
      return Status(err::kInvalidParameterValueVpcIdNotExist,
                    "The VPC " + request.vpc_id + " does not exist.");
    }
    auto subnet = store::FindSubnetOfAccount(tx, ctx.owner_uin, request.subnet_id);
    if (!subnet.ok()) return subnet.status();
    if (!*subnet) {
      return Status(err::kInvalidParameterValueSubnetNotExist,
                    "The subnet " + request.subnet_id + " does not exist.");
    }
    const store::SubnetRecord& s = **subnet;
    if (s.vpc_id != request.vpc_id) {
      return Status(err::kInvalidParameterValueVpcIdSubnetIdNotMatch,
                    "The subnet " + request.subnet_id + " is not in " + request.vpc_id + ".");
    }
    if (s.zone != zone) {
      return Status(err::kInvalidParameterValueSubnetIdZoneIdNotMatch,
                    "The subnet " + request.subnet_id + " is in " + s.zone + ", not " + zone + ".");
    }
    plan.vpc_id = request.vpc_id;
    plan.subnet_id = request.subnet_id;
    cidr = s.cidr;
  }
  auto parsed = network::ParseCidr(cidr, /*strict=*/true);
  if (!parsed) return Status(err::kInternalError, "Subnet " + plan.subnet_id + " has no CIDR.");
  plan.subnet_cidr = *parsed;
  if (request.sg_ids.empty()) {
    auto sg = store::EnsureDefaultSecurityGroup(tx, ctx.owner_uin, ctx.region);
    if (!sg.ok()) return sg.status();
    plan.sg_ids = {*sg};
  } else {
    auto ids = CheckSecurityGroupIds(tx, ctx, json(request.sg_ids));
    if (!ids.ok()) return ids.status();
    plan.sg_ids = *ids;
  }
  return plan;
}

Status AssignAddresses(store::Transaction& tx, const NetworkPlan& plan,
                       const NetworkRequest& request, size_t index, const Config& config,
                       store::InstanceRecord& instance) {
  instance.vpc_id = plan.vpc_id;
  instance.subnet_id = plan.subnet_id;
  auto ip = store::AllocatePrivateIp(
      tx, plan.subnet_id, plan.subnet_cidr,
      index < request.private_ips.size() ? request.private_ips[index] : "");
  if (!ip.ok()) return ip.status();
  instance.private_ip = *ip;
  if (request.public_ip) {
    auto pool = network::ParseCidr(config.public_ip_pool, /*strict=*/false);
    if (!pool) {
      return Status(err::kInternalError,
                    "public_ip_pool `" + config.public_ip_pool + "` is not a CIDR block.");
    }
    auto pub = store::AllocatePublicIp(tx, *pool);
    if (!pub.ok()) return pub.status();
    instance.public_ip = *pub;
  }
  return Status::Ok();
}

Result<std::vector<std::string>> CheckSecurityGroupIds(store::Transaction& tx,
                                                       const api::RequestContext& ctx,
                                                       const json& ids) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& v : ids) {
    std::string id = v.get<std::string>();
    if (!seen.insert(id).second) {
      return Status(err::kInvalidParameterValue, "Security group " + id + " is listed twice.");
    }
    // The VPC service's check, with CVM's codes ("Id", and no Malformed code of its own).
    Status st = vpc::CheckOwnedSecurityGroup(tx, ctx, id);
    if (st.code() == err::kInvalidSecurityGroupIDMalformed) {
      return Status(err::kInvalidParameterValue, st.message());
    }
    if (st.code() == err::kInvalidSecurityGroupIDNotFound) {
      return Status(err::kInvalidSecurityGroupIdNotFound, st.message());
    }
    CVM_RETURN_IF_ERROR(st);
    out.push_back(std::move(id));
  }
  if (out.size() > kMaxGroupsPerInstance) {
    return Status(
        err::kLimitExceededAssociateUSGLimitExceeded,
        "An instance takes at most " + std::to_string(kMaxGroupsPerInstance) + " security groups.");
  }
  return out;
}

Result<std::map<std::string, std::vector<std::string>>> SecurityGroupsOf(
    store::Database& db, const std::vector<std::string>& instance_ids) {
  auto bindings = store::LoadSecurityGroupBindings(
      db, std::set<std::string>(instance_ids.begin(), instance_ids.end()));
  if (!bindings.ok()) return bindings.status();
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& b : *bindings) out[b.instance_id].push_back(b.sg_id);
  return out;
}

}  // namespace cvm::services
