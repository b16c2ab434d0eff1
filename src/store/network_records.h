// VPCs, subnets, security groups and addresses as the store keeps them: row types and the
// allocations that the VPC and CVM handlers and the engine share. Everything here runs inside the
// caller's transaction, so an allocation commits or vanishes with the change that needed it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "network/ipv4.h"
#include "network/security_rules.h"
#include "store/database.h"

namespace cvm::store {

struct VpcRecord {
  std::string vpc_id, owner_uin, region, name, cidr;
  bool is_default = false, enable_multicast = false;
  std::vector<std::string> dns_servers;
  std::string domain_name;
  int64_t table_id = 0, created_at = 0;
};
extern const char* const kVpcColumns;
VpcRecord VpcFromRow(const Row& row);
Status InsertVpc(Transaction& tx, const VpcRecord& v);  // v.table_id 0: the next free one

struct SubnetRecord {
  std::string subnet_id, owner_uin, vpc_id, zone, name, cidr;
  bool is_default = false;
  int64_t created_at = 0;
};
extern const char* const kSubnetColumns;
SubnetRecord SubnetFromRow(const Row& row);
Status InsertSubnet(Transaction& tx, const SubnetRecord& s);

// The account's default VPC in `region` and its default subnet in `zone`, created on first use
// as Tencent does: the VPC on config.default_vpc_cidr ("Default-VPC"), each zone's subnet the
// first /20 of it that no other subnet of the VPC overlaps ("Default-Subnet").
struct DefaultNetwork {
  VpcRecord vpc;
  SubnetRecord subnet;
};
Result<DefaultNetwork> EnsureDefaultNetwork(Transaction& tx, const std::string& owner_uin,
                                            const std::string& region, const std::string& zone,
                                            const Config& config);

// The lowest address of `cidr` that is not reserved (network, gateway, broadcast) and that no
// live instance of subnet `subnet_id` holds; with `requested`, that address if it is inside,
// not reserved and free. Errors carry the CVM codes RunInstances answers with.
Result<std::string> AllocatePrivateIp(Transaction& tx, const std::string& subnet_id,
                                      const network::Cidr& cidr, const std::string& requested = "");
// The lowest address of the public pool (its network and broadcast addresses excluded) that no
// live instance holds.
Result<std::string> AllocatePublicIp(Transaction& tx, const network::Cidr& pool);

// The account's default security group ("default") in `region`, created on first use with
// Tencent's default rules: ingress ACCEPT TCP 22, 3389, 80, 443 and ICMP from anywhere; egress
// ACCEPT all.
Result<std::string> EnsureDefaultSecurityGroup(Transaction& tx, const std::string& owner_uin,
                                               const std::string& region);

// One stored rule of a direction ("INGRESS" | "EGRESS"), in PolicyIndex order.
struct StoredRule {
  network::SecurityRule rule;
  int64_t modified_at = 0;
};
Result<std::vector<StoredRule>> LoadSecurityGroupRules(Transaction& tx, const std::string& sg_id,
                                                       const std::string& direction);
Result<std::vector<StoredRule>> LoadSecurityGroupRules(Database& db, const std::string& sg_id,
                                                       const std::string& direction);
// Rewrites a direction's rules (positions 0..n-1 in the given order).
Status ReplaceSecurityGroupRules(Transaction& tx, const std::string& sg_id,
                                 const std::string& direction,
                                 const std::vector<StoredRule>& rules);

// An address a live instance holds in a VPC (DescribeUsedIpAddress), ordered by subnet, then
// address.
struct UsedAddress {
  std::string subnet_id, ip, instance_id;
};
Result<std::vector<UsedAddress>> UsedAddresses(Transaction& tx, const std::string& vpc_id);

// What uses a security group: the live instances bound to it, and the other groups whose rules
// name it as source or destination.
struct SecurityGroupUsage {
  int64_t instances = 0, referencing_groups = 0;
};
Result<SecurityGroupUsage> UsageOfSecurityGroup(Transaction& tx, const std::string& sg_id);

}  // namespace cvm::store
