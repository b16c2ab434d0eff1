// The data path on real kernels: cvmd's namespace with its uplink, routes and nftables table,
// and "instances" that are network namespaces of their own plugged in where a VM's tap would
// be (a veth named like the tap). Every check is a real TCP connection, so these tests prove
// what packets do, not what the ruleset text says. Needs root (namespaces), as cvmd does.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "drivers/network/firewall.h"
#include "drivers/network/links.h"
#include "drivers/network/net_namespace.h"
#include "network/ipv4.h"

namespace cvm::drivers::network {
namespace {

namespace net = cvm::network;

net::SecurityRule Rule(std::string protocol, std::string port, std::string source,
                       std::string action) {
  net::SecurityRule r;
  r.protocol = std::move(protocol);
  r.port = std::move(port);
  if (source.rfind("sg-", 0) == 0) {
    r.peer_sg_id = source;
  } else {
    r.cidr = source;
  }
  r.action = std::move(action);
  auto n = net::NormalizeRule(r);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : r;
}

uint32_t Ip(const std::string& s) { return *net::ParseIpv4(s); }

// A fake instance: its own namespace, plugged into the data path by a veth named tap-<id>.
struct Host {
  std::string id;  // "ins-xxxxxxxx"
  std::string addr;
  uint32_t vpc;
  std::string mac;
  std::shared_ptr<NetNamespace> ns;
};

class DataPathTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    std::string tag = std::to_string(getpid() % 100000);
    cvm_ns_ = new NetNamespace("cvmut" + tag);
    // ctest runs test cases as parallel processes: each its own uplink and public pool.
    const int n = getpid() % 64;
    pool_ = fmt::format("198.19.{}.", n);
    ASSERT_TRUE(EnsureUplink(*cvm_ns_, {.host_address = Ip(fmt::format("169.254.{}.1", 184 + n)),
                                        .ns_address = Ip(fmt::format("169.254.{}.2", 184 + n)),
                                        .public_pool = pool_ + "0/24"})
                    .ok());
    // VPC 1001: a, b, c in 10.9.0.0/24; VPC 1002: d with b's address (overlapping CIDRs).
    hosts_ = new std::vector<Host>{
        {"ins-aaaaaaaa", "10.9.0.2", 1001, "52:54:00:00:00:0a", nullptr},
        {"ins-bbbbbbbb", "10.9.0.3", 1001, "52:54:00:00:00:0b", nullptr},
        {"ins-cccccccc", "10.9.0.4", 1001, "52:54:00:00:00:0c", nullptr},
        {"ins-dddddddd", "10.9.0.3", 1002, "52:54:00:00:00:0d", nullptr},
    };
    for (auto& h : *hosts_) {
      h.ns = std::make_shared<NetNamespace>("cvmut" + tag + h.id.substr(4, 2));
      ASSERT_TRUE(h.ns->Ensure().ok());
      std::string tap = TapName(h.id);
      ASSERT_TRUE(
          cvm_ns_->IpBatch({"link add " + tap + " type veth peer name eth0 netns " + h.ns->name()})
              .ok());
      ASSERT_TRUE(
          EnsureInstanceLink(
              *cvm_ns_,
              {.tap = tap, .ip = Ip(h.addr.c_str()), .gateway = Ip("10.9.0.1"), .vpc = h.vpc})
              .ok());
      ASSERT_TRUE(h.ns->IpBatch({"link set dev eth0 address " + h.mac,
                                 "addr add " + h.addr + "/24 dev eth0", "link set dev eth0 up",
                                 "route add default via 10.9.0.1"})
                      .ok());
    }
  }
  // Also after a setup that failed half-way: every namespace made so far goes.
  static void TearDownTestSuite() {
    if (!cvm_ns_) return;
    if (hosts_) {
      for (auto& h : *hosts_) {
        if (h.ns) (void)cvm_ns_->IpBatch({"netns del " + h.ns->name()}, true);
      }
    }
    (void)cvm_ns_->IpBatch({"netns del " + cvm_ns_->name()}, true);
    delete hosts_;
    delete cvm_ns_;
    hosts_ = nullptr;
    cvm_ns_ = nullptr;
  }

  static Host& H(char which) { return (*hosts_)[which - 'a']; }

  static NicPlan Nic(char which, std::vector<std::string> groups) {
    auto& h = H(which);
    return {.instance_id = h.id,
            .tap = TapName(h.id),
            .mac = h.mac,
            .ip = Ip(h.addr.c_str()),
            .vpc = h.vpc,
            .public_ip = std::nullopt,
            .security_groups = std::move(groups)};
  }

  // A TCP listener on `port` inside `ns` that accepts and keeps connections open.
  class Listener {
   public:
    Listener(const NetNamespace& ns, int port) {
      (void)ns.RunInside([&]() -> Status {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        listen(fd_, 64);
        return Status::Ok();
      });
      thread_ = std::thread([this] {
        while (true) {
          int c = accept(fd_, nullptr, nullptr);
          if (c < 0) return;
          accepted_.push_back(c);
        }
      });
    }
    ~Listener() {
      shutdown(fd_, SHUT_RDWR);
      close(fd_);
      thread_.join();
      for (int c : accepted_) close(c);
    }

   private:
    int fd_ = -1;
    std::thread thread_;
    std::vector<int> accepted_;
  };

  // Connects from `from` (a namespace; nullptr: the host) to addr:port; returns the socket or
  // -1 when nothing answered in 2.5 s (a dropped SYN; a lost first SYN is resent after 1 s).
  static int Connect(const NetNamespace* from, const std::string& addr, int port,
                     const std::string& bind_addr = "") {
    int fd = -1;
    auto body = [&]() -> Status {
      fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (!bind_addr.empty()) {
        int one = 1;
        setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof one);
        sockaddr_in b{};
        b.sin_family = AF_INET;
        b.sin_addr.s_addr = htonl(Ip(bind_addr.c_str()));
        bind(fd, reinterpret_cast<sockaddr*>(&b), sizeof b);
      }
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      a.sin_addr.s_addr = htonl(Ip(addr.c_str()));
      connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
      return Status::Ok();
    };
    if (from) {
      (void)from->RunInside(body);
    } else {
      (void)body();
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (poll(&p, 1, 2500) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
        err == 0) {
      return fd;
    }
    close(fd);
    return -1;
  }
  static bool CanConnect(char from, const std::string& addr, int port) {
    int fd = Connect(H(from).ns.get(), addr, port);
    if (fd >= 0) close(fd);
    return fd >= 0;
  }

  // Sends one UDP datagram from `from` (source `source`, or its own address) to `to` (at
  // `to_addr`, or its own address); true if it arrived within a second.
  static bool UdpArrives(char from, const std::string& source, char to, int port,
                         const std::string& to_addr = "") {
    int rx = -1, tx = -1;
    (void)H(to).ns->RunInside([&]() -> Status {
      rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      bind(rx, reinterpret_cast<sockaddr*>(&a), sizeof a);
      return Status::Ok();
    });
    (void)H(from).ns->RunInside([&]() -> Status {
      tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (!source.empty()) {
        sockaddr_in b{};
        b.sin_family = AF_INET;
        b.sin_addr.s_addr = htonl(Ip(source.c_str()));
        bind(tx, reinterpret_cast<sockaddr*>(&b), sizeof b);
      }
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      a.sin_addr.s_addr = htonl(Ip(to_addr.empty() ? H(to).addr : to_addr));
      sendto(tx, "ping", 4, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
      return Status::Ok();
    });
    pollfd p{rx, POLLIN, 0};
    bool arrived = poll(&p, 1, 1000) == 1;
    close(rx);
    close(tx);
    return arrived;
  }

  static NetNamespace* cvm_ns_;
  static std::vector<Host>* hosts_;
  static std::string pool_;  // "198.19.N."
};

NetNamespace* DataPathTest::cvm_ns_ = nullptr;
std::vector<Host>* DataPathTest::hosts_ = nullptr;
std::string DataPathTest::pool_;

TEST_F(DataPathTest, SecurityGroupsDecideEveryConnectionInTencentsOrder) {
  Firewall fw(*cvm_ns_);
  Listener lb(*H('b').ns, 8080), lb2(*H('b').ns, 8081), lb3(*H('b').ns, 9000);
  Listener la(*H('a').ns, 8080);
  NetworkPlan plan;
  plan.nics = {Nic('a', {"sg-aaaaaaaa"}), Nic('b', {"sg-bbbbbbbb"}), Nic('c', {"sg-cccccccc"})};
  plan.members = {{"sg-aaaaaaaa", {Ip("10.9.0.2")}}, {"sg-cccccccc", {Ip("10.9.0.4")}}};
  auto all_out = Rule("ALL", "ALL", "0.0.0.0/0", "ACCEPT");
  plan.groups["sg-aaaaaaaa"] = {.ingress = {}, .egress = {all_out}};
  plan.groups["sg-cccccccc"] = {.ingress = {}, .egress = {all_out}};
  // b admits TCP 8080 from anyone, 9000-9010 from a's group; its egress is empty (deny).
  plan.groups["sg-bbbbbbbb"] = {.ingress = {Rule("TCP", "8080", "0.0.0.0/0", "ACCEPT"),
                                            Rule("TCP", "9000-9010", "sg-aaaaaaaa", "ACCEPT")},
                                .egress = {}};
  ASSERT_TRUE(fw.Apply(plan).ok());
  EXPECT_TRUE(CanConnect('a', "10.9.0.3", 8080));   // allowed port; the reply passes (stateful)
  EXPECT_FALSE(CanConnect('a', "10.9.0.3", 8081));  // no rule: denied
  EXPECT_TRUE(CanConnect('a', "10.9.0.3", 9000));   // a is in the source group
  EXPECT_FALSE(CanConnect('c', "10.9.0.3", 9000));  // c is not
  EXPECT_FALSE(CanConnect('b', "10.9.0.2", 8080));  // b's egress is empty

  // First match wins: a DROP for a's address above the ACCEPT shuts a out, not c.
  int open = Connect(H('a').ns.get(), "10.9.0.3", 8080);  // established before the change
  ASSERT_GE(open, 0);
  plan.groups["sg-bbbbbbbb"].ingress.insert(plan.groups["sg-bbbbbbbb"].ingress.begin(),
                                            Rule("TCP", "8080", "10.9.0.2/32", "DROP"));
  ASSERT_TRUE(fw.Apply(plan).ok());
  EXPECT_FALSE(CanConnect('a', "10.9.0.3", 8080));
  EXPECT_TRUE(CanConnect('c', "10.9.0.3", 8080));
  // The change reached a running "instance" without touching its link, and the connection
  // opened before it still carries data (conntrack: replies to allowed traffic pass).
  EXPECT_EQ(write(open, "x", 1), 1);
  close(open);

  // The same ACCEPT moved above the DROP: allowed again.
  std::swap(plan.groups["sg-bbbbbbbb"].ingress[0], plan.groups["sg-bbbbbbbb"].ingress[1]);
  ASSERT_TRUE(fw.Apply(plan).ok());
  EXPECT_TRUE(CanConnect('a', "10.9.0.3", 8080));

  // Egress: a may no longer reach b's 8080.
  plan.groups["sg-aaaaaaaa"].egress.insert(plan.groups["sg-aaaaaaaa"].egress.begin(),
                                           Rule("TCP", "8080", "10.9.0.3/32", "DROP"));
  ASSERT_TRUE(fw.Apply(plan).ok());
  EXPECT_FALSE(CanConnect('a', "10.9.0.3", 8080));
  EXPECT_TRUE(CanConnect('a', "10.9.0.3", 9000));
}

TEST_F(DataPathTest, SeveralGroupsApplyInBindingOrder) {
  Firewall fw(*cvm_ns_);
  Listener lb(*H('b').ns, 8080);
  NetworkPlan plan;
  auto all_out = Rule("ALL", "ALL", "0.0.0.0/0", "ACCEPT");
  plan.groups["sg-aaaaaaaa"] = {.ingress = {}, .egress = {all_out}};
  plan.groups["sg-dropdrop"] = {.ingress = {Rule("TCP", "8080", "0.0.0.0/0", "DROP")},
                                .egress = {all_out}};
  plan.groups["sg-acceptok"] = {.ingress = {Rule("TCP", "ALL", "10.9.0.0/24", "ACCEPT")},
                                .egress = {all_out}};
  plan.nics = {Nic('a', {"sg-aaaaaaaa"}), Nic('b', {"sg-dropdrop", "sg-acceptok"})};
  ASSERT_TRUE(fw.Apply(plan).ok());
  EXPECT_FALSE(CanConnect('a', "10.9.0.3", 8080));
  plan.nics[1].security_groups = {"sg-acceptok", "sg-dropdrop"};
  ASSERT_TRUE(fw.Apply(plan).ok());
  EXPECT_TRUE(CanConnect('a', "10.9.0.3", 8080));
}

TEST_F(DataPathTest, SpoofingIsolationAndPublicAddresses) {
  Firewall fw(*cvm_ns_);
  Listener lb(*H('b').ns, 8080), ld(*H('d').ns, 8080);
  NetworkPlan plan;
  auto everything = Rule("ALL", "ALL", "0.0.0.0/0", "ACCEPT");
  plan.groups["sg-openopen"] = {.ingress = {everything}, .egress = {everything}};
  plan.nics = {Nic('a', {"sg-openopen"}), Nic('b', {"sg-openopen"}), Nic('d', {"sg-openopen"})};
  plan.nics[2].public_ip = Ip(pool_ + "7");  // d, in the other VPC
  ASSERT_TRUE(fw.Apply(plan).ok());
  EXPECT_TRUE(CanConnect('a', "10.9.0.3", 8080));
  // A forged source address from a's tap is dropped, even with everything allowed: UDP, so
  // that only the arrival counts (a TCP reply to a forged address could fail on its own).
  EXPECT_TRUE(UdpArrives('a', "", 'b', 7000));
  (void)H('a').ns->IpBatch({"addr add 10.9.0.99/32 dev eth0"});
  EXPECT_FALSE(UdpArrives('a', "10.9.0.99", 'b', 7000));
  (void)H('a').ns->IpBatch({"addr del 10.9.0.99/32 dev eth0"});
  // d has b's address in another VPC: d reaches neither a nor b; a's 10.9.0.3 is always b.
  EXPECT_FALSE(CanConnect('d', "10.9.0.2", 8080));
  // The host reaches d through its public address (1:1 NAT), and only d.
  int pub = Connect(nullptr, pool_ + "7", 8080);
  EXPECT_GE(pub, 0);
  if (pub >= 0) close(pub);
  plan.groups["sg-openopen"].ingress = {Rule("TCP", "8080", "10.9.0.0/16", "ACCEPT")};
  ASSERT_TRUE(fw.Apply(plan).ok());
  EXPECT_LT(Connect(nullptr, pool_ + "7", 8080), 0);  // the host is not 10.9/16 any more
}

TEST_F(DataPathTest, ARuleNftRefusesChangesNothing) {
  Firewall fw(*cvm_ns_);
  Listener lb(*H('b').ns, 8080);
  NetworkPlan plan;
  auto everything = Rule("ALL", "ALL", "0.0.0.0/0", "ACCEPT");
  plan.groups["sg-openopen"] = {.ingress = {everything}, .egress = {everything}};
  plan.nics = {Nic('a', {"sg-openopen"}), Nic('b', {"sg-openopen"})};
  ASSERT_TRUE(fw.Apply(plan).ok());
  ASSERT_TRUE(CanConnect('a', "10.9.0.3", 8080));
  auto broken = plan;
  net::SecurityRule bad = everything;
  bad.cidr = "10.9.0.0/99";  // never passes NormalizeRule; here it reaches nft
  broken.groups["sg-openopen"].ingress = {Rule("TCP", "9", "0.0.0.0/0", "DROP"), bad};
  EXPECT_FALSE(fw.Apply(broken).ok());
  EXPECT_TRUE(CanConnect('a', "10.9.0.3", 8080));  // the old rules still hold
  ASSERT_TRUE(fw.Apply(plan).ok());                // and a good plan applies after
  EXPECT_TRUE(CanConnect('a', "10.9.0.3", 8080));
}

// A route table's route sends its subnet's packets for a destination outside the VPC to the
// next-hop instance's tap: b holds 192.168.77.1 itself, so a datagram to it arrives only if the
// namespace routed it to b. The rule matches VPC 1001's mark only: d, same subnet CIDR in VPC
// 1002, is not routed by it.
TEST_F(DataPathTest, ARouteTableSendsASubnetsPacketsToItsNextHop) {
  Firewall fw(*cvm_ns_);
  NetworkPlan plan;
  auto everything = Rule("ALL", "ALL", "0.0.0.0/0", "ACCEPT");
  plan.groups["sg-openopen"] = {.ingress = {everything}, .egress = {everything}};
  plan.nics = {Nic('a', {"sg-openopen"}), Nic('b', {"sg-openopen"}), Nic('d', {"sg-openopen"})};
  ASSERT_TRUE(fw.Apply(plan).ok());
  ASSERT_TRUE(H('b').ns->IpBatch({"addr add 192.168.77.1/32 dev lo"}).ok());
  EXPECT_FALSE(UdpArrives('a', "", 'b', 7001, "192.168.77.1"));  // no route: nowhere to go

  RoutingPlan routing;
  routing.rules.push_back({.source = *net::ParseCidr("10.9.0.0/24", true),
                           .mark = 1001,
                           .table = kFirstRouteTable + 1});
  routing.routes.push_back(
      {.table = kFirstRouteTable + 1, .destination = *net::ParseCidr("10.9.0.0/16", true)});
  routing.routes.push_back({.table = kFirstRouteTable + 1,
                            .destination = *net::ParseCidr("192.168.77.0/24", true),
                            .next_hop = Ip("10.9.0.3"),
                            .tap = TapName(H('b').id)});
  ASSERT_TRUE(ApplyRouting(*cvm_ns_, routing).ok());
  ASSERT_TRUE(ApplyRouting(*cvm_ns_, routing).ok());  // idempotent
  EXPECT_TRUE(UdpArrives('a', "", 'b', 7001, "192.168.77.1"));
  EXPECT_FALSE(UdpArrives('d', "", 'b', 7001, "192.168.77.1"));
  // The LOCAL throw keeps the VPC's own traffic on the VPC's table.
  EXPECT_TRUE(UdpArrives('a', "", 'b', 7002));

  ASSERT_TRUE(ApplyRouting(*cvm_ns_, {}).ok());
  EXPECT_FALSE(UdpArrives('a', "", 'b', 7001, "192.168.77.1"));
  EXPECT_TRUE(UdpArrives('a', "", 'b', 7002));
  (void)H('b').ns->IpBatch({"addr del 192.168.77.1/32 dev lo"});
}

}  // namespace
}  // namespace cvm::drivers::network
