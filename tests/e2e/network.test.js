// Networks and security groups end to end: real TCG guests in VPC subnets, the host as an
// outside client through public addresses, every verdict checked with a real connection.
// Three guests are shared by all cases: srv (web server, public address), cli (its client, same
// subnet) and iso (another account, the same CIDR and srv's very address).
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const http = require("node:http");
const { spawn, spawnSync, execFileSync } = require("node:child_process");
const L = require("./lib");
const { CVM } = require("../integration/lib/daemon");

const PASSWORD = "Opencvm-net1";
const ZONE = "ap-guangzhou-3";
const auth = { password: PASSWORD };
let d, cvm, vpc, image, otherCvm, otherVpc, vpcId, subnetId;
let webSg, cliSg;
const ids = {};
const addr = {};

// One HTTP GET of http://ip:8080/ from a guest (busybox nc); the page body or null.
async function fetchFromGuest(id, ip, port = 8080) {
  const out = await L.ssh(d, id, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} ${port}; true`,
                          auth);
  return out.includes("200 OK") ? out.trim().split("\n").pop().trim() : null;
}

// One HTTP GET from the host; the body or null when nothing answered within 3 s.
function fetchFromHost(ip) {
  return new Promise((resolve) => {
    const req = http.get({ host: ip, port: 8080, path: "/", timeout: 3000 }, (res) => {
      let body = "";
      res.on("data", (c) => { body += c; });
      res.on("end", () => resolve(body.trim()));
    });
    req.on("timeout", () => { req.destroy(); resolve(null); });
    req.on("error", () => resolve(null));
  });
}

async function serve(id, name) {
  await L.ssh(d, id, `mkdir -p /tmp/www && echo ${name} > /tmp/www/index.html && ` +
                     "(httpd -p 8080 -h /tmp/www || true)", auth);
}

async function policies(sg) {
  return (await vpc.DescribeSecurityGroupPolicies({ SecurityGroupId: sg })).SecurityGroupPolicySet;
}

before(async () => {
  d = await L.startDaemon();
  cvm = d.client("cvm");
  vpc = d.client("vpc");
  image = await L.tinyImageId(cvm);
  // A resolver inside the VPC's own block: guests are told of it, and nothing is sent outside.
  const v = (await vpc.CreateVpc({ VpcName: "net-e2e", CidrBlock: "10.50.0.0/16",
                                   DnsServers: ["10.50.0.2"] })).Vpc;
  const s = (await vpc.CreateSubnet({ VpcId: v.VpcId, SubnetName: "net-e2e",
                                      CidrBlock: "10.50.1.0/24", Zone: ZONE })).Subnet;
  vpcId = v.VpcId;
  subnetId = s.SubnetId;
  webSg = (await vpc.CreateSecurityGroupWithPolicies({
    GroupName: "web", GroupDescription: "web server",
    SecurityGroupPolicySet: {
      Ingress: [{ Protocol: "TCP", Port: "22", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" },
                { Protocol: "TCP", Port: "8080", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }],
      Egress: [],  // replies still pass: the firewall is stateful
    },
  })).SecurityGroup.SecurityGroupId;
  cliSg = (await vpc.CreateSecurityGroupWithPolicies({
    GroupName: "client", GroupDescription: "client",
    SecurityGroupPolicySet: {
      Ingress: [{ Protocol: "TCP", Port: "22", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }],
      Egress: [{ Protocol: "ALL", Port: "ALL", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }],
    },
  })).SecurityGroup.SecurityGroupId;
  const base = { Placement: { Zone: ZONE }, ImageId: image, InstanceType: "T1.NANO1",
                 LoginSettings: { Password: PASSWORD } };
  const net = { VpcId: v.VpcId, SubnetId: s.SubnetId };
  ids.srv = (await cvm.RunInstances({
    ...base, InstanceName: "srv", SecurityGroupIds: [webSg],
    VirtualPrivateCloud: { ...net, PrivateIpAddresses: ["10.50.1.10"] },
    InternetAccessible: { PublicIpAssigned: true, InternetMaxBandwidthOut: 10 },
  })).InstanceIdSet[0];
  ids.cli = (await cvm.RunInstances({ ...base, InstanceName: "cli", SecurityGroupIds: [cliSg],
                                      VirtualPrivateCloud: net })).InstanceIdSet[0];
  // Another account, the same CIDR, and srv's very address.
  const o = d.createAccount("net-tenant");
  otherCvm = d.client("cvm", o);
  otherVpc = d.client("vpc", o);
  const ov = (await otherVpc.CreateVpc({ VpcName: "overlap", CidrBlock: "10.50.0.0/16" })).Vpc;
  const os_ = (await otherVpc.CreateSubnet({ VpcId: ov.VpcId, SubnetName: "overlap",
                                             CidrBlock: "10.50.1.0/24", Zone: ZONE })).Subnet;
  const isoSg = (await otherVpc.CreateSecurityGroupWithPolicies({
    GroupName: "open", GroupDescription: "open",
    SecurityGroupPolicySet: {
      Ingress: [{ Protocol: "ALL", Port: "ALL", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }],
      Egress: [{ Protocol: "ALL", Port: "ALL", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }],
    },
  })).SecurityGroup.SecurityGroupId;
  ids.iso = (await otherCvm.RunInstances({
    ...base, InstanceName: "iso", SecurityGroupIds: [isoSg],
    VirtualPrivateCloud: { VpcId: ov.VpcId, SubnetId: os_.SubnetId,
                           PrivateIpAddresses: ["10.50.1.10"] },
  })).InstanceIdSet[0];
  const mine = await L.waitState(cvm, [ids.srv, ids.cli], "RUNNING");
  await L.waitState(otherCvm, [ids.iso], "RUNNING");
  addr.srv = mine[ids.srv].PrivateIpAddresses[0];
  addr.pub = mine[ids.srv].PublicIpAddresses[0];
  addr.cli = mine[ids.cli].PrivateIpAddresses[0];
  await serve(ids.srv, "srv");
  await serve(ids.iso, "iso");
});

after(async () => {
  try {
    for (const [c, id] of [[cvm, ids.srv], [cvm, ids.cli], [otherCvm, ids.iso]]) {
      if (id) await c.TerminateInstances({ InstanceIds: [id] }).catch(() => {});
    }
  } finally {
    await d.stop();
    fs.writeFileSync(path.join(os.tmpdir(), "opencvm-e2e-network.log"), d.log);
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
  }
});

test("instances get their VPC addresses and resolvers, shown by the API and set in the guest", async () => {
  const i = (await cvm.DescribeInstances({ InstanceIds: [ids.srv] })).InstanceSet[0];
  assert.equal(addr.srv, "10.50.1.10");
  assert.match(addr.cli, /^10\.50\.1\.\d+$/);
  assert.match(addr.pub, /^198\.18\./);
  assert.equal(i.VirtualPrivateCloud.VpcId.slice(0, 4), "vpc-");
  assert.deepEqual(i.SecurityGroupIds, [webSg]);
  assert.match(await L.ssh(d, ids.cli, "ip -4 addr show dev eth0", auth), new RegExp(addr.cli));
  // The VPC's DnsServerSet is what its guests resolve with.
  const [shown] = (await vpc.DescribeVpcs({ VpcIds: [vpcId] })).VpcSet;
  assert.deepEqual(shown.DnsServerSet, ["10.50.0.2"]);
  assert.match(await L.ssh(d, ids.cli, "cat /etc/resolv.conf", auth), /^nameserver 10\.50\.0\.2$/m);
});

test("DescribeInstances filters on the network fields; bindings keep their order", async () => {
  const find = async (Name, Values) =>
    (await cvm.DescribeInstances({ Filters: [{ Name, Values }] })).InstanceSet.map((i) => i.InstanceId).sort();
  assert.deepEqual(await find("vpc-id", [vpcId]), [ids.srv, ids.cli].sort());
  assert.deepEqual(await find("subnet-id", [subnetId]), [ids.srv, ids.cli].sort());
  assert.deepEqual(await find("security-group-id", [webSg]), [ids.srv]);
  assert.deepEqual(await find("private-ip-address", [addr.cli]), [ids.cli]);
  assert.deepEqual(await find("public-ip-address", [addr.pub]), [ids.srv]);
  // A second group on cli goes after the first; ModifyInstancesAttribute sets a new order.
  const extra = (await vpc.CreateSecurityGroup({ GroupName: "extra", GroupDescription: "x" }))
    .SecurityGroup.SecurityGroupId;
  await cvm.AssociateSecurityGroups({ SecurityGroupIds: [extra], InstanceIds: [ids.cli] });
  const groups = async () =>
    (await cvm.DescribeInstances({ InstanceIds: [ids.cli] })).InstanceSet[0].SecurityGroupIds;
  assert.deepEqual(await groups(), [cliSg, extra]);
  await cvm.ModifyInstancesAttribute({ InstanceIds: [ids.cli], SecurityGroups: [extra, cliSg] });
  assert.deepEqual(await groups(), [extra, cliSg]);
  await L.expectCode(vpc.DeleteSecurityGroup({ SecurityGroupId: extra }), "ResourceInUse");
  await cvm.DisassociateSecurityGroups({ SecurityGroupIds: [extra], InstanceIds: [ids.cli] });
  assert.deepEqual(await groups(), [cliSg]);
  await vpc.DeleteSecurityGroup({ SecurityGroupId: extra });
  await L.expectCode(vpc.DeleteSubnet({ SubnetId: subnetId }), "ResourceInUse");
});

test("ingress: allowed ports answer, others do not; replies pass with an empty egress list", async () => {
  assert.equal(await fetchFromGuest(ids.cli, addr.srv), "srv");
  assert.equal(await fetchFromHost(addr.pub), "srv");
  // Nothing admits 8081 (a second server there): denied.
  await L.ssh(d, ids.srv, "httpd -p 8081 -h /tmp/www", auth);
  assert.equal(await fetchFromGuest(ids.cli, addr.srv, 8081), null);
});

test("VPCs and accounts are isolated, even with overlapping CIDRs and the same address", async () => {
  // cli's 10.50.1.10 is always srv, never the other account's instance with that address.
  assert.equal(await fetchFromGuest(ids.cli, "10.50.1.10"), "srv");
  // iso admits everything, yet nothing from it reaches cli's VPC.
  const out = await L.ssh(d, ids.iso, `echo | nc -w 3 ${addr.cli} 22 || echo FAILED`, auth);
  assert.match(out, /FAILED/);
  assert.doesNotMatch(out, /SSH-2.0/);
});

test("rule changes reach a running instance at once, first match wins", async () => {
  let set = await policies(webSg);
  // A DROP for cli above the ACCEPT: cli is shut out, the host is not.
  await vpc.CreateSecurityGroupPolicies({
    SecurityGroupId: webSg,
    SecurityGroupPolicySet: { Version: set.Version, Ingress: [
      { PolicyIndex: 0, Protocol: "TCP", Port: "8080", CidrBlock: `${addr.cli}/32`, Action: "DROP" }] },
  });
  assert.equal(await fetchFromGuest(ids.cli, addr.srv), null);
  assert.equal(await fetchFromHost(addr.pub), "srv");
  set = await policies(webSg);
  assert.equal(set.Ingress[0].Action, "DROP");
  await vpc.DeleteSecurityGroupPolicies({
    SecurityGroupId: webSg, SecurityGroupPolicySet: { Version: set.Version, Ingress: [{ PolicyIndex: 0 }] },
  });
  assert.equal(await fetchFromGuest(ids.cli, addr.srv), "srv");
});

test("ICMP is refused until a rule admits it", async () => {
  const ping = async () =>
    (await L.ssh(d, ids.cli, `ping -c 1 -W 2 ${addr.srv} >/dev/null && echo up || echo down`,
                 auth)).trim();
  assert.equal(await ping(), "down");
  await vpc.CreateSecurityGroupPolicies({
    SecurityGroupId: webSg,
    SecurityGroupPolicySet: { Ingress: [{ Protocol: "ICMP", CidrBlock: "10.50.0.0/16",
                                          Action: "ACCEPT" }] },
  });
  assert.equal(await ping(), "up");
});

test("a group as the source admits its members only", async () => {
  const set = await policies(webSg);
  const idx = set.Ingress.findIndex((p) => p.Port === "8080");
  await vpc.ReplaceSecurityGroupPolicy({
    SecurityGroupId: webSg,
    SecurityGroupPolicySet: { Ingress: [{ PolicyIndex: idx, Protocol: "TCP", Port: "8080",
                                          SecurityGroupId: cliSg, Action: "ACCEPT" }] },
  });
  assert.equal(await fetchFromGuest(ids.cli, addr.srv), "srv");  // cli is in the client group
  assert.equal(await fetchFromHost(addr.pub), null);              // the host is not
});

test("egress rules bind the sender", async () => {
  const set = await policies(cliSg);
  await vpc.CreateSecurityGroupPolicies({
    SecurityGroupId: cliSg,
    SecurityGroupPolicySet: { Version: set.Version, Egress: [
      { PolicyIndex: 0, Protocol: "TCP", Port: "8080", CidrBlock: `${addr.srv}/32`, Action: "DROP" }] },
  });
  assert.equal(await fetchFromGuest(ids.cli, addr.srv), null);
  const again = await policies(cliSg);
  await vpc.DeleteSecurityGroupPolicies({
    SecurityGroupId: cliSg, SecurityGroupPolicySet: { Egress: [{ PolicyIndex: 0 }] },
  });
  assert.notEqual(again.Version, (await policies(cliSg)).Version);
  assert.equal(await fetchFromGuest(ids.cli, addr.srv), "srv");
});

test("invalid rules are refused and nothing changes", async () => {
  const before_ = await policies(webSg);
  for (const bad of [{ Protocol: "TCP", Port: "70000", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" },
                     { Protocol: "TCP", Port: "80", CidrBlock: "10.0.0.300/8", Action: "ACCEPT" },
                     { Protocol: "SCTP", Port: "ALL", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }]) {
    await assert.rejects(vpc.CreateSecurityGroupPolicies({
      SecurityGroupId: webSg, SecurityGroupPolicySet: { Ingress: [bad] } }));
  }
  await L.expectCode(vpc.CreateSecurityGroupPolicies({
    SecurityGroupId: webSg,
    SecurityGroupPolicySet: { Version: String(Number(before_.Version) + 5), Ingress: [
      { Protocol: "TCP", Port: "80", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }] },
  }), "UnsupportedOperation.VersionMismatch");
  const after_ = await policies(webSg);
  assert.equal(after_.Version, before_.Version);
  assert.deepEqual(after_.Ingress, before_.Ingress);
});

test("SSH through the public address and through cvm ssh", async () => {
  assert.equal((await L.ssh(d, ids.srv, "echo via-public", { ...auth, host: addr.pub })).trim(),
               "via-public");
  // cvm ssh uses the management path: cli has no public address. (sshpass types the password
  // into the ssh that cvm runs.)
  const r = spawnSync("sshpass", ["-p", PASSWORD, CVM, "ssh", ids.cli, "--", "echo", "via-cvm-ssh"],
                      { env: { ...process.env, HOME: d.home }, encoding: "utf8", timeout: 60000 });
  assert.equal(r.stdout.trim(), "via-cvm-ssh", r.stderr);
});

test("a TCP connection survives a cvmd restart, and the rules are the same after it", async () => {
  // The same rules, objects possibly listed in another order (the restart replaces the table
  // whole; changes before it created chains one by one).
  const list = () => execFileSync("ip", ["netns", "exec", d.netns, "nft", "list", "table", "inet",
                                         "opencvm"]).toString().split("\n").map((l) => l.trim())
                                         .filter(Boolean).sort().join("\n");
  const rules = list();
  // A long-lived SSH session through the public address (NATed, conntracked).
  const session = spawn("sshpass", ["-p", PASSWORD, "ssh", "-o", "StrictHostKeyChecking=no",
                                    "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                                    `root@${addr.pub}`, "echo started; sleep 12; echo survived"]);
  let out = "";
  session.stdout.on("data", (c) => { out += c; });
  const done = new Promise((r) => session.on("exit", r));
  const deadline = Date.now() + 30000;
  while (!out.includes("started") && Date.now() < deadline) await L.sleep(200);
  assert.match(out, /started/);
  await d.stop("SIGKILL");
  await d.start();
  assert.equal(await done, 0);
  assert.match(out, /survived/);
  assert.equal(list(), rules);
  // And cvmd still enforces after the restart.
  assert.equal(await fetchFromGuest(ids.cli, addr.srv), "srv");
});

test("terminated instances free their addresses, groups and subnet", async () => {
  await cvm.TerminateInstances({ InstanceIds: [ids.srv, ids.cli] });
  await L.waitState(cvm, [ids.srv, ids.cli], "GONE");
  ids.srv = ids.cli = undefined;
  await vpc.DeleteSecurityGroup({ SecurityGroupId: webSg });
  await vpc.DeleteSecurityGroup({ SecurityGroupId: cliSg });
  await vpc.DeleteSubnet({ SubnetId: subnetId });
  await vpc.DeleteVpc({ VpcId: vpcId });
  // Nothing of theirs is left in the data path.
  const table = execFileSync("ip", ["netns", "exec", d.netns, "nft", "list", "table", "inet",
                                    "opencvm"]).toString();
  assert.doesNotMatch(table, /10\.50\.1\.10 :/);
  const links = execFileSync("ip", ["-n", d.netns, "link"]).toString();
  assert.equal((links.match(/tap-/g) || []).length, 1);  // iso's only
});
