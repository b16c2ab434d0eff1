// Links, addresses, routes and policy rules in cvmd's namespace (routed design, no bridge):
//   - an uplink veth pair to the host: the host routes the public address pool into the
//     namespace through it, and nothing else; the namespace has no default route, so nothing
//     is ever routed out of the machine;
//   - per VPC a routing table (number = the VPC's table_id) holding a /32 route per instance
//     and a "throw" default, selected by `iif <tap>` for the instance's own packets and by
//     fwmark for packets from the uplink and from cvmd itself: overlapping CIDRs in different
//     VPCs never meet;
//   - per instance a persistent tap (QEMU attaches to it by name) with proxy ARP, and the
//     subnet's gateway address on lo, which answers the guest's ARP for its gateway.
// Every function is idempotent: what exists and matches is kept, so re-running after a restart
// or a crash disturbs no traffic.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "drivers/network/net_namespace.h"

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

}  // namespace cvm::drivers::network
