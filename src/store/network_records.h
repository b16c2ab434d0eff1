// VPCs, subnets, security groups and addresses as the store keeps them: row types and the
// allocations that the VPC and CVM handlers and the engine share. Everything here runs inside the
// caller's transaction, so an allocation commits or vanishes with the change that needed it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "network/ipv4.h"
#include "network/security_rules.h"
#include "store/database.h"
#include "store/listing.h"

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
// v.table_id 0: the next free one. The VPC's main route table is made with it.
Status InsertVpc(Transaction& tx, const VpcRecord& v);

struct SubnetRecord {
  std::string subnet_id, owner_uin, vpc_id, zone, name, cidr;
  bool is_default = false;
  int64_t created_at = 0;
  std::string route_table_id;  // its route table; InsertSubnet: '' = the VPC's main one
};
extern const char* const kSubnetColumns;
SubnetRecord SubnetFromRow(const Row& row);
// The subnet as stored (route_table_id filled in).
Result<SubnetRecord> InsertSubnet(Transaction& tx, SubnetRecord s);

// The VPC of the scope, or nullopt (another account's or region's is not found either).
Result<std::optional<VpcRecord>> FindVpc(Transaction& tx, const Scope& scope,
                                         const std::string& vpc_id);
Result<int64_t> CountVpcs(Transaction& tx, const Scope& scope);
// Rewrites the editable attributes: name, multicast, DNS servers, domain name.
Status UpdateVpc(Transaction& tx, const VpcRecord& v);
// The VPC with its subnets, route tables and every tag of them.
Status DeleteVpc(Transaction& tx, const std::string& vpc_id);

// DescribeVpcs: every set field narrows the listing.
struct VpcFilter {
  std::vector<std::string> ids;  // VpcIds; empty: no condition
  AnyOf vpc_ids, cidrs;
  AnyOf name_contains;  // any of these as a substring of the name
  std::optional<bool> is_default;
  TagFilter tags;
  bool match_nothing = false;  // a filter on something no VPC here has
};
// In creation order.
Result<Page<VpcRecord>> ListVpcs(Database& db, const Scope& scope, const VpcFilter& f,
                                 const PageRequest& page);

// The subnet of the scope (its VPC in the scope's region), or nullopt.
Result<std::optional<SubnetRecord>> FindSubnet(Transaction& tx, const Scope& scope,
                                               const std::string& subnet_id);
// The account's subnet in any region (RunInstances tells a subnet of another VPC apart from
// a missing one), or nullopt.
Result<std::optional<SubnetRecord>> FindSubnetOfAccount(Transaction& tx,
                                                        const std::string& owner_uin,
                                                        const std::string& subnet_id);
// Every subnet of the VPC, in creation order.
Result<std::vector<SubnetRecord>> SubnetsOfVpc(Transaction& tx, const std::string& vpc_id);
Result<int64_t> CountSubnets(Transaction& tx, const std::string& vpc_id);
Status RenameSubnet(Transaction& tx, const std::string& subnet_id, const std::string& name);
// The subnet and its tags.
Status DeleteSubnet(Transaction& tx, const std::string& subnet_id);
// Addresses live instances hold in the subnet.
Result<int64_t> CountSubnetAddressesInUse(Database& db, const std::string& subnet_id);

// DescribeSubnets: every set field narrows the listing.
struct SubnetFilter {
  std::vector<std::string> ids;  // SubnetIds; empty: no condition
  AnyOf subnet_ids, vpc_ids, cidrs, names, zones;
  std::optional<bool> is_default;
  TagFilter tags;
  bool match_nothing = false;
};
// In creation order.
Result<Page<SubnetRecord>> ListSubnets(Database& db, const Scope& scope, const SubnetFilter& f,
                                       const PageRequest& page);

// A live instance in the VPC or subnet ('' when none): what keeps it from being deleted.
Result<std::string> AnyInstanceInVpc(Transaction& tx, const std::string& vpc_id);
Result<std::string> AnyInstanceInSubnet(Transaction& tx, const std::string& subnet_id);

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

struct SecurityGroupRecord {
  std::string sg_id, owner_uin, region, name, description;
  int64_t project_id = 0;
  bool is_default = false;
  int64_t version = 0, created_at = 0, updated_at = 0;
};
Status InsertSecurityGroup(Transaction& tx, const SecurityGroupRecord& g);
// The group of the scope, or nullopt.
Result<std::optional<SecurityGroupRecord>> FindSecurityGroup(Transaction& tx, const Scope& scope,
                                                             const std::string& sg_id);
Result<std::optional<SecurityGroupRecord>> FindSecurityGroup(Database& db, const Scope& scope,
                                                             const std::string& sg_id);
Result<int64_t> CountSecurityGroups(Transaction& tx, const Scope& scope);
// Name and description, each when given; updated_at = `now`.
Status UpdateSecurityGroup(Transaction& tx, const std::string& sg_id,
                           const std::optional<std::string>& name,
                           const std::optional<std::string>& description, int64_t now);
// After a change of its rules: Version + 1, updated_at = `now`.
Status BumpSecurityGroupVersion(Transaction& tx, const std::string& sg_id, int64_t now);
// The group, its rules and tags.
Status DeleteSecurityGroup(Transaction& tx, const std::string& sg_id);
// An instance bound to the group and another group whose rules name it ('' when none).
struct SecurityGroupHolder {
  std::string instance_id, referencing_sg_id;
};
Result<SecurityGroupHolder> AnyHolderOfSecurityGroup(Transaction& tx, const std::string& sg_id);
// The other groups whose rules name `sg_id`, ordered by id.
Result<std::vector<std::string>> GroupsReferencing(Transaction& tx, const std::string& sg_id);

// DescribeSecurityGroups: every set field narrows the listing.
struct SecurityGroupFilter {
  std::vector<std::string> ids;  // SecurityGroupIds; empty: no condition
  AnyOf sg_ids, project_ids, names;
  TagFilter tags;
};
struct SecurityGroupOrder {
  bool by_update_time = false;  // else by creation time
  bool descending = false;
};
Result<Page<SecurityGroupRecord>> ListSecurityGroups(Database& db, const Scope& scope,
                                                     const SecurityGroupFilter& f,
                                                     const SecurityGroupOrder& order,
                                                     const PageRequest& page);

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
