// Security groups, VPC isolation, anti-spoofing and 1:1 NAT as one nftables table in cvmd's
// namespace. The whole desired state (a NetworkPlan) is rendered to named objects; a change is
// applied as ONE libnftables transaction holding only the objects whose text changed, so a
// running instance is never unprotected or half-updated, a rule that nft rejects changes
// nothing, and the cost of a change does not grow with the number of unrelated rules.
//
// Packet path (routed design: each tap is a routed port, no bridge):
//   prerouting raw   from a tap: drop unless (tap, MAC, IP) is the instance's own; mark the
//                    packet and its conntrack zone with the VPC's number. From the uplink: the
//                    same for packets to a public address.
//   prerouting nat   public address -> private address (1:1)
//   forward prio 0   established/related pass; from a tap: that instance's egress groups
//   forward prio 10  established/related pass; to a tap: same VPC only, then that instance's
//                    ingress groups; to the uplink: only instances with a public address
//   postrouting nat  private -> public address when leaving through the uplink
// A group is a chain; consecutive rules with the same action become one lookup in an
// anonymous interval set of (address . protocol . port), so a packet's cost grows with the
// number of ACCEPT/DROP alternations, not with the number of rules; first match wins because
// the runs keep their order. Several groups on one instance are jumped to in binding order.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "drivers/network/net_namespace.h"
#include "network/security_rules.h"

namespace cvm::drivers::network {

// An instance whose VM may be running.
struct NicPlan {
  std::string instance_id;
  std::string tap;  // TapName(instance_id)
  std::string mac;  // lower case
  uint32_t ip = 0;
  uint32_t vpc = 0;  // the VPC's table_id: routing table, packet mark and conntrack zone
  std::optional<uint32_t> public_ip;
  std::vector<std::string> security_groups;  // binding order
};

struct GroupPlan {
  std::vector<cvm::network::SecurityRule> ingress, egress;
};

struct NetworkPlan {
  std::vector<NicPlan> nics;
  std::map<std::string, GroupPlan> groups;  // every group a nic is bound to
  // Private addresses of each group's members (all live instances), for rules whose source or
  // destination is a group.
  std::map<std::string, std::vector<uint32_t>> members;
};

// "tap-" + the instance id's suffix: unique, within IFNAMSIZ, and recognisable in `ip link`.
std::string TapName(const std::string& instance_id);

// The table as named objects: key "chain NAME" / "set NAME" / "map NAME", value the rule or
// element lines. Exposed for tests and the benchmark.
using RenderedTable = std::map<std::string, std::vector<std::string>>;
RenderedTable RenderTable(const NetworkPlan& plan);

// The nft script that turns `before` into `after` (full table when before is null).
std::string DiffScript(const RenderedTable* before, const RenderedTable& after);

class Firewall {
 public:
  explicit Firewall(const NetNamespace& ns) : ns_(ns) {}

  // Applies the plan: the first call replaces the whole table atomically (conntrack entries,
  // so open connections, survive); later calls send only what changed. On failure nothing
  // changes and the next call starts over with a full replacement.
  Status Apply(const NetworkPlan& plan);

  // Runs an nft script in the namespace as one transaction.
  Status Run(const std::string& script);

 private:
  const NetNamespace& ns_;
  std::optional<RenderedTable> applied_;
};

inline constexpr const char* kTableName = "opencvm";

}  // namespace cvm::drivers::network
