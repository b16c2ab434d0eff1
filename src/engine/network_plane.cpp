#include "engine/network_plane.h"

#include <spdlog/spdlog.h>

#include <map>
#include <nlohmann/json.hpp>

#include "common/error_codes.h"
#include "drivers/network/links.h"
#include "network/ipv4.h"
#include "store/network_records.h"

namespace cvm::engine {

namespace dn = drivers::network;
namespace net = cvm::network;

namespace {

// "(?,?,?)" for n parameters.
std::string Placeholders(size_t n) {
  std::string s = "(";
  for (size_t i = 0; i < n; ++i) s += i ? ",?" : "?";
  return s + ")";
}

std::vector<store::Value> Values(const std::set<std::string>& ids) {
  return {ids.begin(), ids.end()};
}

struct InstanceAddress {
  uint32_t ip = 0, gateway = 0, vpc = 0;
  int prefix = 32;
  std::vector<std::string> dns;
};

Result<InstanceAddress> LoadAddress(store::Database& db, const store::InstanceRecord& inst) {
  auto rows = db.Query(
      "SELECT s.cidr, v.table_id, v.dns_servers FROM subnets s JOIN vpcs v ON v.vpc_id = s.vpc_id "
      "WHERE s.subnet_id = ?",
      {inst.subnet_id});
  if (!rows.ok()) return rows.status();
  auto ip = net::ParseIpv4(inst.private_ip);
  if (rows->empty() || !ip) {
    return Status(kind::kBug, inst.instance_id + " has no address in a subnet (subnet '" +
                                  inst.subnet_id + "', address '" + inst.private_ip + "')");
  }
  auto subnet = net::ParseCidr(rows->front().Str(0), true);
  if (!subnet) return Status(kind::kBug, "bad subnet CIDR " + rows->front().Str(0));
  auto dns = nlohmann::json::parse(rows->front().Str(2), nullptr, false);
  if (!dns.is_array()) return Status(kind::kBug, "bad DNS server list " + rows->front().Str(2));
  InstanceAddress out{.ip = *ip,
                      .gateway = net::GatewayOf(*subnet),
                      .vpc = static_cast<uint32_t>(rows->front().Int(1)),
                      .prefix = subnet->prefix};
  for (const auto& d : dns) {
    if (d.is_string()) out.dns.push_back(d.get<std::string>());
  }
  return out;
}

// The guest's NIC as QEMU and the seed's network-config need it.
NicAttachment Nic(const store::InstanceRecord& inst, const InstanceAddress& addr) {
  return NicAttachment{.tap = dn::TapName(inst.instance_id),
                       .mac = inst.mac,
                       .address_cidr = inst.private_ip + "/" + std::to_string(addr.prefix),
                       .gateway = net::FormatIpv4(addr.gateway),
                       .dns = addr.dns};
}

}  // namespace

NetworkPlane::NetworkPlane(store::Database& db, const Config& config)
    : db_(db), config_(config), ns_(config.network_namespace), firewall_(ns_) {}

Status NetworkPlane::Start() {
  auto uplink = net::ParseCidr(config_.uplink_cidr, true);
  if (!uplink) return Status(kind::kBug, "bad uplink_cidr");
  CVM_RETURN_IF_ERROR(dn::EnsureUplink(ns_, {.host_address = uplink->base + 1,
                                             .ns_address = uplink->base + 2,
                                             .public_pool = config_.public_ip_pool}));
  forwarder_ = std::make_unique<dn::PortForwarder>(ns_);
  auto taps = dn::ListTaps(ns_);
  if (!taps.ok()) return taps.status();
  std::lock_guard lock(mu_);
  for (const auto& tap : *taps) {
    auto rows = db_.Query(
        "SELECT instance_id FROM instances WHERE instance_id = ? AND deleted = 0 AND "
        "private_ip != ''",
        {"ins-" + tap.substr(4)});
    if (rows.ok() && !rows->empty()) {
      // Kept, and its route and rule made whole again if anything removed them meanwhile.
      auto inst = store::LoadInstance(db_, rows->front().Str(0));
      if (inst.ok() && inst->has_value()) {
        auto addr = LoadAddress(db_, **inst);
        Status st =
            addr.ok()
                ? dn::EnsureInstanceLink(
                      ns_, {.tap = tap, .ip = addr->ip, .gateway = addr->gateway, .vpc = addr->vpc})
                : addr.status();
        if (!st.ok()) spdlog::warn("network: keeping {} as it is: {}", tap, st.ToString());
      }
      plugged_.insert(rows->front().Str(0));
    } else {
      spdlog::warn("network: removing the tap {} of no live instance", tap);
      if (Status st = ns_.IpBatch({"tuntap del dev " + tap + " mode tap"}); !st.ok()) {
        spdlog::warn("network: removing {}: {}", tap, st.ToString());
      }
    }
  }
  return SyncLocked();
}

Status NetworkPlane::Sync() {
  std::lock_guard lock(mu_);
  return SyncLocked();
}

Status NetworkPlane::SyncLocked() {
  auto plan = LoadPlan();
  if (!plan.ok()) return plan.status();
  return firewall_.Apply(*plan);
}

Result<dn::NetworkPlan> NetworkPlane::LoadPlan() {
  dn::NetworkPlan plan;
  if (plugged_.empty()) return plan;
  auto ids = Values(plugged_);
  auto nics = db_.Query(
      "SELECT i.instance_id, i.mac, i.private_ip, i.public_ip, v.table_id FROM instances i "
      "JOIN vpcs v ON v.vpc_id = i.vpc_id WHERE i.deleted = 0 AND i.instance_id IN " +
          Placeholders(ids.size()),
      ids);
  if (!nics.ok()) return nics.status();
  auto bindings =
      db_.Query("SELECT instance_id, sg_id FROM instance_security_groups WHERE instance_id IN " +
                    Placeholders(ids.size()) + " ORDER BY instance_id, position",
                ids);
  if (!bindings.ok()) return bindings.status();
  std::map<std::string, std::vector<std::string>> groups_of;
  std::set<std::string> bound;
  for (const auto& b : *bindings) {
    groups_of[b.Str(0)].push_back(b.Str(1));
    bound.insert(b.Str(1));
  }
  for (const auto& r : *nics) {
    auto ip = net::ParseIpv4(r.Str(2));
    if (!ip) continue;
    dn::NicPlan nic{.instance_id = r.Str(0),
                    .tap = dn::TapName(r.Str(0)),
                    .mac = r.Str(1),
                    .ip = *ip,
                    .vpc = static_cast<uint32_t>(r.Int(4)),
                    .public_ip = net::ParseIpv4(r.Str(3)),
                    .security_groups = groups_of[r.Str(0)]};
    for (auto& c : nic.mac) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    plan.nics.push_back(std::move(nic));
  }
  if (bound.empty()) return plan;
  auto sgs = Values(bound);
  auto rules = db_.Query(
      "SELECT sg_id, direction, protocol, port, cidr, ipv6_cidr, peer_sg_id, action "
      "FROM sg_rules WHERE sg_id IN " +
          Placeholders(sgs.size()) + " ORDER BY sg_id, direction, position",
      sgs);
  if (!rules.ok()) return rules.status();
  for (const auto& id : bound) plan.groups[id];
  std::set<std::string> peers;
  for (const auto& r : *rules) {
    net::SecurityRule rule{.protocol = r.Str(2),
                           .port = r.Str(3),
                           .cidr = r.Str(4),
                           .ipv6_cidr = r.Str(5),
                           .peer_sg_id = r.Str(6),
                           .action = r.Str(7)};
    if (!rule.peer_sg_id.empty()) peers.insert(rule.peer_sg_id);
    auto& g = plan.groups[r.Str(0)];
    (r.Str(1) == "INGRESS" ? g.ingress : g.egress).push_back(std::move(rule));
  }
  if (peers.empty()) return plan;
  auto peer_ids = Values(peers);
  auto members = db_.Query(
      "SELECT b.sg_id, i.private_ip FROM instance_security_groups b JOIN instances i "
      "ON i.instance_id = b.instance_id WHERE i.deleted = 0 AND i.private_ip != '' AND "
      "b.sg_id IN " +
          Placeholders(peer_ids.size()),
      peer_ids);
  if (!members.ok()) return members.status();
  for (const auto& m : *members) {
    if (auto ip = net::ParseIpv4(m.Str(1))) plan.members[m.Str(0)].push_back(*ip);
  }
  return plan;
}

Status NetworkPlane::EnsureAddressed(store::InstanceRecord& inst) {
  if (!inst.subnet_id.empty()) return Status::Ok();
  return store::WithTransaction(db_, [&](store::Transaction& tx) -> Status {
    auto net = store::EnsureDefaultNetwork(tx, inst.owner_uin, inst.region, inst.zone, config_);
    if (!net.ok()) return net.status();
    auto cidr = net::ParseCidr(net->subnet.cidr, true);
    if (!cidr) return Status(kind::kBug, "bad subnet CIDR " + net->subnet.cidr);
    auto ip = store::AllocatePrivateIp(tx, net->subnet.subnet_id, *cidr);
    if (!ip.ok()) return ip.status();
    auto sg = store::EnsureDefaultSecurityGroup(tx, inst.owner_uin, inst.region);
    if (!sg.ok()) return sg.status();
    CVM_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO instance_security_groups(instance_id, sg_id, position) VALUES (?, ?, 0) "
        "ON CONFLICT DO NOTHING",
        {inst.instance_id, *sg}));
    inst.vpc_id = net->vpc.vpc_id;
    inst.subnet_id = net->subnet.subnet_id;
    inst.private_ip = *ip;
    spdlog::info("network: {} (from before networks) gets {} in {}", inst.instance_id, *ip,
                 inst.subnet_id);
    return tx.Exec(
        "UPDATE instances SET vpc_id = ?, subnet_id = ?, private_ip = ? "
        "WHERE instance_id = ?",
        {inst.vpc_id, inst.subnet_id, inst.private_ip, inst.instance_id});
  });
}

Result<NicAttachment> NetworkPlane::Address(const store::InstanceRecord& inst) {
  auto addr = LoadAddress(db_, inst);
  if (!addr.ok()) return addr.status();
  return Nic(inst, *addr);
}

Result<NicAttachment> NetworkPlane::Plug(const store::InstanceRecord& inst) {
  auto addr = LoadAddress(db_, inst);
  if (!addr.ok()) return addr.status();
  NicAttachment nic = Nic(inst, *addr);
  std::lock_guard lock(mu_);
  CVM_RETURN_IF_ERROR(dn::EnsureInstanceLink(
      ns_, {.tap = nic.tap, .ip = addr->ip, .gateway = addr->gateway, .vpc = addr->vpc}));
  plugged_.insert(inst.instance_id);
  CVM_RETURN_IF_ERROR(SyncLocked());
  return nic;
}

void NetworkPlane::Unplug(const store::InstanceRecord& inst) {
  if (forwarder_) forwarder_->Close(inst.instance_id);
  auto addr = LoadAddress(db_, inst);
  std::lock_guard lock(mu_);
  plugged_.erase(inst.instance_id);
  Status st = SyncLocked();
  if (st.ok()) {
    st = dn::RemoveInstanceLink(ns_, dn::TapName(inst.instance_id), addr.ok() ? addr->vpc : 0);
  }
  if (!st.ok()) spdlog::warn("network: unplugging {}: {}", inst.instance_id, st.ToString());
}

Result<int> NetworkPlane::OpenSshForward(const store::InstanceRecord& inst, int preferred) {
  auto addr = LoadAddress(db_, inst);
  if (!addr.ok()) return addr.status();
  if (!forwarder_) return Status(kind::kBug, "the network plane is not started");
  return forwarder_->Open(inst.instance_id, preferred, addr->ip, 22, addr->vpc);
}

}  // namespace cvm::engine
