// An instance's place in the network as the CVM actions set it: VPC, subnet, addresses and
// security groups in binding order. Answers with CVM's error codes (InvalidSecurityGroupId,
// lower-case "Id", unlike the VPC service).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/request_context.h"
#include "common/status.h"
#include "config/config.h"
#include "network/ipv4.h"
#include "store/database.h"
#include "store/instance_records.h"

namespace cvm::services {

inline constexpr size_t kMaxGroupsPerInstance = 5;

// What RunInstances asks for, checked for form (not yet for existence).
struct NetworkRequest {
  std::string vpc_id, subnet_id;  // empty: the default network
  std::vector<std::string> private_ips;
  std::vector<std::string> sg_ids;  // empty: the account's default group
  bool public_ip = false;
};
Result<NetworkRequest> ParseNetworkRequest(const nlohmann::json& params, int64_t count);

// The request resolved inside RunInstances' transaction (default VPC, subnet and group
// created on first use).
struct NetworkPlan {
  std::string vpc_id, subnet_id;
  network::Cidr subnet_cidr;
  std::vector<std::string> sg_ids;
};
Result<NetworkPlan> ResolveNetwork(store::Transaction& tx, const api::RequestContext& ctx,
                                   const std::string& zone, const Config& config,
                                   const NetworkRequest& request);
// Fills instance `index` of the launch: its VPC, subnet, private and public address.
Status AssignAddresses(store::Transaction& tx, const NetworkPlan& plan,
                       const NetworkRequest& request, size_t index, const Config& config,
                       store::InstanceRecord& instance);

// Security group ids of a CVM request: well-formed, the caller's, no repeats, at most 5.
Result<std::vector<std::string>> CheckSecurityGroupIds(store::Transaction& tx,
                                                       const api::RequestContext& ctx,
                                                       const nlohmann::json& ids);
// The groups of each instance in binding order, for DescribeInstances.
Result<std::map<std::string, std::vector<std::string>>> SecurityGroupsOf(
    store::Database& db, const std::vector<std::string>& instance_ids);

}  // namespace cvm::services
