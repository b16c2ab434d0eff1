// Links, addresses, routes and policy rules in cvmd's namespace (routed design, no bridge):
//   - an uplink veth pair to the host: the host routes the public address pool into the
//     namespace through it, and nothing else; the namespace has no default route, so nothing
//     is ever routed out of the machine;
//   - per VPC a routing table (number = the VPC's table_id) holding a /32 route per instance
//     and a "throw" default, selected by `iif <tap>` for the instance's own packets and by
//     fwmark for packets from the uplink and from cvmd itself: overlapping CIDRs in different
//     VPCs never meet;
//   - per instance a persistent tap (QEMU attaches to it by name) with proxy ARP, and the
//     subnet's gateway address on lo, which answers the guest's ARP for its gateway;
//   - per route table with routes of its own a routing table (number = the route table's
//     table_id), consulted first by its subnets' packets (RoutingPlan below).
// Every function is idempotent: what exists and matches is kept, so re-running after a restart
// or a crash disturbs no traffic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "drivers/network/net_namespace.h"
#include "network/ipv4.h"

namespace cvm::drivers::network {

struct UplinkConfig {
  uint32_t host_address = 0;  // host end of the veth pair (/30)
  uint32_t ns_address = 0;    // namespace end
  std::string public_pool;    // "198.18.0.0/24", routed by the host to ns_address
};

// The host's end of the uplink: "<namespace>-up".
std::string HostUplinkName(const NetNamespace& ns);
inline constexpr const char* kNamespaceUplink = "uplink0";

// Namespace, sysctls (forwarding on, proxy ARP by default, IPv6 off), uplink pair and the
// host's route to the public pool.
Status EnsureUplink(const NetNamespace& ns, const UplinkConfig& config);

struct InstanceLink {
  std::string tap;
  uint32_t ip = 0;
  uint32_t gateway = 0;  // the subnet's gateway, answered by the namespace
  uint32_t vpc = 0;      // routing table / fwmark
};

Status EnsureInstanceLink(const NetNamespace& ns, const InstanceLink& link);
// Removes the tap (its routes go with it) and its policy rule. Missing parts are fine.
Status RemoveInstanceLink(const NetNamespace& ns, const std::string& tap, uint32_t vpc);

// Taps present in the namespace (to remove those of instances that no longer run).
Result<std::vector<std::string>> ListTaps(const NetNamespace& ns);

// Route tables. A subnet whose route table has routes of its own gets a policy rule
// "from SUBNET fwmark VPC lookup TABLE" ahead of the per-tap rules, so only its instances'
// packets (the mark keeps overlapping CIDRs of other VPCs out) consult TABLE first. TABLE holds
// "throw VPC_CIDR" (the LOCAL route: the VPC's own addresses stay with the VPC's table, however
// wide a user route is), "throw UPLINK" (replies to the host through a public address) and "DEST
// via NEXT_HOP dev tap-X onlink" for each route whose next-hop instance X is plugged. A miss or a
// throw falls through to the VPC's table, which has no route off the VPC: a route whose next hop is
// not running drops, as one with no table would.
struct SubnetRule {
  cvm::network::Cidr source;
  uint32_t mark = 0;   // the VPC's number
  uint32_t table = 0;  // the route table's number
  bool operator==(const SubnetRule&) const = default;
};
struct TableRoute {
  uint32_t table = 0;
  cvm::network::Cidr destination;
  uint32_t next_hop = 0;  // 0: "throw" (the LOCAL route)
  std::string tap;        // the next hop's tap
  bool operator==(const TableRoute&) const = default;
};
struct RoutingPlan {
  std::vector<SubnetRule> rules;
  std::vector<TableRoute> routes;
  bool operator==(const RoutingPlan&) const = default;
};
inline constexpr uint32_t kFirstRouteTable = 1000000;  // route tables' numbers start here

// The `ip` commands that turn the current rules and routes (the JSON of `ip -j rule show` and
// `ip -j route show table all`) into `plan`; only rules of the route tables' priority and
// routes of tables from kFirstRouteTable on are touched.
Result<std::vector<std::string>> RoutingCommands(const std::string& rules_json,
                                                 const std::string& routes_json,
                                                 const RoutingPlan& plan);
// Reads the namespace's rules and routes and applies the difference (idempotent).
Status ApplyRouting(const NetNamespace& ns, const RoutingPlan& plan);

}  // namespace cvm::drivers::network
