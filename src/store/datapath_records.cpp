#include "store/datapath_records.h"

#include <nlohmann/json.hpp>

#include "common/error_codes.h"

namespace cvm::store {

Result<std::optional<SubnetAddressing>> LoadSubnetAddressing(Database& db,
                                                             const std::string& subnet_id) {
  auto rows = db.Query(
      "SELECT s.cidr, v.table_id, v.dns_servers FROM subnets s JOIN vpcs v ON v.vpc_id = s.vpc_id "
      "WHERE s.subnet_id = ?",
      {subnet_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<SubnetAddressing>();
  const Row& r = rows->front();
  auto dns = nlohmann::json::parse(r.Str(2), nullptr, false);
  if (!dns.is_array()) return Status(kind::kBug, "bad DNS server list " + r.Str(2));
  SubnetAddressing out{.cidr = r.Str(0), .vpc_table_id = r.Int(1)};
  for (const auto& d : dns) {
    if (d.is_string()) out.dns_servers.push_back(d.get<std::string>());
  }
  return std::optional<SubnetAddressing>(std::move(out));
}

Result<std::vector<NicRecord>> LoadNics(Database& db, const std::set<std::string>& instance_ids) {
  std::vector<NicRecord> out;
  if (instance_ids.empty()) return out;
  auto rows = db.Query(
      "SELECT i.instance_id, i.mac, i.private_ip, i.public_ip, v.table_id FROM instances i "
      "JOIN vpcs v ON v.vpc_id = i.vpc_id WHERE i.deleted = 0 AND i.instance_id IN " +
          InList(instance_ids.size()),
      Values(instance_ids));
  if (!rows.ok()) return rows.status();
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back({r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Int(4)});
  return out;
}

Result<std::vector<SecurityGroupBinding>> LoadSecurityGroupBindings(
    Database& db, const std::set<std::string>& instance_ids) {
  std::vector<SecurityGroupBinding> out;
  if (instance_ids.empty()) return out;
  auto rows =
      db.Query("SELECT instance_id, sg_id FROM instance_security_groups WHERE instance_id IN " +
                   InList(instance_ids.size()) + " ORDER BY instance_id, position",
               Values(instance_ids));
  if (!rows.ok()) return rows.status();
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back({r.Str(0), r.Str(1)});
  return out;
}

Status BindSecurityGroup(Transaction& tx, const std::string& instance_id, const std::string& sg_id,
                         int64_t position) {
  return tx.Exec(
      "INSERT INTO instance_security_groups(instance_id, sg_id, position) VALUES (?, ?, ?) "
      "ON CONFLICT (instance_id, sg_id) DO NOTHING",
      {instance_id, sg_id, position});
}

Status ReplaceSecurityGroupBindings(Transaction& tx, const std::string& instance_id,
                                    const std::vector<std::string>& sg_ids) {
  CVM_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM instance_security_groups WHERE instance_id = ?", {instance_id}));
  for (size_t i = 0; i < sg_ids.size(); ++i) {
    CVM_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO instance_security_groups(instance_id, sg_id, position) VALUES (?,?,?)",
                {instance_id, sg_ids[i], static_cast<int64_t>(i)}));
  }
  return Status::Ok();
}

Result<std::vector<std::string>> BoundSecurityGroups(Transaction& tx,
                                                     const std::string& instance_id) {
  auto rows =
      tx.Query("SELECT sg_id FROM instance_security_groups WHERE instance_id = ? ORDER BY position",
               {instance_id});
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  for (const auto& r : *rows) out.push_back(r.Str(0));
  return out;
}

Result<std::vector<GroupRule>> LoadGroupRules(Database& db, const std::set<std::string>& sg_ids) {
  std::vector<GroupRule> out;
  if (sg_ids.empty()) return out;
  auto rows = db.Query(
      "SELECT sg_id, direction, protocol, port, cidr, ipv6_cidr, peer_sg_id, action "
      "FROM sg_rules WHERE sg_id IN " +
          InList(sg_ids.size()) + " ORDER BY sg_id, direction, position",
      Values(sg_ids));
  if (!rows.ok()) return rows.status();
  out.reserve(rows->size());
  for (const auto& r : *rows) {
    out.push_back({r.Str(0), r.Str(1),
                   network::SecurityRule{.protocol = r.Str(2),
                                         .port = r.Str(3),
                                         .cidr = r.Str(4),
                                         .ipv6_cidr = r.Str(5),
                                         .peer_sg_id = r.Str(6),
                                         .action = r.Str(7)}});
  }
  return out;
}

Result<std::vector<GroupMemberAddress>> LoadGroupMemberAddresses(
    Database& db, const std::set<std::string>& sg_ids) {
  std::vector<GroupMemberAddress> out;
  if (sg_ids.empty()) return out;
  auto rows = db.Query(
      "SELECT b.sg_id, i.private_ip FROM instance_security_groups b JOIN instances i "
      "ON i.instance_id = b.instance_id WHERE i.deleted = 0 AND i.private_ip != '' AND "
      "b.sg_id IN " +
          InList(sg_ids.size()),
      Values(sg_ids));
  if (!rows.ok()) return rows.status();
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back({r.Str(0), r.Str(1)});
  return out;
}

}  // namespace cvm::store
