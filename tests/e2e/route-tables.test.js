// Route tables end to end: two TCG guests in one subnet, a route 192.168.77.0/24 -> NORMAL_CVM b
// in the subnet's table. Packets a sends into that block leave cvmd's namespace through b's tap
// (an nft counter on b's tap in a table of the test's own, after cvmd's firewall has passed
// them) while the route exists, again after a restart rebuilt what was removed behind cvmd's
// back, and no more after DeleteRoutes. A default route to b leaves the VPC's own traffic and
// the return path of a's public address alone.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const net = require("node:net");
const { execFileSync } = require("node:child_process");
const L = require("./lib");

const PASSWORD = "Opencvm-rtb1";
const ZONE = "ap-guangzhou-3";
const auth = { password: PASSWORD };
const DEST = "192.168.77.1";
let d, cvm, vpc, tableId, routeId, defaultRouteId;
const ids = {};
const addr = {};

const inNs = (...args) => execFileSync("ip", ["netns", "exec", d.netns, ...args]).toString();

// Packets to DEST seen leaving through b's tap (the counter of the test's own table).
function arrivedAtB() {
  const out = inNs("nft", "list", "table", "inet", "rtbtest");
  return Number(/counter packets (\d+)/.exec(out)[1]);
}

// a pings DEST three times (no answer is expected: b does not own it); how many reached b.
async function sendFromA() {
  const before = arrivedAtB();
  await L.ssh(d, ids.a, `ping -c 3 -W 1 ${DEST} >/dev/null 2>&1; true`, auth);
  return arrivedAtB() - before;
}

before(async () => {
  d = await L.startDaemon();
  cvm = d.client("cvm");
  vpc = d.client("vpc");
  const image = await L.tinyImageId(cvm);
  const v = (await vpc.CreateVpc({ VpcName: "rtb-e2e", CidrBlock: "10.60.0.0/16" })).Vpc.VpcId;
  const s = (await vpc.CreateSubnet({ VpcId: v, SubnetName: "rtb-e2e", CidrBlock: "10.60.1.0/24",
                                      Zone: ZONE })).Subnet.SubnetId;
  const sg = (await vpc.CreateSecurityGroupWithPolicies({
    GroupName: "open", GroupDescription: "open",
    SecurityGroupPolicySet: {
      Ingress: [{ Protocol: "ALL", Port: "ALL", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }],
      Egress: [{ Protocol: "ALL", Port: "ALL", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }],
    },
  })).SecurityGroup.SecurityGroupId;
  for (const name of ["a", "b"]) {
    ids[name] = (await cvm.RunInstances({
      Placement: { Zone: ZONE }, ImageId: image, InstanceType: "T1.NANO1", InstanceName: name,
      LoginSettings: { Password: PASSWORD }, SecurityGroupIds: [sg],
      VirtualPrivateCloud: { VpcId: v, SubnetId: s },
      InternetAccessible: { PublicIpAssigned: name === "a", InternetMaxBandwidthOut: 10 },
    })).InstanceIdSet[0];
  }
  const up = await L.waitState(cvm, [ids.a, ids.b], "RUNNING");
  addr.b = up[ids.b].PrivateIpAddresses[0];
  addr.aPublic = up[ids.a].PublicIpAddresses[0];
  tableId = (await vpc.CreateRouteTable({ VpcId: v, RouteTableName: "via-b" })).RouteTable
    .RouteTableId;
  await vpc.ReplaceRouteTableAssociation({ SubnetId: s, RouteTableId: tableId });
  const tap = `tap-${ids.b.slice(4)}`;
  inNs("nft", "add table inet rtbtest; " +
       "add chain inet rtbtest out { type filter hook postrouting priority 0; policy accept; }; " +
       `add rule inet rtbtest out oifname "${tap}" ip daddr ${DEST} counter`);
  await L.uptime(d, ids.a, auth);  // a answers SSH before it is asked to send
});

after(async () => {
  try {
    await L.terminateThenStop(d, cvm, Object.values(ids));
  } finally {
    fs.writeFileSync(path.join(os.tmpdir(), "opencvm-e2e-route-tables.log"), d.log);
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
  }
});

test("without a route, a's packets for the block go nowhere", async () => {
  assert.equal(await sendFromA(), 0);
});

test("a route to NORMAL_CVM b sends a's packets for the block to b's tap", async () => {
  const made = await vpc.CreateRoutes({ RouteTableId: tableId, Routes: [{
    DestinationCidrBlock: "192.168.77.0/24", GatewayType: "NORMAL_CVM", GatewayId: addr.b }] });
  routeId = made.RouteTableSet[0].RouteSet[0].RouteId;
  assert.equal(await sendFromA(), 3);
});

test("the reconciler's start rebuilds the route's rule removed behind cvmd's back", async () => {
  inNs("ip", "rule", "del", "priority", "90");
  assert.equal(await sendFromA(), 0);
  await d.stop("SIGKILL");
  await d.start();
  assert.equal(await sendFromA(), 3);
});

// A TCP connection from the host to a's SSH port through its public address: the replies must
// leave through the uplink (their return path), not go to b.
const hostReachesA = () => new Promise((resolve) => {
  const sock = net.connect({ host: addr.aPublic, port: 22, timeout: 3000 });
  sock.on("connect", () => { sock.destroy(); resolve(true); });
  sock.on("timeout", () => { sock.destroy(); resolve(false); });
  sock.on("error", () => resolve(false));
});

test("a default route to b leaves the VPC's own traffic and the public return path alone",
     async () => {
  assert.ok(await hostReachesA());
  const made = await vpc.CreateRoutes({ RouteTableId: tableId, Routes: [{
    DestinationCidrBlock: "0.0.0.0/0", GatewayType: "NORMAL_CVM", GatewayId: addr.b }] });
  defaultRouteId = made.RouteTableSet[0].RouteSet[0].RouteId;
  assert.equal(await sendFromA(), 3);  // still to b
  assert.ok(await hostReachesA());
  assert.match(await L.ssh(d, ids.a, `ping -c 1 -W 3 ${addr.b} >/dev/null && echo reached`, auth),
               /reached/);
});

test("after DeleteRoutes the packets no longer reach b", async () => {
  await vpc.DeleteRoutes({ RouteTableId: tableId,
                           Routes: [{ RouteId: routeId }, { RouteId: defaultRouteId }] });
  assert.equal(await sendFromA(), 0);
  assert.doesNotMatch(inNs("ip", "rule", "show"), /lookup 100\d{4}/);
});
