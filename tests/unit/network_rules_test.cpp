// The IPv4/CIDR arithmetic and the security group rule language: what is accepted, in which
// canonical form, and what is refused with which code.
#include <gtest/gtest.h>

#include "network/ipv4.h"
#include "network/security_rules.h"

namespace cvm::network {
namespace {

TEST(Ipv4, ParsesDottedQuadsOnly) {
  EXPECT_EQ(ParseIpv4("10.1.2.3"), (10u << 24) | (1u << 16) | (2u << 8) | 3u);
  EXPECT_EQ(ParseIpv4("0.0.0.0"), 0u);
  EXPECT_EQ(ParseIpv4("255.255.255.255"), 0xffffffffu);
  for (const char* bad : {"", "10.1.2", "10.1.2.3.4", "256.0.0.1", "010.0.0.1", "1..2.3", "a.b.c.d",
                          "10.1.2.3 ", "-1.0.0.0", "1.2.3.4/"}) {
    EXPECT_FALSE(ParseIpv4(bad).has_value()) << bad;
  }
  EXPECT_EQ(FormatIpv4(*ParseIpv4("192.168.0.254")), "192.168.0.254");
}

TEST(Cidr, StrictRefusesHostBitsLenientClearsThem) {
  EXPECT_FALSE(ParseCidr("10.0.0.1/8", /*strict=*/true).has_value());
  auto lenient = ParseCidr("10.1.2.3/8", /*strict=*/false);
  ASSERT_TRUE(lenient.has_value());
  EXPECT_EQ(lenient->ToString(), "10.0.0.0/8");
  EXPECT_EQ(ParseCidr("0.0.0.0/0", true)->ToString(), "0.0.0.0/0");
  EXPECT_EQ(ParseCidr("10.0.0.7", true)->ToString(), "10.0.0.7/32");  // a bare address
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0/8", "x/8",
                          "10.0.0.0/08", "10.0.0.0/8/1"}) {
    EXPECT_FALSE(ParseCidr(bad, false).has_value()) << bad;
  }
}

TEST(Cidr, ContainsOverlapsAndSizes) {
  Cidr vpc = *ParseCidr("10.0.0.0/16", true);
  Cidr a = *ParseCidr("10.0.1.0/24", true), b = *ParseCidr("10.0.1.128/25", true);
  Cidr outside = *ParseCidr("10.1.0.0/24", true);
  EXPECT_TRUE(vpc.Contains(a));
  EXPECT_FALSE(a.Contains(vpc));
  EXPECT_FALSE(vpc.Contains(outside));
  EXPECT_TRUE(a.Overlaps(b));
  EXPECT_TRUE(b.Overlaps(a));
  EXPECT_FALSE(a.Overlaps(outside));
  EXPECT_EQ(a.Size(), 256u);
  EXPECT_EQ(UsableAddressCount(a), 253u);  // network, gateway and broadcast are kept back
  EXPECT_EQ(UsableAddressCount(*ParseCidr("10.0.0.0/28", true)), 13u);
  EXPECT_EQ(UsableAddressCount(*ParseCidr("10.0.0.0/31", true)), 0u);
  EXPECT_TRUE(IsReservedInSubnet(a, *ParseIpv4("10.0.1.0")));
  EXPECT_TRUE(IsReservedInSubnet(a, *ParseIpv4("10.0.1.1")));
  EXPECT_TRUE(IsReservedInSubnet(a, *ParseIpv4("10.0.1.255")));
  EXPECT_FALSE(IsReservedInSubnet(a, *ParseIpv4("10.0.1.2")));
  EXPECT_EQ(FormatIpv4(GatewayOf(a)), "10.0.1.1");
}

TEST(Cidr, VpcRangesAreTheTencentPrivateRanges) {
  for (const char* ok : {"10.0.0.0/12", "10.0.0.0/16", "172.16.0.0/12", "172.31.0.0/16",
                         "192.168.0.0/16", "192.168.3.0/28"}) {
    EXPECT_TRUE(IsAllowedVpcRange(*ParseCidr(ok, true))) << ok;
  }
  for (const char* bad : {"10.0.0.0/8", "10.0.0.0/29", "172.32.0.0/16", "192.168.0.0/15",
                          "11.0.0.0/16", "198.18.0.0/24"}) {
    EXPECT_FALSE(IsAllowedVpcRange(*ParseCidr(bad, true))) << bad;
  }
}

TEST(Cidr, Ipv6SyntaxOnly) {
  EXPECT_TRUE(IsValidIpv6Cidr("::/0"));
  EXPECT_TRUE(IsValidIpv6Cidr("2001:db8::/32"));
  EXPECT_FALSE(IsValidIpv6Cidr("2001:db8::/129"));
  EXPECT_FALSE(IsValidIpv6Cidr("10.0.0.0/8"));
  EXPECT_FALSE(IsValidIpv6Cidr("2001:db8::/"));
}

SecurityRule Rule(std::string protocol, std::string port, std::string cidr,
                  std::string action = "ACCEPT") {
  SecurityRule r;
  r.protocol = std::move(protocol);
  r.port = std::move(port);
  r.cidr = std::move(cidr);
  r.action = std::move(action);
  return r;
}

TEST(SecurityRules, NormalisesCaseCidrAndPorts) {
  auto r = NormalizeRule(Rule("tcp", "80", "10.1.2.3/8", "accept"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->protocol, "TCP");
  EXPECT_EQ(r->action, "ACCEPT");
  EXPECT_EQ(r->cidr, "10.0.0.0/8");
  EXPECT_EQ(r->port, "80");
  auto any = NormalizeRule(Rule("", "", "0.0.0.0/5", "drop"));
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->protocol, "ALL");
  EXPECT_EQ(any->port, "ALL");
  EXPECT_EQ(any->cidr, "0.0.0.0/0");
  auto list = NormalizeRule(Rule("UDP", "53,8000-8010", "192.168.0.0/16"));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(PortRanges(*list), (std::vector<PortRange>{{53, 53}, {8000, 8010}}));
  EXPECT_TRUE(PortRanges(*any).empty());
  EXPECT_EQ(NormalizeRule(Rule("icmp", "all", "0.0.0.0/0"))->port, "ALL");
}

// A block whose network is 0.0.0.0 but whose prefix is not 0 (10.1.2.3/4 is 0.0.0.0/4) has no
// canonical form: 0.0.0.0/n reads as anywhere. It is refused rather than stored as a rule that
// widens to anywhere when read back; every accepted rule normalises to itself.
TEST(SecurityRules, RefusesABlockThatWouldReadBackAsAnywhere) {
  for (const char* cidr : {"10.1.2.3/4", "127.0.0.1/1", "8.8.8.8/2"}) {
    EXPECT_EQ(NormalizeRule(Rule("TCP", "22", cidr)).status().code(),
              "InvalidParameterValue.Malformed")
        << cidr;
  }
  for (const char* cidr : {"10.1.2.3/8", "0.0.0.0/5", "16.0.0.1/4", "10.1.2.3/0"}) {
    auto r = NormalizeRule(Rule("TCP", "22", cidr));
    ASSERT_TRUE(r.ok()) << cidr;
    auto again = NormalizeRule(*r);
    ASSERT_TRUE(again.ok()) << cidr;
    EXPECT_EQ(*again, *r) << cidr;
  }
}

TEST(SecurityRules, RefusesBadPorts) {
  for (const char* port : {"70000", "0", "80-70", "-80", "80-", "a", "80,,81", "1-2-3"}) {
    auto r = NormalizeRule(Rule("TCP", port, "0.0.0.0/0"));
    ASSERT_FALSE(r.ok()) << port;
    EXPECT_EQ(r.status().code(), "InvalidParameterValue.Range") << port;
  }
  std::string sixteen;
  for (int i = 1; i <= 16; ++i) sixteen += (i > 1 ? "," : "") + std::to_string(i);
  EXPECT_FALSE(NormalizeRule(Rule("TCP", sixteen, "0.0.0.0/0")).ok());
  // A port on a protocol without ports.
  for (const char* protocol : {"ICMP", "GRE", "ALL"}) {
    auto r = NormalizeRule(Rule(protocol, "80", "0.0.0.0/0"));
    ASSERT_FALSE(r.ok()) << protocol;
    EXPECT_EQ(r.status().code(), "InvalidParameterValue") << protocol;
  }
}

TEST(SecurityRules, RefusesUnknownProtocolActionAndBadCidr) {
  EXPECT_EQ(NormalizeRule(Rule("SCTP", "ALL", "0.0.0.0/0")).status().code(),
            "InvalidParameterValue");
  EXPECT_EQ(NormalizeRule(Rule("TCP", "22", "0.0.0.0/0", "ALLOW")).status().code(),
            "InvalidParameterValue");
  for (const char* cidr : {"10.0.0.0/33", "10.0.0.256/8", "banana"}) {
    EXPECT_EQ(NormalizeRule(Rule("TCP", "22", cidr)).status().code(),
              "InvalidParameterValue.Malformed")
        << cidr;
  }
  auto v6 = Rule("ICMP", "ALL", "");
  v6.ipv6_cidr = "::/0";
  EXPECT_EQ(NormalizeRule(v6).status().code(), "InvalidParameterValue.Malformed");
  v6.protocol = "ICMPv6";
  EXPECT_TRUE(NormalizeRule(v6).ok());
}

TEST(SecurityRules, NeedsExactlyOneSource) {
  auto none = Rule("TCP", "22", "");
  EXPECT_EQ(NormalizeRule(none).status().code(), "InvalidParameter.Coexist");
  auto two = Rule("TCP", "22", "10.0.0.0/8");
  two.peer_sg_id = "sg-abcdefgh";
  EXPECT_EQ(NormalizeRule(two).status().code(), "InvalidParameter.Coexist");
  auto peer = Rule("TCP", "22", "");
  peer.peer_sg_id = "sg-abcdefgh";
  EXPECT_TRUE(NormalizeRule(peer).ok());
  peer.peer_sg_id = "sg-BAD";
  EXPECT_EQ(NormalizeRule(peer).status().code(), "InvalidSecurityGroupID.Malformed");
}

TEST(SecurityRules, SameEffectIgnoresTheDescription) {
  auto a = *NormalizeRule(Rule("TCP", "22", "10.0.0.0/8"));
  auto b = a;
  b.description = "ssh";
  EXPECT_TRUE(a.SameEffect(b));
  b.action = "DROP";
  EXPECT_FALSE(a.SameEffect(b));
  EXPECT_EQ(ProtocolNumber("TCP"), 6);
  EXPECT_EQ(ProtocolNumber("ICMPV6"), 58);
  EXPECT_EQ(ProtocolNumber("ALL"), -1);
}

}  // namespace
}  // namespace cvm::network
