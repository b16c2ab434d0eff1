// The management path behind `cvm ssh` and DescribeInstanceLoginEndpoint... a loopback port
// per instance whose connections cvmd relays to the instance's private address inside the
// namespace (routed with the VPC's mark, so overlapping VPCs stay apart). It is how a user
// reaches an instance without a public address, as a cloud console's web shell does; security
// groups apply to traffic through the VPC and the public address, not to this path.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "drivers/network/net_namespace.h"

namespace cvm::drivers::network {

class PortForwarder {
 public:
  explicit PortForwarder(const NetNamespace& ns);
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
  void Loop();
  void Wake();
  void Relay(int client_fd, Forward target);

  const NetNamespace& ns_;
  std::mutex mu_;
  std::map<std::string, Forward> forwards_;
  int wake_[2] = {-1, -1};
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cvm::drivers::network
