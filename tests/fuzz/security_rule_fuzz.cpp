// Security group rule normalisation (what CreateSecurityGroupPolicies stores and the data path
// compiles): arbitrary fields either fail with a code or give a rule that normalises to itself,
// with port ranges inside 1..65535.
#include "fuzz_support.h"
#include "network/security_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string_view> f = cvm::fuzz::Fields(cvm::fuzz::AsView(data, size), 7);
  f.resize(7);
  cvm::network::SecurityRule rule;
  rule.protocol = std::string(f[0]);
  rule.port = std::string(f[1]);
  rule.cidr = std::string(f[2]);
  rule.ipv6_cidr = std::string(f[3]);
  rule.peer_sg_id = std::string(f[4]);
  rule.action = std::string(f[5]);
  rule.description = std::string(f[6]);
  auto normal = cvm::network::NormalizeRule(rule);
  if (!normal.ok()) {
    CVM_FUZZ_CHECK(!normal.status().code().empty());
    return 0;
  }
  auto again = cvm::network::NormalizeRule(*normal);
  CVM_FUZZ_CHECK(again.ok());
  CVM_FUZZ_CHECK(*again == *normal);
  for (const cvm::network::PortRange& r : cvm::network::PortRanges(*normal)) {
    CVM_FUZZ_CHECK(r.first >= 1 && r.first <= r.last);
  }
  const int proto = cvm::network::ProtocolNumber(normal->protocol);
  CVM_FUZZ_CHECK(proto >= -1 && proto <= 255);
  return 0;
}
