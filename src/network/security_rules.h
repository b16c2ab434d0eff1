// The security group rule language (Tencent's SecurityGroupPolicy): what a rule may say, in one
// canonical form. The API validates with it before anything is stored, and the data path
// compiles the same parsed form into nftables, so a rule means one thing everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "network/ipv4.h"

namespace cvm::network {

struct PortRange {
  uint16_t first = 0, last = 65535;
  bool operator==(const PortRange&) const = default;
};

// One rule as stored (sg_rules row) and as shown; exactly one of cidr, ipv6_cidr, peer_sg_id.
struct SecurityRule {
  std::string protocol = "ALL";  // TCP | UDP | ICMP | ICMPV6 | GRE | ALL
  std::string port = "ALL";      // ALL, "80", "8000-8010" or "22,80,443"
  std::string cidr, ipv6_cidr, peer_sg_id;
  std::string action;  // ACCEPT | DROP
  std::string description;
  bool operator==(const SecurityRule&) const = default;

  // Same match and verdict (the description aside): what DuplicatePolicy and deletion by
  // content compare.
  bool SameEffect(const SecurityRule& o) const {
    return protocol == o.protocol && port == o.port && cidr == o.cidr && ipv6_cidr == o.ipv6_cidr &&
           peer_sg_id == o.peer_sg_id && action == o.action;
  }
};

// Upper-cases protocol and action, normalises the CIDR ("10.1.2.3/8" -> "10.0.0.0/8") and the
// port list, and checks every field: unknown protocol, a port outside 1..65535 or on a
// port-less protocol, a malformed CIDR, more or fewer than one source, a bad action. Errors
// are InvalidParameterValue.* naming the field; peer_sg_id is checked for form only (the
// caller checks that the group exists and belongs to the account).
Result<SecurityRule> NormalizeRule(SecurityRule rule);

// The port ranges of a normalised rule; empty = any port.
std::vector<PortRange> PortRanges(const SecurityRule& rule);

// The IP protocol number, or -1 for ALL.
int ProtocolNumber(std::string_view protocol);

}  // namespace cvm::network
