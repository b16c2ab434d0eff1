#include "engine/network_plane.h"

#include <spdlog/spdlog.h>

#include <map>
#include <tuple>

#include "common/error_codes.h"
#include "drivers/network/links.h"
#include "network/ipv4.h"
#include "store/datapath_records.h"
#include "store/network_records.h"
#include "store/route_tables.h"

namespace cvm::engine {

namespace dn = drivers::network;
namespace net = cvm::network;

namespace {

struct InstanceAddress {
  uint32_t ip = 0, gateway = 0, vpc = 0;
  int prefix = 32;
  std::vector<std::string> dns;
};

Result<InstanceAddress> LoadAddress(store::Database& db, const store::InstanceRecord& inst) {
  auto found = store::LoadSubnetAddressing(db, inst.subnet_id);
  if (!found.ok()) return found.status();
  auto ip = net::ParseIpv4(inst.private_ip);
  if (!found->has_value() || !ip) {
    return Status(kind::kBug, inst.instance_id + " has no address in a subnet (subnet '" +
                                  inst.subnet_id + "', address '" + inst.private_ip + "')");
  }
  const store::SubnetAddressing& in = **found;
  auto subnet = net::ParseCidr(in.cidr, true);
  if (!subnet) return Status(kind::kBug, "bad subnet CIDR " + in.cidr);
  return InstanceAddress{.ip = *ip,
                         .gateway = net::GatewayOf(*subnet),
                         .vpc = static_cast<uint32_t>(in.vpc_table_id),
                         .prefix = subnet->prefix,
                         .dns = in.dns_servers};
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

dn::RoutingPlan RoutingPlanOf(const std::vector<store::SubnetRoute>& routes,
                              const std::set<std::string>& plugged, const net::Cidr& uplink) {
  std::set<std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>> rules;  // base, prefix, mark, table
  std::map<std::pair<uint32_t, std::string>, dn::TableRoute> table_routes;
  for (const auto& r : routes) {
    auto subnet = net::ParseCidr(r.subnet_cidr, true);
    auto vpc = net::ParseCidr(r.vpc_cidr, true);
    auto dest = net::ParseCidr(r.destination, true);
    auto hop = net::ParseIpv4(r.next_hop_ip);
    if (!subnet || !vpc || !dest || !hop) continue;  // validated on the way in
    const auto table = static_cast<uint32_t>(r.kernel_table);
    rules.insert({subnet->base, static_cast<uint32_t>(subnet->prefix),
                  static_cast<uint32_t>(r.vpc_mark), table});
    table_routes[{table, vpc->ToString()}] = {.table = table, .destination = *vpc};
    table_routes[{table, uplink.ToString()}] = {.table = table, .destination = uplink};
    if (!r.next_hop_instance.empty() && plugged.count(r.next_hop_instance)) {
      table_routes[{table, dest->ToString()}] = {.table = table,
                                                 .destination = *dest,
                                                 .next_hop = *hop,
                                                 .tap = dn::TapName(r.next_hop_instance)};
    }
  }
  dn::RoutingPlan plan;
  for (const auto& [base, prefix, mark, table] : rules) {
    plan.rules.push_back({.source = {.base = base, .prefix = static_cast<int>(prefix)},
                          .mark = mark,
                          .table = table});
  }
  for (auto& [k, route] : table_routes) plan.routes.push_back(std::move(route));
  return plan;
}

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
    auto inst = store::LoadInstance(db_, "ins-" + tap.substr(4));
    if (inst.ok() && inst->has_value() && !(*inst)->private_ip.empty()) {
      // Kept, and its route and rule made whole again if anything removed them meanwhile.
      auto addr = LoadAddress(db_, **inst);
      Status st =
          addr.ok()
              ? dn::EnsureInstanceLink(
                    ns_, {.tap = tap, .ip = addr->ip, .gateway = addr->gateway, .vpc = addr->vpc})
              : addr.status();
      if (!st.ok()) spdlog::warn("network: keeping {} as it is: {}", tap, st.ToString());
      plugged_.insert((*inst)->instance_id);
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
  CVM_RETURN_IF_ERROR(firewall_.Apply(*plan));
  auto routing = LoadRoutingPlan();
  if (!routing.ok()) return routing.status();
  if (routed_ == *routing) return Status::Ok();
  routed_.reset();
  CVM_RETURN_IF_ERROR(dn::ApplyRouting(ns_, *routing));
  routed_ = std::move(*routing);
  return Status::Ok();
}

Result<dn::RoutingPlan> NetworkPlane::LoadRoutingPlan() {
  auto rows = store::LoadSubnetRoutes(db_);
  if (!rows.ok()) return rows.status();
  auto uplink = net::ParseCidr(config_.uplink_cidr, true);
  if (!uplink) return Status(kind::kBug, "bad uplink_cidr");
  return RoutingPlanOf(*rows, plugged_, *uplink);
}

Result<dn::NetworkPlan> NetworkPlane::LoadPlan() {
  dn::NetworkPlan plan;
  if (plugged_.empty()) return plan;
  auto nics = store::LoadNics(db_, plugged_);
  if (!nics.ok()) return nics.status();
  auto bindings = store::LoadSecurityGroupBindings(db_, plugged_);
  if (!bindings.ok()) return bindings.status();
  std::map<std::string, std::vector<std::string>> groups_of;
  std::set<std::string> bound;
  for (const auto& b : *bindings) {
    groups_of[b.instance_id].push_back(b.sg_id);
    bound.insert(b.sg_id);
  }
  for (const auto& r : *nics) {
    auto ip = net::ParseIpv4(r.private_ip);
    if (!ip) continue;
    dn::NicPlan nic{.instance_id = r.instance_id,
                    .tap = dn::TapName(r.instance_id),
                    .mac = r.mac,
                    .ip = *ip,
                    .vpc = static_cast<uint32_t>(r.vpc_table_id),
                    .public_ip = net::ParseIpv4(r.public_ip),
                    .security_groups = groups_of[r.instance_id]};
    for (auto& c : nic.mac) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    plan.nics.push_back(std::move(nic));
  }
  if (bound.empty()) return plan;
  auto rules = store::LoadGroupRules(db_, bound);
  if (!rules.ok()) return rules.status();
  for (const auto& id : bound) plan.groups[id];
  std::set<std::string> peers;
  for (auto& r : *rules) {
    if (!r.rule.peer_sg_id.empty()) peers.insert(r.rule.peer_sg_id);
    auto& g = plan.groups[r.sg_id];
    (r.direction == "INGRESS" ? g.ingress : g.egress).push_back(std::move(r.rule));
  }
  if (peers.empty()) return plan;
  auto members = store::LoadGroupMemberAddresses(db_, peers);
  if (!members.ok()) return members.status();
  for (const auto& m : *members) {
    if (auto ip = net::ParseIpv4(m.private_ip)) plan.members[m.sg_id].push_back(*ip);
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
    CVM_RETURN_IF_ERROR(store::BindSecurityGroup(tx, inst.instance_id, *sg, 0));
    inst.vpc_id = net->vpc.vpc_id;
    inst.subnet_id = net->subnet.subnet_id;
    inst.private_ip = *ip;
    spdlog::info("network: {} (from before networks) gets {} in {}", inst.instance_id, *ip,
                 inst.subnet_id);
    return store::SetInstanceAddress(tx, inst.instance_id, inst.vpc_id, inst.subnet_id,
                                     inst.private_ip);
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
