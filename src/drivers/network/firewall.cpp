#include "drivers/network/firewall.h"

#include <nftables/libnftables.h>

#include <set>

#include "common/error_codes.h"
#include "network/ipv4.h"

namespace cvm::drivers::network {

namespace net = cvm::network;

namespace {

// Named sets and maps: the per-packet lookups whose contents change with instances.
struct Declaration {
  const char* kind;  // "set" | "map"
  const char* name;
  const char* type;
};
constexpr Declaration kDeclarations[] = {
    {"map", "tap_vpc", "type ifname : mark"},
    {"map", "tap_zone", "typeof iifname : ct zone"},
    {"set", "tap_addr", "type ifname . ether_addr . ipv4_addr"},
    {"set", "vpc_ports", "type mark . ifname"},
    {"map", "pub_vpc", "type ipv4_addr : mark"},
    {"map", "pub_zone", "typeof ip daddr : ct zone"},
    {"map", "mark_zone", "typeof meta mark : ct zone"},
    {"map", "dnat_pub", "type ipv4_addr : ipv4_addr"},
    {"map", "snat_pub", "type mark . ipv4_addr : ipv4_addr"},
    {"set", "public_nics", "type mark . ipv4_addr"},
    {"map", "ingress", "type ifname : verdict"},
    {"map", "egress", "type ifname : verdict"},
};

// The hooks; they only consult the named objects above, so they never change.
constexpr const char* kBaseChains = R"nft(
  chain prerouting_raw {
    type filter hook prerouting priority raw; policy accept;
    iifname "tap-*" jump from_instance
    iifname != "tap-*" meta mark set ip daddr map @pub_vpc
    iifname != "tap-*" ct zone set ip daddr map @pub_zone
  }
  chain from_instance {
    meta nfproto != ipv4 drop
    iifname . ether saddr . ip saddr != @tap_addr drop
    meta mark set iifname map @tap_vpc
    ct zone set iifname map @tap_zone
  }
  chain output_raw {
    type filter hook output priority raw; policy accept;
    ct zone set meta mark map @mark_zone
  }
  chain prerouting_nat {
    type nat hook prerouting priority dstnat; policy accept;
    iifname != "tap-*" dnat ip to ip daddr map @dnat_pub
  }
  chain postrouting_nat {
    type nat hook postrouting priority srcnat; policy accept;
    oifname != "tap-*" snat ip to meta mark . ip saddr map @snat_pub
  }
  chain forward_egress {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct state invalid drop
    iifname vmap @egress
    iifname "tap-*" drop
    accept
  }
  chain forward_ingress {
    type filter hook forward priority 10; policy drop;
    ct state established,related accept
    oifname "tap-*" meta mark . oifname != @vpc_ports drop
    oifname vmap @ingress
    oifname "tap-*" drop
    meta mark . ip saddr @public_nics accept
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "tap-*" ct state established,related accept
    iifname "tap-*" icmp type echo-request accept
    iifname "tap-*" drop
  }
)nft";

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

std::string Suffix(const std::string& instance_id) {
  auto dash = instance_id.find('-');
  return dash == std::string::npos ? instance_id : instance_id.substr(dash + 1);
}

std::string GroupChain(const std::string& sg_id, bool ingress) {
  return "sg_" + Suffix(sg_id) + (ingress ? "_in" : "_eg");
}

// One direction of a group: runs of same-action rules, each one anonymous-set lookup.
std::vector<std::string> RenderGroupChain(const std::vector<net::SecurityRule>& rules, bool ingress,
                                          const NetworkPlan& plan) {
  std::vector<std::string> lines;
  size_t i = 0;
  while (i < rules.size()) {
    const std::string& action = rules[i].action;
    std::set<std::string> elements;
    for (; i < rules.size() && rules[i].action == action; ++i) {
      const auto& r = rules[i];
      std::vector<std::string> addresses;
      if (!r.cidr.empty()) {
        addresses.push_back(r.cidr);
      } else if (!r.peer_sg_id.empty()) {
        auto m = plan.members.find(r.peer_sg_id);
        if (m != plan.members.end()) {
          for (uint32_t a : m->second) addresses.push_back(net::FormatIpv4(a));
        }
      }  // IPv6 sources: instances have no IPv6 path, nothing to match
      int proto = net::ProtocolNumber(r.protocol);
      std::string proto_text = proto < 0 ? "0-255" : std::to_string(proto);
      std::vector<std::string> ports;
      for (const auto& p : net::PortRanges(r)) {
        ports.push_back(p.first == p.last ? std::to_string(p.first)
                                          : std::to_string(p.first) + "-" + std::to_string(p.last));
      }
      if (ports.empty()) ports.push_back("0-65535");
      for (const auto& a : addresses) {
        for (const auto& p : ports) elements.insert(a + " . " + proto_text + " . " + p);
      }
    }
    if (elements.empty()) continue;
    std::string line = ingress ? "ip saddr" : "ip daddr";
    line += " . meta l4proto . th dport { ";
    bool first = true;
    for (const auto& e : elements) {
      if (!first) line += ", ";
      line += e;
      first = false;
    }
    line += action == "ACCEPT" ? " } accept" : " } drop";
    lines.push_back(std::move(line));
  }
  return lines;
}

void AppendScriptObjects(const RenderedTable& t, std::string& out, bool chains) {
  for (const auto& [key, lines] : t) {
    bool is_chain = key.rfind("chain ", 0) == 0;
    if (is_chain != chains) continue;
    out += "  " + key + " {\n";
    if (!is_chain) {
      for (const auto& d : kDeclarations) {
        if (key == std::string(d.kind) + " " + d.name) out += "    " + std::string(d.type) + "\n";
      }
      if (!lines.empty()) {
        out += "    elements = {";
        for (size_t i = 0; i < lines.size(); ++i) out += (i ? ", " : " ") + lines[i];
        out += " }\n";
      }
    } else {
      for (const auto& l : lines) out += "    " + l + "\n";
    }
    out += "  }\n";
  }
}

// Instance chains before group chains' deletion, group chains before instance chains'
// creation: "in_"/"eg_" jump to "sg_" chains.
int ChainRank(const std::string& key) { return key.rfind("chain sg_", 0) == 0 ? 0 : 1; }

}  // namespace

std::string TapName(const std::string& instance_id) { return "tap-" + Suffix(instance_id); }

RenderedTable RenderTable(const NetworkPlan& plan) {
  RenderedTable t;
  for (const auto& d : kDeclarations) t[std::string(d.kind) + " " + d.name];
  std::set<uint32_t> vpcs;
  for (const auto& nic : plan.nics) {
    std::string tap = Quote(nic.tap), vpc = std::to_string(nic.vpc), ip = net::FormatIpv4(nic.ip);
    vpcs.insert(nic.vpc);
    t["map tap_vpc"].push_back(tap + " : " + vpc);
    t["map tap_zone"].push_back(tap + " : " + vpc);
    t["set tap_addr"].push_back(tap + " . " + nic.mac + " . " + ip);
    t["set vpc_ports"].push_back(vpc + " . " + tap);
    if (nic.public_ip) {
      std::string pub = net::FormatIpv4(*nic.public_ip);
      t["map pub_vpc"].push_back(pub + " : " + vpc);
      t["map pub_zone"].push_back(pub + " : " + vpc);
      t["map dnat_pub"].push_back(pub + " : " + ip);
      t["map snat_pub"].push_back(vpc + " . " + ip + " : " + pub);
      t["set public_nics"].push_back(vpc + " . " + ip);
    }
    std::string suffix = Suffix(nic.instance_id);
    auto& in = t["chain in_" + suffix];
    auto& eg = t["chain eg_" + suffix];
    for (const auto& sg : nic.security_groups) {
      in.push_back("jump " + GroupChain(sg, true));
      eg.push_back("jump " + GroupChain(sg, false));
    }
    in.push_back("drop");
    eg.push_back("drop");
    t["map ingress"].push_back(tap + " : jump in_" + suffix);
    t["map egress"].push_back(tap + " : jump eg_" + suffix);
  }
  for (uint32_t v : vpcs)
    t["map mark_zone"].push_back(std::to_string(v) + " : " + std::to_string(v));
  for (const auto& [id, g] : plan.groups) {
    t["chain " + GroupChain(id, true)] = RenderGroupChain(g.ingress, true, plan);
    t["chain " + GroupChain(id, false)] = RenderGroupChain(g.egress, false, plan);
  }
  return t;
}

std::string DiffScript(const RenderedTable* before, const RenderedTable& after) {
  const std::string table = std::string("inet ") + kTableName;
  if (!before) {
    std::string s = "add table " + table + "\ndelete table " + table + "\ntable " + table + " {\n";
    // Group chains, then instance chains (they jump to groups), then the maps (whose verdicts
    // jump to instance chains), then the hooks.
    RenderedTable groups, others;
    for (const auto& [k, v] : after) (ChainRank(k) == 0 ? groups : others)[k] = v;
    AppendScriptObjects(groups, s, true);
    AppendScriptObjects(others, s, true);
    AppendScriptObjects(after, s, false);
    s += kBaseChains;
    s += "}\n";
    return s;
  }
  std::vector<std::string> add_chains, fill[2], elements, remove[2];
  for (const auto& [key, lines] : after) {
    auto old = before->find(key);
    if (old != before->end() && old->second == lines) continue;
    bool is_chain = key.rfind("chain ", 0) == 0;
    std::string name = key.substr(key.find(' ') + 1);
    std::string kind = key.substr(0, key.find(' '));
    if (is_chain) {
      auto& out = fill[ChainRank(key)];
      if (old == before->end()) {
        add_chains.push_back("add chain " + table + " " + name);
      } else {
        out.push_back("flush chain " + table + " " + name);
      }
      for (const auto& l : lines) out.push_back("add rule " + table + " " + name + " " + l);
    } else {
      elements.push_back("flush " + kind + " " + table + " " + name);
      if (!lines.empty()) {
        std::string e = "add element " + table + " " + name + " {";
        for (size_t i = 0; i < lines.size(); ++i) e += (i ? ", " : " ") + lines[i];
        elements.push_back(e + " }");
      }
    }
  }
  for (const auto& [key, lines] : *before) {
    if (key.rfind("chain ", 0) == 0 && !after.count(key)) {
      remove[ChainRank(key)].push_back("delete chain " + table + " " + key.substr(6));
    }
  }
  std::string s;
  auto emit = [&](const std::vector<std::string>& v) {
    for (const auto& l : v) s += l + "\n";
  };
  emit(add_chains);
  emit(fill[0]);
  emit(fill[1]);
  emit(elements);
  emit(remove[1]);
  emit(remove[0]);
  return s;
}

Status Firewall::Run(const std::string& script) {
  if (script.empty()) return Status::Ok();
  return ns_.RunInside([&]() -> Status {
    nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) return Status(kind::kExternal, "nft_ctx_new failed");
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    int rc = nft_run_cmd_from_buffer(ctx, script.c_str());
    std::string error = nft_ctx_get_error_buffer(ctx);
    nft_ctx_free(ctx);
    if (rc != 0) {
      return Status(kind::kExternal, "nftables refused the change: " + error.substr(0, 2000));
    }
    return Status::Ok();
  });
}

Status Firewall::Apply(const NetworkPlan& plan) {
  RenderedTable next = RenderTable(plan);
  Status st = Run(DiffScript(applied_ ? &*applied_ : nullptr, next));
  if (!st.ok()) {
    applied_.reset();
    return st;
  }
  applied_ = std::move(next);
  return Status::Ok();
}

}  // namespace cvm::drivers::network
