// The network namespace cvmd owns: every instance's tap, route and firewall rule lives in it,
// so nothing cvmd does to the data path can touch the host's own networking. It is a named
// namespace (/run/netns/<name>), so it and the VMs in it outlive the daemon; cvmd re-attaches.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cvm::drivers::network {

class NetNamespace {
 public:
  explicit NetNamespace(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  std::string Path() const { return "/run/netns/" + name_; }

  // Creates the namespace if it does not exist (ip netns add) and brings lo up.
  Status Ensure() const;
  bool Exists() const;

  // Runs fn on a short-lived thread that has entered the namespace (setns affects only the
  // calling thread): sockets, netlink handles and /proc/sys/net opened there belong to it.
  Status RunInside(const std::function<Status()>& fn) const;

  // `ip -n <name> -batch -` with the given commands (one per line), or on the host when
  // host is true. An empty batch does nothing.
  Status IpBatch(const std::vector<std::string>& commands, bool host = false) const;
  // `ip -j -n <name> <args...>` parsed as JSON text (the caller parses).
  Result<std::string> IpJson(const std::vector<std::string>& args, bool host = false) const;

  // Writes a sysctl inside the namespace, e.g. ("net/ipv4/ip_forward", "1").
  Status WriteSysctl(const std::string& key, const std::string& value) const;

  // argv prefixed so that the program runs in the namespace (nsenter --net).
  std::vector<std::string> Wrap(std::vector<std::string> argv) const;

 private:
  std::string name_;
};

}  // namespace cvm::drivers::network
