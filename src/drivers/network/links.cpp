#include "drivers/network/links.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error_codes.h"
#include "network/ipv4.h"

namespace cvm::drivers::network {

namespace net = cvm::network;
using nlohmann::json;

namespace {

Result<json> Query(const NetNamespace& ns, const std::vector<std::string>& args, bool host) {
  auto out = ns.IpJson(args, host);
  if (!out.ok()) return out.status();
  auto j = json::parse(*out, nullptr, false);
  if (!j.is_array()) return Status(kind::kExternal, "unexpected output of ip -j");
  return j;
}

bool HasLink(const json& links, const std::string& name) {
  for (const auto& l : links) {
    if (l.value("ifname", "") == name) return true;
  }
  return false;
}

// A policy rule as `ip -j rule show` prints it: {"priority":100,"iif":"tap-x","table":"1000"}.
bool HasRule(const json& rules, int priority, const std::string& key, const std::string& value,
             uint32_t table) {
  for (const auto& r : rules) {
    if (r.value("priority", -1) != priority || !r.contains(key)) continue;
    std::string v = r[key].is_string() ? r[key].get<std::string>() : r[key].dump();
    if (key == "fwmark") v = std::to_string(std::stoul(v, nullptr, 0));
    if (v == value && r.value("table", "") == std::to_string(table)) return true;
  }
  return false;
}

constexpr int kRouteTableRulePriority = 90;  // before the taps' rules: a miss falls through
constexpr int kTapRulePriority = 100;
constexpr int kMarkRulePriority = 200;

}  // namespace

std::string HostUplinkName(const NetNamespace& ns) { return ns.name() + "-up"; }

Status EnsureUplink(const NetNamespace& ns, const UplinkConfig& c) {
  CVM_RETURN_IF_ERROR(ns.Ensure());
  // Before any link exists, so that every tap inherits proxy ARP and no IPv6.
  for (auto [key, value] :
       {std::pair{"net/ipv4/ip_forward", "1"}, std::pair{"net/ipv4/conf/default/proxy_arp", "1"},
        std::pair{"net/ipv6/conf/default/disable_ipv6", "1"},
        std::pair{"net/ipv6/conf/all/disable_ipv6", "1"}}) {
    CVM_RETURN_IF_ERROR(ns.WriteSysctl(key, value));
  }
  const std::string host_if = HostUplinkName(ns);
  auto host_links = Query(ns, {"link", "show"}, true);
  if (!host_links.ok()) return host_links.status();
  auto ns_links = Query(ns, {"link", "show"}, false);
  if (!ns_links.ok()) return ns_links.status();
  if (!HasLink(*host_links, host_if) || !HasLink(*ns_links, kNamespaceUplink)) {
    if (HasLink(*host_links, host_if)) {
      CVM_RETURN_IF_ERROR(ns.IpBatch({"link del " + host_if}, true));
    }
    CVM_RETURN_IF_ERROR(ns.IpBatch({"link add " + host_if + " type veth peer name " +
                                    kNamespaceUplink + " netns " + ns.name()},
                                   true));
  }
  CVM_RETURN_IF_ERROR(
      ns.WriteSysctl(std::string("net/ipv4/conf/") + kNamespaceUplink + "/proxy_arp", "0"));
  const std::string host_addr = net::FormatIpv4(c.host_address);
  const std::string ns_addr = net::FormatIpv4(c.ns_address);
  CVM_RETURN_IF_ERROR(ns.IpBatch({"addr replace " + ns_addr + "/30 dev " + kNamespaceUplink,
                                  std::string("link set dev ") + kNamespaceUplink + " up"}));
  return ns.IpBatch(
      {"addr replace " + host_addr + "/30 dev " + host_if, "link set dev " + host_if + " up",
       "route replace " + c.public_pool + " via " + ns_addr + " dev " + host_if},
      true);
}

Status EnsureInstanceLink(const NetNamespace& ns, const InstanceLink& l) {
  auto links = Query(ns, {"link", "show"}, false);
  if (!links.ok()) return links.status();
  auto rules = Query(ns, {"rule", "show"}, false);
  if (!rules.ok()) return rules.status();
  const std::string table = std::to_string(l.vpc);
  const std::string gw = net::FormatIpv4(l.gateway);
  std::vector<std::string> cmds;
  if (!HasLink(*links, l.tap)) cmds.push_back("tuntap add dev " + l.tap + " mode tap");
  cmds.push_back("link set dev " + l.tap + " up");
  cmds.push_back("addr replace " + gw + "/32 dev lo");
  cmds.push_back("route replace " + net::FormatIpv4(l.ip) + "/32 dev " + l.tap + " table " + table +
                 " src " + gw);
  cmds.push_back("route replace throw 0.0.0.0/0 table " + table);
  if (!HasRule(*rules, kTapRulePriority, "iif", l.tap, l.vpc)) {
    cmds.push_back("rule add iif " + l.tap + " lookup " + table + " priority " +
                   std::to_string(kTapRulePriority));
  }
  if (!HasRule(*rules, kMarkRulePriority, "fwmark", table, l.vpc)) {
    cmds.push_back("rule add fwmark " + table + " lookup " + table + " priority " +
                   std::to_string(kMarkRulePriority));
  }
  return ns.IpBatch(cmds);
}

Status RemoveInstanceLink(const NetNamespace& ns, const std::string& tap, uint32_t vpc) {
  auto links = Query(ns, {"link", "show"}, false);
  if (!links.ok()) return links.status();
  auto rules = Query(ns, {"rule", "show"}, false);
  if (!rules.ok()) return rules.status();
  std::vector<std::string> cmds;
  if (HasLink(*links, tap)) cmds.push_back("tuntap del dev " + tap + " mode tap");
  if (HasRule(*rules, kTapRulePriority, "iif", tap, vpc)) {
    cmds.push_back("rule del iif " + tap + " lookup " + std::to_string(vpc) + " priority " +
                   std::to_string(kTapRulePriority));
  }
  return ns.IpBatch(cmds);
}

Result<std::vector<std::string>> RoutingCommands(const std::string& rules_json,
                                                 const std::string& routes_json,
                                                 const RoutingPlan& plan) {
  auto rules = json::parse(rules_json, nullptr, false);
  auto routes = json::parse(routes_json, nullptr, false);
  if (!rules.is_array() || !routes.is_array()) {
    return Status(kind::kExternal, "unexpected output of ip -j");
  }
  const std::string priority = " priority " + std::to_string(kRouteTableRulePriority);
  auto rule_spec = [&](const std::string& source, uint32_t mark, const std::string& table) {
    return "from " + source + " fwmark " + std::to_string(mark) + " lookup " + table + priority;
  };
  std::set<std::string> want_rules, have_rules;
  for (const auto& r : plan.rules) {
    want_rules.insert(rule_spec(r.source.ToString(), r.mark, std::to_string(r.table)));
  }
  for (const auto& r : rules) {
    if (r.value("priority", -1) != kRouteTableRulePriority || !r.contains("fwmark")) continue;
    std::string src = r.value("src", "all");
    if (src != "all") src += "/" + std::to_string(r.value("srclen", 32));
    std::string mark =
        r["fwmark"].is_string() ? r["fwmark"].get<std::string>() : r["fwmark"].dump();
    have_rules.insert(
        rule_spec(src, static_cast<uint32_t>(std::stoul(mark, nullptr, 0)), r.value("table", "")));
  }
  // Routes by (table, destination): the `ip route replace` arguments that make each.
  std::map<std::string, std::string> want_routes, have_routes;
  auto key = [](const std::string& table, const std::string& dst) { return table + " " + dst; };
  for (const auto& r : plan.routes) {
    std::string t = std::to_string(r.table), d = r.destination.ToString();
    want_routes[key(t, d)] = r.next_hop == 0 ? "throw " + d + " table " + t
                                             : d + " via " + net::FormatIpv4(r.next_hop) + " dev " +
                                                   r.tap + " onlink table " + t;
  }
  for (const auto& r : routes) {
    // Route tables' only: the VPCs' tables and the kernel's (named "local", ...) are not ours.
    std::string t = r.value("table", "");
    if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(t) < kFirstRouteTable) {
      continue;
    }
    std::string d = r.value("dst", "");
    if (d == "default") d = "0.0.0.0/0";
    if (d.find('/') == std::string::npos) d += "/32";
    std::string spec;
    if (r.value("type", "") == "throw") {
      spec = "throw " + d + " table " + t;
    } else {
      bool onlink = false;
      for (const auto& f : r.value("flags", json::array())) onlink = onlink || f == "onlink";
      spec = d + " via " + r.value("gateway", "") + " dev " + r.value("dev", "") +
             (onlink ? " onlink" : "") + " table " + t;
    }
    have_routes[key(t, d)] = spec;
  }
  std::vector<std::string> cmds;
  for (const auto& r : have_rules) {
    if (!want_rules.count(r)) cmds.push_back("rule del " + r);
  }
  for (const auto& [k, spec] : have_routes) {
    if (!want_routes.count(k))
      cmds.push_back("route del " + k.substr(k.find(' ') + 1) + " table " +
                     k.substr(0, k.find(' ')));
  }
  for (const auto& [k, spec] : want_routes) {
    auto have = have_routes.find(k);
    if (have == have_routes.end() || have->second != spec) cmds.push_back("route replace " + spec);
  }
  for (const auto& r : want_rules) {
    if (!have_rules.count(r)) cmds.push_back("rule add " + r);
  }
  return cmds;
}

Status ApplyRouting(const NetNamespace& ns, const RoutingPlan& plan) {
  auto rules = ns.IpJson({"rule", "show"});
  if (!rules.ok()) return rules.status();
  auto routes = ns.IpJson({"route", "show", "table", "all"});
  if (!routes.ok()) return routes.status();
  auto cmds = RoutingCommands(*rules, *routes, plan);
  if (!cmds.ok()) return cmds.status();
  return ns.IpBatch(*cmds);
}

Result<std::vector<std::string>> ListTaps(const NetNamespace& ns) {
  auto links = Query(ns, {"link", "show"}, false);
  if (!links.ok()) return links.status();
  std::vector<std::string> taps;
  for (const auto& l : *links) {
    std::string name = l.value("ifname", "");
    if (name.rfind("tap-", 0) == 0) taps.push_back(name);
  }
  return taps;
}

}  // namespace cvm::drivers::network
