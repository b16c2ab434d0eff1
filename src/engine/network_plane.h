// The engine's side of networking: turns what the store says (instances' addresses, VPCs,
// security groups, their rules and bindings) into the data path (drivers/network) and keeps
// the two equal. An instance is "plugged" from just before its VM boots until it is stopped:
// only plugged instances have a tap, a route and firewall chains, so a stopped instance costs
// the data path nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "config/config.h"
#include "drivers/network/firewall.h"
#include "drivers/network/links.h"
#include "drivers/network/net_namespace.h"
#include "drivers/network/port_forwarder.h"
#include "engine/host.h"
#include "store/database.h"
#include "store/instance_records.h"
#include "store/route_tables.h"

namespace cvm::engine {

// The kernel rules and routes of route tables: a subnet's rule and its table's throws for
// every table with routes (the VPC's CIDR: the LOCAL route; the uplink's: replies to the host
// through a public address keep their way out whatever the user routes), and a route for each
// next hop that is plugged (has a tap).
drivers::network::RoutingPlan RoutingPlanOf(const std::vector<store::SubnetRoute>& routes,
                                            const std::set<std::string>& plugged,
                                            const network::Cidr& uplink);

class NetworkPlane : public InstanceNetwork {
 public:
  NetworkPlane(store::Database& db, const Config& config);

  // Namespace, uplink, then every instance whose tap survived (a restart keeps them, and
  // their traffic flows meanwhile) and one atomic replacement of the firewall table.
  Status Start() override;

  // Brings links and firewall in line with the store (after any committed network change).
  Status Sync() override;

  // Gives an instance from before networks existed (no subnet) an address in its account's
  // default subnet and the default security group, as RunInstances would have; no-op otherwise.
  Status EnsureAddressed(store::InstanceRecord& inst) override;
  // The instance's address as its guest configures it (from its subnet).
  Result<NicAttachment> Address(const store::InstanceRecord& inst) override;
  // Before a VM boots: its tap, route and firewall chains exist before QEMU attaches, so the
  // guest's first packet already meets its security groups.
  Result<NicAttachment> Plug(const store::InstanceRecord& inst) override;
  // After the VM is gone: tap, route, chains and the management forward go.
  void Unplug(const store::InstanceRecord& inst) override;

  // The management SSH forward (loopback port -> the instance's port 22 in its VPC); returns
  // the port, `preferred` if it is free.
  Result<int> OpenSshForward(const store::InstanceRecord& inst, int preferred) override;

  std::vector<std::string> Launcher() const override { return ns_.Wrap({}); }
  const drivers::network::NetNamespace& ns() const { return ns_; }

 private:
  Result<drivers::network::NetworkPlan> LoadPlan();
  Result<drivers::network::RoutingPlan> LoadRoutingPlan();
  Status SyncLocked();

  store::Database& db_;
  const Config& config_;
  drivers::network::NetNamespace ns_;
  std::mutex mu_;  // one change at a time: plans are computed and applied in order
  drivers::network::Firewall firewall_;
  // The routing last applied: a sync whose plan is the same (a security group change) does not
  // read the kernel again. Cleared on failure; empty at start, so Start rebuilds from the kernel.
  std::optional<drivers::network::RoutingPlan> routed_;
  std::set<std::string> plugged_;  // instance ids
  std::unique_ptr<drivers::network::PortForwarder> forwarder_;
};

}  // namespace cvm::engine
