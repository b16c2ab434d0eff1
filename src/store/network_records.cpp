#include "store/network_records.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"

namespace cvm::store {

using network::Cidr;
using network::FormatIpv4;
using network::ParseCidr;
using network::ParseIpv4;

namespace {
constexpr int64_t kFirstTableId = 1000;   // data-path table numbers below are the host's
constexpr int kDefaultSubnetPrefix = 20;  // Tencent gives each zone a /20 of the default VPC

std::vector<std::string> JsonStrings(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

template <typename Src>
Result<std::vector<StoredRule>> LoadRules(Src& src, const std::string& sg_id,
                                          const std::string& direction) {
  auto rows = src.Query(
      "SELECT protocol, port, cidr, ipv6_cidr, peer_sg_id, action, description, modified_at "
      "FROM sg_rules WHERE sg_id = ? AND direction = ? ORDER BY position",
      {sg_id, direction});
  if (!rows.ok()) return rows.status();
  std::vector<StoredRule> out;
  for (const auto& r : *rows) {
    StoredRule s;
    s.rule.protocol = r.Str(0);
    s.rule.port = r.Str(1);
    s.rule.cidr = r.Str(2);
    s.rule.ipv6_cidr = r.Str(3);
    s.rule.peer_sg_id = r.Str(4);
    s.rule.action = r.Str(5);
    s.rule.description = r.Str(6);
    s.modified_at = r.Int(7);
    out.push_back(std::move(s));
  }
  return out;
}

// Addresses of `column` held by live instances (optionally of one subnet).
Result<std::set<uint32_t>> UsedAddresses(Transaction& tx, const std::string& column,
                                         const std::string* subnet_id) {
  std::string sql = "SELECT " + column + " FROM instances WHERE deleted = 0 AND " + column +
                    " != ''" + (subnet_id ? " AND subnet_id = ?" : "");
  auto rows = subnet_id ? tx.Query(sql, {*subnet_id}) : tx.Query(sql);
  if (!rows.ok()) return rows.status();
  std::set<uint32_t> used;
  for (const auto& r : *rows) {
    if (auto a = ParseIpv4(r.Str(0))) used.insert(*a);
  }
  return used;
}
}  // namespace

const char* const kVpcColumns =
    "vpc_id, owner_uin, region, name, cidr, is_default, enable_multicast, dns_servers, "
    "domain_name, table_id, created_at";

VpcRecord VpcFromRow(const Row& r) {
  VpcRecord v;
  v.vpc_id = r.Str(0);
  v.owner_uin = r.Str(1);
  v.region = r.Str(2);
  v.name = r.Str(3);
  v.cidr = r.Str(4);
  v.is_default = r.Int(5) != 0;
  v.enable_multicast = r.Int(6) != 0;
  v.dns_servers = JsonStrings(r.Str(7));
  v.domain_name = r.Str(8);
  v.table_id = r.Int(9);
  v.created_at = r.Int(10);
  return v;
}

Status InsertVpc(Transaction& tx, const VpcRecord& v) {
  int64_t table_id = v.table_id;
  if (table_id == 0) {
    // Allocated inside the creating transaction: writers are serialized, so no two VPCs race
    // for one number (and the UNIQUE constraint would refuse it anyway).
    auto max = tx.Query("SELECT COALESCE(MAX(table_id), 0) FROM vpcs");
    if (!max.ok()) return max.status();
    table_id = std::max(kFirstTableId, (*max)[0].Int(0) + 1);
  }
  return tx.Exec(
      std::string("INSERT INTO vpcs(") + kVpcColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?,?)",
      {v.vpc_id, v.owner_uin, v.region, v.name, v.cidr, int64_t{v.is_default},
       int64_t{v.enable_multicast}, nlohmann::json(v.dns_servers).dump(), v.domain_name, table_id,
       v.created_at});
}

const char* const kSubnetColumns =
    "subnet_id, owner_uin, vpc_id, zone, name, cidr, is_default, created_at";

SubnetRecord SubnetFromRow(const Row& r) {
  return SubnetRecord{r.Str(0), r.Str(1), r.Str(2),      r.Str(3),
                      r.Str(4), r.Str(5), r.Int(6) != 0, r.Int(7)};
}

Status InsertSubnet(Transaction& tx, const SubnetRecord& s) {
  return tx.Exec(
      std::string("INSERT INTO subnets(") + kSubnetColumns + ") VALUES (?,?,?,?,?,?,?,?)",
      {s.subnet_id, s.owner_uin, s.vpc_id, s.zone, s.name, s.cidr, int64_t{s.is_default},
       s.created_at});
}

Result<DefaultNetwork> EnsureDefaultNetwork(Transaction& tx, const std::string& owner_uin,
                                            const std::string& region, const std::string& zone,
                                            const Config& config) {
  DefaultNetwork out;
  auto vpc = tx.Query(std::string("SELECT ") + kVpcColumns +
                          " FROM vpcs WHERE owner_uin = ? AND region = ? AND is_default = 1",
                      {owner_uin, region});
  if (!vpc.ok()) return vpc.status();
  if (!vpc->empty()) {
    out.vpc = VpcFromRow(vpc->front());
  } else {
    auto cidr = ParseCidr(config.default_vpc_cidr, /*strict=*/true);
    if (!cidr) {
      return Status(err::kInternalError,
                    "default_vpc_cidr `" + config.default_vpc_cidr + "` is not a CIDR block.");
    }
    out.vpc = VpcRecord{.vpc_id = NewResourceId("vpc"),
                        .owner_uin = owner_uin,
                        .region = region,
                        .name = "Default-VPC",
                        .cidr = cidr->ToString(),
                        .is_default = true,
                        .created_at = NowUnix()};
    CVM_RETURN_IF_ERROR(InsertVpc(tx, out.vpc));
  }
  auto subnet = tx.Query(std::string("SELECT ") + kSubnetColumns +
                             " FROM subnets WHERE vpc_id = ? AND zone = ? AND is_default = 1",
                         {out.vpc.vpc_id, zone});
  if (!subnet.ok()) return subnet.status();
  if (!subnet->empty()) {
    out.subnet = SubnetFromRow(subnet->front());
    return out;
  }
  auto vpc_cidr = ParseCidr(out.vpc.cidr, /*strict=*/true);
  auto siblings = tx.Query("SELECT cidr FROM subnets WHERE vpc_id = ?", {out.vpc.vpc_id});
  if (!siblings.ok()) return siblings.status();
  std::vector<Cidr> taken;
  for (const auto& r : *siblings) {
    if (auto c = ParseCidr(r.Str(0), true)) taken.push_back(*c);
  }
  const int prefix = std::max(kDefaultSubnetPrefix, vpc_cidr ? vpc_cidr->prefix : 32);
  const uint64_t step = uint64_t{1} << (32 - prefix);
  for (uint64_t base = vpc_cidr ? vpc_cidr->base : 0;
       vpc_cidr && base + step - 1 <= vpc_cidr->Last(); base += step) {
    Cidr candidate{.base = static_cast<uint32_t>(base), .prefix = prefix};
    bool overlaps = false;
    for (const auto& t : taken) overlaps = overlaps || t.Overlaps(candidate);
    if (overlaps) continue;
    out.subnet =
        SubnetRecord{NewResourceId("subnet"), owner_uin, out.vpc.vpc_id, zone, "Default-Subnet",
                     candidate.ToString(),    true,      NowUnix()};
    CVM_RETURN_IF_ERROR(InsertSubnet(tx, out.subnet));
    return out;
  }
  return Status(err::kResourceInsufficientCidrBlock,
                "The default VPC " + out.vpc.vpc_id + " has no free /" + std::to_string(prefix) +
                    " left for a default subnet in " + zone + ".");
}

Result<std::string> AllocatePrivateIp(Transaction& tx, const std::string& subnet_id,
                                      const Cidr& cidr, const std::string& requested) {
  auto used = UsedAddresses(tx, "private_ip", &subnet_id);
  if (!used.ok()) return used.status();
  if (!requested.empty()) {
    auto addr = ParseIpv4(requested);
    if (!addr) {
      return Status(err::kInvalidParameterValueIPAddressMalformed,
                    "`" + requested.substr(0, 40) + "` is not an IPv4 address.");
    }
    if (!cidr.Contains(*addr) || network::IsReservedInSubnet(cidr, *addr)) {
      return Status(err::kVpcAddrNotInSubNet, requested +
                                                  " is not an assignable address of subnet " +
                                                  subnet_id + " (" + cidr.ToString() + ").");
    }
    if (used->count(*addr)) {
      return Status(err::kVpcIpIsUsed, requested + " is already used in subnet " + subnet_id + ".");
    }
    return requested;
  }
  // Ascending from the first host: at most used->size() + 2 steps before a free one.
  for (uint64_t a = cidr.base; a <= cidr.Last(); ++a) {
    const auto addr = static_cast<uint32_t>(a);
    if (!network::IsReservedInSubnet(cidr, addr) && !used->count(addr)) return FormatIpv4(addr);
  }
  return Status(err::kFailedOperationNoAvailableIpAddressCountInSubnet,
                "Subnet " + subnet_id + " (" + cidr.ToString() + ") has no free address left.");
}

Result<std::string> AllocatePublicIp(Transaction& tx, const Cidr& pool) {
  auto used = UsedAddresses(tx, "public_ip", nullptr);
  if (!used.ok()) return used.status();
  const bool tiny = pool.prefix >= 31;  // /31 and /32 have no network or broadcast address
  for (uint64_t a = pool.base; a <= pool.Last(); ++a) {
    const auto addr = static_cast<uint32_t>(a);
    if (!tiny && (addr == pool.base || addr == pool.Last())) continue;
    if (!used->count(addr)) return FormatIpv4(addr);
  }
  return Status(err::kResourcesSoldOutEipInsufficient,
                "The public address pool " + pool.ToString() + " is exhausted.");
}

Result<std::string> EnsureDefaultSecurityGroup(Transaction& tx, const std::string& owner_uin,
                                               const std::string& region) {
  auto found = tx.Query(
      "SELECT sg_id FROM security_groups WHERE owner_uin = ? AND region = ? AND is_default = 1",
      {owner_uin, region});
  if (!found.ok()) return found.status();
  if (!found->empty()) return found->front().Str(0);
  const std::string id = NewResourceId("sg");
  const int64_t now = NowUnix();
  CVM_RETURN_IF_ERROR(tx.Exec(
      "INSERT INTO security_groups(sg_id, owner_uin, region, name, description, is_default, "
      "version, created_at, updated_at) "
      "VALUES (?,?,?,'default','System created security group',1,1,?,?)",
      {id, owner_uin, region, now, now}));
  auto accept = [&](const char* protocol, const char* port) {
    network::SecurityRule r;
    r.protocol = protocol;
    r.port = port;
    r.cidr = "0.0.0.0/0";
    r.action = "ACCEPT";
    return StoredRule{r, now};
  };
  CVM_RETURN_IF_ERROR(
      ReplaceSecurityGroupRules(tx, id, "INGRESS",
                                {accept("TCP", "22"), accept("TCP", "3389"), accept("TCP", "80"),
                                 accept("TCP", "443"), accept("ICMP", "ALL")}));
  CVM_RETURN_IF_ERROR(ReplaceSecurityGroupRules(tx, id, "EGRESS", {accept("ALL", "ALL")}));
  return id;
}

Result<std::vector<StoredRule>> LoadSecurityGroupRules(Transaction& tx, const std::string& sg_id,
                                                       const std::string& direction) {
  return LoadRules(tx, sg_id, direction);
}
Result<std::vector<StoredRule>> LoadSecurityGroupRules(Database& db, const std::string& sg_id,
                                                       const std::string& direction) {
  return LoadRules(db, sg_id, direction);
}

Status ReplaceSecurityGroupRules(Transaction& tx, const std::string& sg_id,
                                 const std::string& direction,
                                 const std::vector<StoredRule>& rules) {
  CVM_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM sg_rules WHERE sg_id = ? AND direction = ?", {sg_id, direction}));
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i].rule;
    CVM_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO sg_rules(sg_id, direction, position, protocol, port, cidr, ipv6_cidr, "
                "peer_sg_id, action, description, modified_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                {sg_id, direction, static_cast<int64_t>(i), r.protocol, r.port, r.cidr, r.ipv6_cidr,
                 r.peer_sg_id, r.action, r.description, rules[i].modified_at}));
  }
  return Status::Ok();
}

Result<std::vector<UsedAddress>> UsedAddresses(Transaction& tx, const std::string& vpc_id) {
  auto rows = tx.Query(
      "SELECT subnet_id, private_ip, instance_id FROM instances "
      "WHERE vpc_id = ? AND deleted = 0 AND private_ip != ''",
      {vpc_id});
  if (!rows.ok()) return rows.status();
  std::vector<UsedAddress> out;
  for (const auto& r : *rows) out.push_back({r.Str(0), r.Str(1), r.Str(2)});
  // Numeric address order, as a person reads a subnet.
  std::sort(out.begin(), out.end(), [](const UsedAddress& a, const UsedAddress& b) {
    return std::make_pair(a.subnet_id, ParseIpv4(a.ip).value_or(0)) <
           std::make_pair(b.subnet_id, ParseIpv4(b.ip).value_or(0));
  });
  return out;
}

Result<SecurityGroupUsage> UsageOfSecurityGroup(Transaction& tx, const std::string& sg_id) {
  auto rows = tx.Query(
      "SELECT (SELECT COUNT(*) FROM instance_security_groups b "
      "        JOIN instances i ON i.instance_id = b.instance_id "
      "        WHERE b.sg_id = ? AND i.deleted = 0), "
      "       (SELECT COUNT(DISTINCT sg_id) FROM sg_rules WHERE peer_sg_id = ? AND sg_id != ?)",
      {sg_id, sg_id, sg_id});
  if (!rows.ok()) return rows.status();
  return SecurityGroupUsage{rows->front().Int(0), rows->front().Int(1)};
}

}  // namespace cvm::store
