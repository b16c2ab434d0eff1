// Security group benchmarks on the real data path (issue 6):
//   1. policy change -> enforcement with 100 instances x 100 rules: NetworkPlane::Sync, the
//      call a rule-changing API request makes after its commit (load the plan from SQLite,
//      render, diff, one nftables transaction), timed over repeated single-rule changes and
//      compared with the naive way (replacing the whole table each time) in the same run;
//      every change is then checked with a real connection that it is in force;
//   2. packet path cost: TCP connections per second between two namespace hosts through the
//      chains when the destination's group holds 1 rule, 1,000 rules (one action), and 1,000
//      rules alternating ACCEPT/DROP (the worst case of the run-merging), against no firewall.
// Needs root. Prints the figures; docs/benchmarks.md keeps them.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "config/config.h"
#include "drivers/network/firewall.h"
#include "drivers/network/links.h"
#include "engine/network_plane.h"
#include "network/ipv4.h"
#include "store/sqlite/sqlite_database.h"

using namespace cvm;
namespace dn = cvm::drivers::network;
namespace net = cvm::network;
using Clock = std::chrono::steady_clock;

namespace {

Status Exec(store::Database& d, const std::string& sql, const std::vector<store::Value>& p = {}) {
  return store::WithTransaction(d, [&](store::Transaction& tx) { return tx.Exec(sql, p); });
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void Check(const Status& st, const char* what) {
  if (!st.ok()) {
    fmt::print(stderr, "{}: {}\n", what, st.ToString());
    std::exit(1);
  }
}

// One TCP connect+close from `from` to addr:port; true when it was accepted.
bool ConnectOnce(const dn::NetNamespace& from, uint32_t addr, int port, int timeout_ms) {
  int fd = -1;
  (void)from.RunInside([&]() -> Status {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    return Status::Ok();
  });
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(addr);
  connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLOUT, 0};
  int err = 1;
  socklen_t len = sizeof err;
  bool ok = poll(&p, 1, timeout_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
            err == 0;
  linger l{1, 0};  // RST on close: no TIME_WAIT pile-up over thousands of connections
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
  return ok;
}

// Connections per second from `from` over `seconds`, made on one socket-creating thread
// inside the namespace (RunInside per connection would measure thread creation).
double ConnectRate(const dn::NetNamespace& from, uint32_t addr, int port, double seconds) {
  double rate = 0;
  (void)from.RunInside([&]() -> Status {
    auto end = Clock::now() + std::chrono::duration<double>(seconds);
    auto start = Clock::now();
    int n = 0;
    while (Clock::now() < end) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      timeval tv{.tv_sec = 1, .tv_usec = 0};  // a dropped SYN ends the attempt, not the run
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      a.sin_addr.s_addr = htonl(addr);
      if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) ++n;
      linger l{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      close(fd);
    }
    rate = n / std::chrono::duration<double>(Clock::now() - start).count();
    return Status::Ok();
  });
  return rate;
}

int Listen(const dn::NetNamespace& ns, int port) {
  int fd = -1;
  (void)ns.RunInside([&]() -> Status {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd, 4096);
    return Status::Ok();
  });
  std::thread([fd] {
    while (true) {
      int c = accept(fd, nullptr, nullptr);
      if (c < 0) return;
      close(c);
    }
  }).detach();
  return fd;
}

struct Stats {
  double p50, max;
};
Stats Summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.back()};
}

}  // namespace

int main() {
  if (geteuid() != 0) {
    fmt::print(stderr, "network_bench needs root (network namespaces)\n");
    return 2;
  }
  const std::string tag = std::to_string(getpid() % 100000);
  Config config = DefaultConfig();
  config.network_namespace = "cvmb" + tag;
  config.uplink_cidr = "169.254.202.0/30";
  config.public_ip_pool = "198.18.202.0/24";
  auto dir = std::filesystem::temp_directory_path() / ("cvm-netbench-" + tag);
  std::filesystem::create_directories(dir);
  auto db = store::OpenSqliteDatabase(dir / "bench.db");
  if (!db.ok()) Check(db.status(), "database");
  store::Database& d = **db;

  // 100 instances in one VPC, each bound to its own group of 100 rules; instance 0 ("a") and
  // instance 1 ("b") are namespace hosts that send and receive real traffic.
  constexpr int kInstances = 100, kRules = 100;
  Check(Exec(d,
             "INSERT INTO vpcs(vpc_id, owner_uin, region, name, cidr, table_id, created_at) "
             "VALUES ('vpc-bench000', '1', 'r', 'bench', '10.20.0.0/16', 1000, 0)"),
        "vpc");
  Check(Exec(d,
             "INSERT INTO subnets(subnet_id, owner_uin, vpc_id, zone, name, cidr, created_at) "
             "VALUES ('subnet-bench000', '1', 'vpc-bench000', 'z', 'bench', '10.20.0.0/16', 0)"),
        "subnet");
  std::vector<store::InstanceRecord> instances;
  for (int i = 0; i < kInstances; ++i) {
    store::InstanceRecord r;
    r.instance_id = fmt::format("ins-b{:07d}", i);
    r.uuid = r.owner_uin = "1";
    r.name = r.host_name = r.instance_type = r.zone = r.region = r.image_id = "x";
    r.state = "RUNNING";
    r.mac = fmt::format("52:54:00:00:{:02x}:{:02x}", i / 256, i % 256);
    r.private_ip = net::FormatIpv4(net::ParseIpv4("10.20.1.0").value() + 2 + i);
    r.vpc_id = "vpc-bench000";
    r.subnet_id = "subnet-bench000";
    Check(store::WithTransaction(
              d,
              [&](store::Transaction& tx) -> Status {
                CVM_RETURN_IF_ERROR(store::InsertInstance(tx, r));
                std::string sg = fmt::format("sg-b{:07d}", i);
                CVM_RETURN_IF_ERROR(
                    tx.Exec("INSERT INTO security_groups(sg_id, owner_uin, name, "
                            "created_at, updated_at) VALUES (?, '1', 'b', 0, 0)",
                            {sg}));
                CVM_RETURN_IF_ERROR(tx.Exec("INSERT INTO instance_security_groups VALUES (?, ?, 0)",
                                            {r.instance_id, sg}));
                for (int k = 0; k < kRules; ++k) {
                  // 99 ports nobody uses, then what the probe needs.
                  bool last = k == kRules - 1;
                  CVM_RETURN_IF_ERROR(
                      tx.Exec("INSERT INTO sg_rules(sg_id, direction, position, "
                              "protocol, port, cidr, action, modified_at) VALUES "
                              "(?, ?, ?, 'TCP', ?, ?, 'ACCEPT', 0)",
                              {sg, std::string("INGRESS"), int64_t{k},
                               last ? std::string("ALL") : std::to_string(20000 + k),
                               std::string(last ? "10.20.0.0/16" : "192.0.2.0/24")}));
                }
                return tx.Exec(
                    "INSERT INTO sg_rules(sg_id, direction, position, "
                    "protocol, port, cidr, action, modified_at) VALUES "
                    "(?, 'EGRESS', 0, 'ALL', 'ALL', '0.0.0.0/0', 'ACCEPT', 0)",
                    {sg});
              }),
          "instance");
    instances.push_back(r);
  }

  engine::NetworkPlane plane(d, config);
  Check(plane.Start(), "network plane");
  dn::NetNamespace host_a(config.network_namespace + "a"), host_b(config.network_namespace + "b");
  const dn::NetNamespace* hosts[2] = {&host_a, &host_b};
  for (int i = 0; i < kInstances; ++i) {
    std::string tap = dn::TapName(instances[i].instance_id);
    if (i < 2) {  // a real host behind the "tap"
      Check(hosts[i]->Ensure(), "host namespace");
      Check(plane.ns().IpBatch(
                {"link add " + tap + " type veth peer name eth0 netns " + hosts[i]->name()}),
            "veth");
      Check(hosts[i]->IpBatch({"link set dev eth0 address " + instances[i].mac,
                               "addr add " + instances[i].private_ip + "/16 dev eth0",
                               "link set dev eth0 up", "route add default via 10.20.0.1"}),
            "host address");
    }
    auto nic = plane.Plug(instances[i]);
    if (!nic.ok()) Check(nic.status(), "plug");
  }
  const uint32_t b_addr = net::ParseIpv4(instances[1].private_ip).value();
  int listener = Listen(host_b, 8080);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  if (!ConnectOnce(host_a, b_addr, 8080, 3000)) {
    fmt::print(stderr, "a cannot reach b through the data path\n");
    return 1;
  }

  // 1. Policy change -> enforcement: flip b's matching rule between DROP and ACCEPT.
  std::vector<double> sync_ms, full_ms;
  int enforced = 0;
  constexpr int kChanges = 40;
  for (int i = 0; i < kChanges; ++i) {
    std::string action = i % 2 == 0 ? "DROP" : "ACCEPT";
    Check(Exec(d, "UPDATE sg_rules SET action = ? WHERE sg_id = 'sg-b0000001' AND position = ?",
               {action, int64_t{kRules - 1}}),
          "rule change");
    auto t0 = Clock::now();
    Check(plane.Sync(), "sync");
    sync_ms.push_back(Ms(Clock::now() - t0));
    bool open = ConnectOnce(host_a, b_addr, 8080, action == "DROP" ? 300 : 3000);
    if (open == (action == "ACCEPT")) ++enforced;
  }
  // The naive baseline: the same plan (so the table ends as the plane left it), the whole table
  // replaced each time.
  dn::Firewall naive(plane.ns());
  {
    dn::NetworkPlan plan;
    for (int i = 0; i < kInstances; ++i) {
      dn::NicPlan n{.instance_id = instances[i].instance_id,
                    .tap = dn::TapName(instances[i].instance_id),
                    .mac = instances[i].mac,
                    .ip = net::ParseIpv4(instances[i].private_ip).value(),
                    .vpc = 1000,
                    .public_ip = std::nullopt,
                    .security_groups = {fmt::format("sg-b{:07d}", i)}};
      plan.nics.push_back(n);
      auto& g = plan.groups[n.security_groups[0]];
      for (int k = 0; k < kRules; ++k) {
        net::SecurityRule r{.protocol = "TCP",
                            .port = k == kRules - 1 ? "ALL" : std::to_string(20000 + k),
                            .cidr = k == kRules - 1 ? "10.20.0.0/16" : "192.0.2.0/24",
                            .action = "ACCEPT"};
        g.ingress.push_back(r);
      }
      g.egress.push_back(
          {.protocol = "ALL", .port = "ALL", .cidr = "0.0.0.0/0", .action = "ACCEPT"});
    }
    for (int i = 0; i < 10; ++i) {
      auto t0 = Clock::now();
      Check(naive.Run(dn::DiffScript(nullptr, dn::RenderTable(plan))), "full replace");
      full_ms.push_back(Ms(Clock::now() - t0));
    }
  }
  auto s = Summarize(sync_ms), f = Summarize(full_ms);
  fmt::print(
      "policy change -> enforced ({} instances x {} rules): p50 {:.1f} ms, max {:.1f} ms "
      "({} of {} changes verified by a connection)\n",
      kInstances, kRules, s.p50, s.max, enforced, kChanges);
  fmt::print("  baseline, whole table replaced per change: p50 {:.1f} ms, max {:.1f} ms\n", f.p50,
             f.max);

  // 2. Packet path: b's group with 1 rule, 1,000 rules, 1,000 alternating; then no table.
  auto set_rules = [&](int count, bool alternate) {
    Check(store::WithTransaction(
              d,
              [&](store::Transaction& tx) -> Status {
                CVM_RETURN_IF_ERROR(
                    tx.Exec("DELETE FROM sg_rules WHERE sg_id = 'sg-b0000001' AND "
                            "direction = 'INGRESS'"));
                for (int k = 0; k < count; ++k) {
                  bool last = k == count - 1;
                  std::string action = !last && alternate && k % 2 ? "DROP" : "ACCEPT";
                  CVM_RETURN_IF_ERROR(
                      tx.Exec("INSERT INTO sg_rules(sg_id, direction, position, "
                              "protocol, port, cidr, action, modified_at) VALUES "
                              "('sg-b0000001', 'INGRESS', ?, 'TCP', ?, ?, ?, 0)",
                              {int64_t{k}, last ? std::string("8080") : std::to_string(10000 + k),
                               std::string(last ? "10.20.0.0/16" : "192.0.2.0/24"), action}));
                }
                return Status::Ok();
              }),
          "rules");
    Check(plane.Sync(), "sync");
  };
  constexpr double kSeconds = 3;
  set_rules(1, false);
  double one = ConnectRate(host_a, b_addr, 8080, kSeconds);
  set_rules(1000, false);
  double thousand = ConnectRate(host_a, b_addr, 8080, kSeconds);
  set_rules(1000, true);
  double alternating = ConnectRate(host_a, b_addr, 8080, kSeconds);
  set_rules(1, false);
  double one_again = ConnectRate(host_a, b_addr, 8080, kSeconds);
  Check(naive.Run(std::string("delete table inet ") + dn::kTableName), "drop table");
  double bare = ConnectRate(host_a, b_addr, 8080, kSeconds);
  double one_avg = (one + one_again) / 2;
  fmt::print(
      "TCP connections/s a -> b: no firewall {:.0f}; 1 rule {:.0f}; 1,000 rules {:.0f} "
      "({:.2f}x of 1 rule); 1,000 rules alternating ACCEPT/DROP {:.0f} ({:.2f}x)\n",
      bare, one_avg, thousand, thousand / one_avg, alternating, alternating / one_avg);

  close(listener);
  for (auto* h : hosts) (void)plane.ns().IpBatch({"netns del " + h->name()}, true);
  (void)plane.ns().IpBatch({"netns del " + plane.ns().name()}, true);
  std::filesystem::remove_all(dir);
  return 0;
}
