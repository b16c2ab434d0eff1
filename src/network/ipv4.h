// IPv4 addresses and CIDR blocks: the arithmetic behind VPC and subnet ranges, address
// allocation and security group sources. Host byte order throughout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cvm::network {

// Dotted quad, exactly four decimal octets without leading zeros ("010.0.0.1" is refused: some
// parsers read it as octal, and a rule that means two things must not be accepted).
std::optional<uint32_t> ParseIpv4(std::string_view text);
std::string FormatIpv4(uint32_t addr);

struct Cidr {
  uint32_t base = 0;  // network address (host bits zero)
  int prefix = 0;     // 0..32

  uint32_t Mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  uint64_t Size() const { return uint64_t{1} << (32 - prefix); }
  uint32_t Last() const { return base | ~Mask(); }
  bool Contains(uint32_t addr) const { return (addr & Mask()) == base; }
  bool Contains(const Cidr& inner) const { return inner.prefix >= prefix && Contains(inner.base); }
  bool Overlaps(const Cidr& other) const { return Contains(other.base) || other.Contains(base); }
  std::string ToString() const;  // "10.0.0.0/16"
  bool operator==(const Cidr&) const = default;
};

// "a.b.c.d/n" (a bare address means /32). strict: host bits must be zero ("10.0.0.1/8" is
// refused), as for VPC and subnet blocks; otherwise they are cleared, as Tencent does for rule
// sources ("10.1.2.3/8" -> "10.0.0.0/8"; NormalizeRule also reads "0.0.0.0/n" as "0.0.0.0/0").
std::optional<Cidr> ParseCidr(std::string_view text, bool strict);

// The addresses a subnet never hands out: its network address, the gateway (first host, which
// the data path answers for) and the broadcast address.
uint32_t GatewayOf(const Cidr& subnet);
bool IsReservedInSubnet(const Cidr& subnet, uint32_t addr);
uint64_t UsableAddressCount(const Cidr& subnet);

// The private ranges a VPC may use, as on Tencent Cloud: 10.0.0.0/8, 172.16.0.0/12 and
// 192.168.0.0/16, with prefixes from /12 (/16 for 192.168) down to /28.
bool IsAllowedVpcRange(const Cidr& cidr);

// IPv6 CIDR syntax only (the data path is IPv4; IPv6 rules are stored and shown).
bool IsValidIpv6Cidr(std::string_view text);

}  // namespace cvm::network
