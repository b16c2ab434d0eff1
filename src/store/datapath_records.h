// What the network plane reads to build the data path of the plugged instances (their NICs,
// their security groups' rules, the members of groups rules name as peers), and the address it
// gives an instance from before networks.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "network/security_rules.h"
#include "store/database.h"

namespace cvm::store {

// The subnet an address lives in, and its VPC's kernel table and DNS servers.
struct SubnetAddressing {
  std::string cidr;
  int64_t vpc_table_id = 0;
  std::vector<std::string> dns_servers;
};
Result<std::optional<SubnetAddressing>> LoadSubnetAddressing(Database& db,
                                                             const std::string& subnet_id);

// A live instance's NIC, with its VPC's kernel table.
struct NicRecord {
  std::string instance_id, mac, private_ip, public_ip;
  int64_t vpc_table_id = 0;
};
Result<std::vector<NicRecord>> LoadNics(Database& db, const std::set<std::string>& instance_ids);

struct SecurityGroupBinding {
  std::string instance_id, sg_id;
};
// The groups of each instance, in binding order (instances ordered by id).
Result<std::vector<SecurityGroupBinding>> LoadSecurityGroupBindings(
    Database& db, const std::set<std::string>& instance_ids);
// Binds a group to an instance at `position`; a group already bound stays where it is.
Status BindSecurityGroup(Transaction& tx, const std::string& instance_id, const std::string& sg_id,
                         int64_t position);

// Replaces an instance's groups with `sg_ids`, in that (binding) order.
Status ReplaceSecurityGroupBindings(Transaction& tx, const std::string& instance_id,
                                    const std::vector<std::string>& sg_ids);
// The instance's groups in binding order.
Result<std::vector<std::string>> BoundSecurityGroups(Transaction& tx,
                                                     const std::string& instance_id);

struct GroupRule {
  std::string sg_id, direction;  // INGRESS | EGRESS
  network::SecurityRule rule;
};
// The rules of the groups, ordered by group, direction, then position.
Result<std::vector<GroupRule>> LoadGroupRules(Database& db, const std::set<std::string>& sg_ids);

// The private addresses of the live instances bound to each of the groups.
struct GroupMemberAddress {
  std::string sg_id, private_ip;
};
Result<std::vector<GroupMemberAddress>> LoadGroupMemberAddresses(
    Database& db, const std::set<std::string>& sg_ids);

}  // namespace cvm::store
