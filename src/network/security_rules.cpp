#include "network/security_rules.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/error_codes.h"
#include "common/ids.h"

namespace cvm::network {

namespace {

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Status Malformed(const std::string& what) {
  return Status(err::kInvalidParameterValueMalformed, what);
}

bool ParsePort(std::string_view s, uint16_t& out) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return false;
  if (v < 1 || v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

// "80", "8000-8010" or "22,80,443" (each item a port or a range); false on anything else.
bool ParsePortList(std::string_view spec, std::vector<PortRange>& out) {
  if (spec.empty()) return false;
  while (true) {
    size_t comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    size_t dash = item.find('-');
    PortRange r;
    if (dash == std::string_view::npos) {
      if (!ParsePort(item, r.first)) return false;
      r.last = r.first;
    } else if (!ParsePort(item.substr(0, dash), r.first) ||
               !ParsePort(item.substr(dash + 1), r.last) || r.first > r.last) {
      return false;
    }
    out.push_back(r);
    if (comma == std::string_view::npos) return true;
    spec.remove_prefix(comma + 1);
  }
}

constexpr size_t kMaxPortItems = 15;  // Tencent allows up to 15 discrete ports per rule

}  // namespace

int ProtocolNumber(std::string_view p) {
  if (p == "TCP") return 6;
  if (p == "UDP") return 17;
  if (p == "ICMP") return 1;
  if (p == "ICMPV6") return 58;
  if (p == "GRE") return 47;
  return -1;
}

Result<SecurityRule> NormalizeRule(SecurityRule r) {
  r.protocol = Upper(r.protocol.empty() ? "ALL" : r.protocol);
  if (r.protocol != "ALL" && ProtocolNumber(r.protocol) < 0) {
    return Status(err::kInvalidParameterValue,
                  "Protocol `" + r.protocol + "` is not one of TCP, UDP, ICMP, ICMPv6, GRE, ALL.");
  }
  std::string port = Upper(r.port.empty() ? "ALL" : r.port);
  if (port == "ALL") {
    r.port = "ALL";
  } else {
    if (r.protocol != "TCP" && r.protocol != "UDP") {
      return Status(err::kInvalidParameterValue,
                    "Port must be ALL for protocol " + r.protocol + " (got `" + r.port + "`).");
    }
    std::vector<PortRange> ranges;
    if (!ParsePortList(port, ranges) || ranges.size() > kMaxPortItems) {
      return Status(err::kInvalidParameterValueRange,
                    "Port `" + r.port +
                        "` is not a port (1-65535), a range like 8000-8010 or a list of up to 15 "
                        "of them separated by commas.");
    }
    r.port = port;
  }

  int sources = !r.cidr.empty() + !r.ipv6_cidr.empty() + !r.peer_sg_id.empty();
  if (sources != 1) {
    return Status(err::kInvalidParameterCoexist,
                  "A rule needs exactly one of CidrBlock, Ipv6CidrBlock and SecurityGroupId.");
  }
  if (!r.cidr.empty()) {
    auto c = ParseCidr(r.cidr, /*strict=*/false);
    if (!c) return Malformed("CidrBlock `" + r.cidr + "` is not an IPv4 CIDR block.");
    // As Tencent does, 0.0.0.0/n means anywhere (not the first 2^(32-n) addresses). So a block
    // whose network is 0.0.0.0 has no canonical form but 0.0.0.0/0: 10.1.2.3/4 would be stored
    // as 0.0.0.0/4 and read back as anywhere.
    if (ParseIpv4(std::string_view(r.cidr).substr(0, r.cidr.find('/'))) == 0u) {
      c->prefix = 0;
    } else if (c->base == 0 && c->prefix > 0) {
      return Malformed("CidrBlock `" + r.cidr + "` is the block " + c->ToString() +
                       ", which reads as anywhere: write 0.0.0.0/0 or a narrower block.");
    }
    r.cidr = c->ToString();
    if (r.protocol == "ICMPV6") return Malformed("ICMPv6 rules need an Ipv6CidrBlock.");
  }
  if (!r.ipv6_cidr.empty()) {
    if (!IsValidIpv6Cidr(r.ipv6_cidr)) {
      return Malformed("Ipv6CidrBlock `" + r.ipv6_cidr + "` is not an IPv6 CIDR block.");
    }
    if (r.protocol == "ICMP") return Malformed("ICMP with an IPv6 source: use ICMPv6.");
  }
  if (!r.peer_sg_id.empty() && !IsWellFormedId("sg", r.peer_sg_id)) {
    return Status(err::kInvalidSecurityGroupIDMalformed,
                  "SecurityGroupId `" + r.peer_sg_id + "` is not a security group id.");
  }
  r.action = Upper(r.action);
  if (r.action != "ACCEPT" && r.action != "DROP") {
    return Status(err::kInvalidParameterValue, "Action `" + r.action + "` is not ACCEPT or DROP.");
  }
  if (r.description.size() > 100) {
    return Status(err::kInvalidParameterValueTooLong,
                  "PolicyDescription is longer than 100 bytes.");
  }
  return r;
}

std::vector<PortRange> PortRanges(const SecurityRule& rule) {
  std::vector<PortRange> out;
  if (rule.port != "ALL") ParsePortList(rule.port, out);
  return out;
}

}  // namespace cvm::network
