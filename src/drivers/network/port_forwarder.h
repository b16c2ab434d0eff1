// The management path behind `cvm ssh` and DescribeInstanceLoginEndpoint... a loopback port
// per instance whose connections cvmd relays to the instance's private address inside the
// namespace (routed with the VPC's mark, so overlapping VPCs stay apart). It is how a user
// reaches an instance without a public address, as a cloud console's web shell does; security
// groups apply to traffic through the VPC and the public address, not to this path.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "drivers/network/net_namespace.h"

namespace cvm::drivers::network {

// Relayed connections are bounded: at most `max_relays` at once (more are refused), each closed
// after `idle_timeout` without a byte either way, all ended when the forwarder is destroyed.
struct RelayLimits {
  int max_relays = 64;
  std::chrono::milliseconds idle_timeout = std::chrono::hours(1);
};

class PortForwarder {
 public:
  explicit PortForwarder(const NetNamespace& ns, RelayLimits limits = {});
  // Ends every relay (and joins its thread) and closes every listener.
  ~PortForwarder();
  PortForwarder(const PortForwarder&) = delete;
  PortForwarder& operator=(const PortForwarder&) = delete;

  // Listens on 127.0.0.1:port (0 or a taken port: a free one) and relays to ip:target_port,
  // replacing an earlier forward under the same key. Returns the port listened on.
  Result<int> Open(const std::string& key, int port, uint32_t ip, uint16_t target_port,
                   uint32_t mark);
  // Stops listening; relayed connections already open carry on until either side closes.
  void Close(const std::string& key);

 private:
  struct Forward {
    int listen_fd = -1;
    int port = 0;
    uint32_t ip = 0;
    uint16_t target_port = 0;
    uint32_t mark = 0;
  };
  struct RelayThread {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void Loop();
  void Wake();
  // Closes listeners retired by Open and Close; called by the loop only, while it polls none.
  void CloseRetiredLocked();
  void ReapRelays(bool all);
  void Relay(int client_fd, Forward target);

  const NetNamespace& ns_;
  const RelayLimits limits_;
  std::mutex mu_;
  std::map<std::string, Forward> forwards_;
  std::vector<int> retired_;  // listeners no longer served; the loop may still be polling them
  int wake_[2] = {-1, -1};
  int stop_[2] = {-1, -1};  // readable once stopping: ends every relay's poll
  bool stopping_ = false;
  std::list<std::unique_ptr<RelayThread>> relays_;  // the loop's thread only
  std::atomic<int> active_relays_{0};
  std::thread thread_;
};

}  // namespace cvm::drivers::network
