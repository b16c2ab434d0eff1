#include "store/network_records.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error_codes.h"
#include "common/ids.h"
#include "common/time_format.h"
#include "store/route_tables.h"

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
  CVM_RETURN_IF_ERROR(
      tx.Exec(std::string("INSERT INTO vpcs(") + kVpcColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?,?)",
              {v.vpc_id, v.owner_uin, v.region, v.name, v.cidr, int64_t{v.is_default},
               int64_t{v.enable_multicast}, nlohmann::json(v.dns_servers).dump(), v.domain_name,
               table_id, v.created_at}));
  RouteTableRecord main{.owner_uin = v.owner_uin,
                        .region = v.region,
                        .vpc_id = v.vpc_id,
                        .name = "default",
                        .is_main = true,
                        .created_at = v.created_at};
  return InsertRouteTable(tx, main, v.cidr);
}

const char* const kSubnetColumns =
    "subnet_id, owner_uin, vpc_id, zone, name, cidr, is_default, created_at, route_table_id";

SubnetRecord SubnetFromRow(const Row& r) {
  return SubnetRecord{r.Str(0), r.Str(1),      r.Str(2), r.Str(3), r.Str(4),
                      r.Str(5), r.Int(6) != 0, r.Int(7), r.Str(8)};
}

Result<SubnetRecord> InsertSubnet(Transaction& tx, SubnetRecord s) {
  if (s.route_table_id.empty()) {
    auto main = MainRouteTableId(tx, s.vpc_id);
    if (!main.ok()) return main.status();
    s.route_table_id = *main;
  }
  CVM_RETURN_IF_ERROR(
      tx.Exec(std::string("INSERT INTO subnets(") + kSubnetColumns + ") VALUES (?,?,?,?,?,?,?,?,?)",
              {s.subnet_id, s.owner_uin, s.vpc_id, s.zone, s.name, s.cidr, int64_t{s.is_default},
               s.created_at, s.route_table_id}));
  return s;
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
    auto made =
        InsertSubnet(tx, SubnetRecord{NewResourceId("subnet"), owner_uin, out.vpc.vpc_id, zone,
                                      "Default-Subnet", candidate.ToString(), true, NowUnix()});
    if (!made.ok()) return made.status();
    out.subnet = std::move(*made);
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
  CVM_RETURN_IF_ERROR(InsertSecurityGroup(tx, {.sg_id = id,
                                               .owner_uin = owner_uin,
                                               .region = region,
                                               .name = "default",
                                               .description = "System created security group",
                                               .is_default = true,
                                               .version = 1,
                                               .created_at = now,
                                               .updated_at = now}));
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

// ---- VPCs and subnets ----

Result<std::optional<VpcRecord>> FindVpc(Transaction& tx, const Scope& scope,
                                         const std::string& vpc_id) {
  auto rows = tx.Query(std::string("SELECT ") + kVpcColumns +
                           " FROM vpcs WHERE vpc_id = ? AND owner_uin = ? AND region = ?",
                       {vpc_id, scope.owner_uin, scope.region});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<VpcRecord>();
  return std::optional(VpcFromRow(rows->front()));
}

Result<int64_t> CountVpcs(Transaction& tx, const Scope& scope) {
  auto rows = tx.Query("SELECT COUNT(*) FROM vpcs WHERE owner_uin = ? AND region = ?",
                       {scope.owner_uin, scope.region});
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

Status UpdateVpc(Transaction& tx, const VpcRecord& v) {
  return tx.Exec(
      "UPDATE vpcs SET name = ?, enable_multicast = ?, dns_servers = ?, domain_name = ? "
      "WHERE vpc_id = ?",
      {v.name, int64_t{v.enable_multicast}, nlohmann::json(v.dns_servers).dump(), v.domain_name,
       v.vpc_id});
}

Status DeleteVpc(Transaction& tx, const std::string& vpc_id) {
  CVM_RETURN_IF_ERROR(tx.Exec(
      "DELETE FROM tags WHERE resource_id IN (SELECT subnet_id FROM subnets WHERE vpc_id = ?)",
      {vpc_id}));
  CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM subnets WHERE vpc_id = ?", {vpc_id}));
  CVM_RETURN_IF_ERROR(DeleteVpcRouteTables(tx, vpc_id));
  CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM tags WHERE resource_id = ?", {vpc_id}));
  return tx.Exec("DELETE FROM vpcs WHERE vpc_id = ?", {vpc_id});
}

Result<Page<VpcRecord>> ListVpcs(Database& db, const Scope& scope, const VpcFilter& f,
                                 const PageRequest& page) {
  ListQuery q("owner_uin = ? AND region = ?", {scope.owner_uin, scope.region});
  if (!f.ids.empty()) q.In("vpc_id", f.ids);
  q.In("vpc_id", f.vpc_ids);
  q.In("cidr", f.cidrs);
  if (f.name_contains) {
    std::string any;
    std::vector<Value> args;
    for (const auto& n : *f.name_contains) {
      // A substring test both backends run alike (LIKE folds case on SQLite only).
      any += (any.empty() ? "(" : " OR ") +
             std::string("(? = '' OR length(replace(name, ?, '')) < length(name))");
      args.emplace_back(n);
      args.emplace_back(n);
    }
    q.And(any + ")", std::move(args));
  }
  q.Flag("is_default", f.is_default);
  if (f.match_nothing) q.MatchNothing();
  q.Tagged("vpc_id", f.tags);
  return TypedPage<VpcRecord>(q.List(db, "vpcs", "vpc_id", kVpcColumns, "created_at, rowid", page),
                              VpcFromRow);
}

Result<std::optional<SubnetRecord>> FindSubnet(Transaction& tx, const Scope& scope,
                                               const std::string& subnet_id) {
  auto rows = tx.Query(std::string("SELECT ") + kSubnetColumns +
                           " FROM subnets WHERE subnet_id = ? AND owner_uin = ? AND vpc_id IN "
                           "(SELECT vpc_id FROM vpcs WHERE region = ?)",
                       {subnet_id, scope.owner_uin, scope.region});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<SubnetRecord>();
  return std::optional(SubnetFromRow(rows->front()));
}

Result<std::optional<SubnetRecord>> FindSubnetOfAccount(Transaction& tx,
                                                        const std::string& owner_uin,
                                                        const std::string& subnet_id) {
  auto rows = tx.Query(std::string("SELECT ") + kSubnetColumns +
                           " FROM subnets WHERE subnet_id = ? AND owner_uin = ?",
                       {subnet_id, owner_uin});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<SubnetRecord>();
  return std::optional(SubnetFromRow(rows->front()));
}

Result<std::vector<SubnetRecord>> SubnetsOfVpc(Transaction& tx, const std::string& vpc_id) {
  auto rows = tx.Query(std::string("SELECT ") + kSubnetColumns +
                           " FROM subnets WHERE vpc_id = ? ORDER BY created_at, rowid",
                       {vpc_id});
  if (!rows.ok()) return rows.status();
  std::vector<SubnetRecord> out;
  for (const auto& r : *rows) out.push_back(SubnetFromRow(r));
  return out;
}

Result<int64_t> CountSubnets(Transaction& tx, const std::string& vpc_id) {
  auto rows = tx.Query("SELECT COUNT(*) FROM subnets WHERE vpc_id = ?", {vpc_id});
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

Status RenameSubnet(Transaction& tx, const std::string& subnet_id, const std::string& name) {
  return tx.Exec("UPDATE subnets SET name = ? WHERE subnet_id = ?", {name, subnet_id});
}

Status DeleteSubnet(Transaction& tx, const std::string& subnet_id) {
  CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM tags WHERE resource_id = ?", {subnet_id}));
  return tx.Exec("DELETE FROM subnets WHERE subnet_id = ?", {subnet_id});
}

Result<int64_t> CountSubnetAddressesInUse(Database& db, const std::string& subnet_id) {
  auto rows = db.Query(
      "SELECT COUNT(*) FROM instances WHERE subnet_id = ? AND deleted = 0 AND private_ip != ''",
      {subnet_id});
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

Result<Page<SubnetRecord>> ListSubnets(Database& db, const Scope& scope, const SubnetFilter& f,
                                       const PageRequest& page) {
  ListQuery q("owner_uin = ? AND vpc_id IN (SELECT vpc_id FROM vpcs WHERE region = ?)",
              {scope.owner_uin, scope.region});
  if (!f.ids.empty()) q.In("subnet_id", f.ids);
  q.In("cidr", f.cidrs);
  q.In("name", f.names);
  q.In("subnet_id", f.subnet_ids);
  q.In("vpc_id", f.vpc_ids);
  q.In("zone", f.zones);
  q.Flag("is_default", f.is_default);
  if (f.match_nothing) q.MatchNothing();
  q.Tagged("subnet_id", f.tags);
  return TypedPage<SubnetRecord>(
      q.List(db, "subnets", "subnet_id", kSubnetColumns, "created_at, rowid", page), SubnetFromRow);
}

namespace {
Result<std::string> AnyLiveInstance(Transaction& tx, const char* column, const std::string& id) {
  auto rows = tx.Query(std::string("SELECT instance_id FROM instances WHERE ") + column +
                           " = ? AND deleted = 0 LIMIT 1",
                       {id});
  if (!rows.ok()) return rows.status();
  return rows->empty() ? std::string() : rows->front().Str(0);
}
}  // namespace

Result<std::string> AnyInstanceInVpc(Transaction& tx, const std::string& vpc_id) {
  return AnyLiveInstance(tx, "vpc_id", vpc_id);
}
Result<std::string> AnyInstanceInSubnet(Transaction& tx, const std::string& subnet_id) {
  return AnyLiveInstance(tx, "subnet_id", subnet_id);
}

// ---- security groups ----

namespace {
constexpr const char* kGroupColumns =
    "sg_id, owner_uin, region, name, description, project_id, is_default, version, created_at, "
    "updated_at";

SecurityGroupRecord GroupFromRow(const Row& r) {
  return SecurityGroupRecord{r.Str(0), r.Str(1),      r.Str(2), r.Str(3), r.Str(4),
                             r.Int(5), r.Int(6) != 0, r.Int(7), r.Int(8), r.Int(9)};
}

template <typename Src>
Result<std::optional<SecurityGroupRecord>> FindGroup(Src& src, const Scope& scope,
                                                     const std::string& sg_id) {
  auto rows =
      src.Query(std::string("SELECT ") + kGroupColumns +
                    " FROM security_groups WHERE sg_id = ? AND owner_uin = ? AND region = ?",
                {sg_id, scope.owner_uin, scope.region});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<SecurityGroupRecord>();
  return std::optional(GroupFromRow(rows->front()));
}
}  // namespace

Status InsertSecurityGroup(Transaction& tx, const SecurityGroupRecord& g) {
  return tx.Exec(std::string("INSERT INTO security_groups(") + kGroupColumns +
                     ") VALUES (?,?,?,?,?,?,?,?,?,?)",
                 {g.sg_id, g.owner_uin, g.region, g.name, g.description, g.project_id,
                  int64_t{g.is_default}, g.version, g.created_at, g.updated_at});
}

Result<std::optional<SecurityGroupRecord>> FindSecurityGroup(Transaction& tx, const Scope& scope,
                                                             const std::string& sg_id) {
  return FindGroup(tx, scope, sg_id);
}
Result<std::optional<SecurityGroupRecord>> FindSecurityGroup(Database& db, const Scope& scope,
                                                             const std::string& sg_id) {
  return FindGroup(db, scope, sg_id);
}

Result<int64_t> CountSecurityGroups(Transaction& tx, const Scope& scope) {
  auto rows = tx.Query("SELECT COUNT(*) FROM security_groups WHERE owner_uin = ? AND region = ?",
                       {scope.owner_uin, scope.region});
  if (!rows.ok()) return rows.status();
  return (*rows)[0].Int(0);
}

Status UpdateSecurityGroup(Transaction& tx, const std::string& sg_id,
                           const std::optional<std::string>& name,
                           const std::optional<std::string>& description, int64_t now) {
  auto text = [](const std::optional<std::string>& v) { return v ? Value(*v) : Value(nullptr); };
  return tx.Exec(
      "UPDATE security_groups SET name = COALESCE(?, name), description = "
      "COALESCE(?, description), updated_at = ? WHERE sg_id = ?",
      {text(name), text(description), now, sg_id});
}

Status BumpSecurityGroupVersion(Transaction& tx, const std::string& sg_id, int64_t now) {
  return tx.Exec("UPDATE security_groups SET version = version + 1, updated_at = ? WHERE sg_id = ?",
                 {now, sg_id});
}

Status DeleteSecurityGroup(Transaction& tx, const std::string& sg_id) {
  CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM sg_rules WHERE sg_id = ?", {sg_id}));
  CVM_RETURN_IF_ERROR(tx.Exec("DELETE FROM tags WHERE resource_id = ?", {sg_id}));
  return tx.Exec("DELETE FROM security_groups WHERE sg_id = ?", {sg_id});
}

Result<SecurityGroupHolder> AnyHolderOfSecurityGroup(Transaction& tx, const std::string& sg_id) {
  auto rows = tx.Query(
      "SELECT (SELECT instance_id FROM instance_security_groups WHERE sg_id = ? LIMIT 1), "
      "(SELECT sg_id FROM sg_rules WHERE peer_sg_id = ? AND sg_id != ? LIMIT 1)",
      {sg_id, sg_id, sg_id});
  if (!rows.ok()) return rows.status();
  return SecurityGroupHolder{rows->front().Str(0), rows->front().Str(1)};
}

Result<std::vector<std::string>> GroupsReferencing(Transaction& tx, const std::string& sg_id) {
  auto rows = tx.Query(
      "SELECT DISTINCT sg_id FROM sg_rules WHERE peer_sg_id = ? AND sg_id != ? ORDER BY sg_id",
      {sg_id, sg_id});
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  for (const auto& r : *rows) out.push_back(r.Str(0));
  return out;
}

Result<Page<SecurityGroupRecord>> ListSecurityGroups(Database& db, const Scope& scope,
                                                     const SecurityGroupFilter& f,
                                                     const SecurityGroupOrder& order,
                                                     const PageRequest& page) {
  ListQuery q("owner_uin = ? AND region = ?", {scope.owner_uin, scope.region});
  if (!f.ids.empty()) q.In("sg_id", f.ids);
  q.In("CAST(project_id AS TEXT)", f.project_ids);
  q.In("sg_id", f.sg_ids);
  q.In("name", f.names);
  q.Tagged("sg_id", f.tags);
  const std::string direction = order.descending ? "DESC" : "ASC";
  const std::string by =
      (order.by_update_time ? "updated_at " : "created_at ") + direction + ", rowid " + direction;
  return TypedPage<SecurityGroupRecord>(
      q.List(db, "security_groups", "sg_id", kGroupColumns, by, page), GroupFromRow);
}

}  // namespace cvm::store
