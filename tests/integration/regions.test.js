// Regions confine resources: a disk, snapshot, key pair or security group made in ap-guangzhou
// is, from ap-shanghai, answered exactly as an id that never existed — not listed, not found,
// not modifiable — for the root account and for sub-users whose policies allow everything in
// ap-shanghai (by resource name or by a cvm:region condition); and nothing changed afterwards.
// (Instances need a VM: tests/e2e/regions.test.js.)
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { Daemon } = require("./lib/daemon");
const { createDisks } = require("./lib/disks");
const { answersAsUnknown } = require("./lib/unknown");

const HOME = "ap-guangzhou", AWAY = "ap-shanghai";
let d, home, away;
const ids = {};
const unknown = { disk: "disk-zz000000", snap: "snap-zz000000", key: "skey-zz000000",
                  sg: "sg-zz000000" };

function clients(creds, region) {
  return { cvm: d.client("cvm", creds, { region }), cbs: d.client("cbs", creds, { region }),
           vpc: d.client("vpc", creds, { region }) };
}

// `call(id)` answers for the real id of another region exactly as for one that never existed.
const asIfUnknown = (kind, call) => answersAsUnknown(call, ids[kind], unknown[kind], kind);

// Everything the region-confined callers try on the home region's resources.
async function probe(c) {
  const listed = (r, set, field) => r[set].map((x) => x[field]);
  assert.deepEqual(listed(await c.cbs.DescribeDisks({}), "DiskSet", "DiskId")
    .filter((x) => x === ids.disk), []);
  assert.deepEqual(listed(await c.cbs.DescribeSnapshots({}), "SnapshotSet", "SnapshotId")
    .filter((x) => x === ids.snap), []);
  assert.deepEqual(listed(await c.cvm.DescribeKeyPairs({}), "KeyPairSet", "KeyId")
    .filter((x) => x === ids.key), []);
  assert.deepEqual(listed(await c.vpc.DescribeSecurityGroups({}), "SecurityGroupSet",
                          "SecurityGroupId").filter((x) => x === ids.sg), []);

  await asIfUnknown("disk", (id) => c.cbs.DescribeDisks({ DiskIds: [id] }));
  await asIfUnknown("disk", (id) => c.cbs.ModifyDiskAttributes({ DiskIds: [id], DiskName: "moved" }));
  await asIfUnknown("disk", (id) => c.cbs.CreateSnapshot({ DiskId: id, SnapshotName: "x" }));
  await asIfUnknown("disk", (id) => c.cbs.ResizeDisk({ DiskId: id, DiskSize: 20 }));
  await asIfUnknown("disk", (id) => c.cbs.TerminateDisks({ DiskIds: [id] }));

  await asIfUnknown("snap", (id) => c.cbs.DescribeSnapshots({ SnapshotIds: [id] }));
  await asIfUnknown("snap", (id) => c.cbs.ApplySnapshot({ SnapshotId: id, DiskId: ids.disk }));
  await asIfUnknown("snap", (id) => c.cbs.CreateDisks({
    Placement: { Zone: `${AWAY}-2` }, DiskChargeType: "POSTPAID_BY_HOUR",
    DiskType: "CLOUD_PREMIUM", SnapshotId: id }));
  await asIfUnknown("snap", (id) => c.cbs.DeleteSnapshots({ SnapshotIds: [id] }));

  await asIfUnknown("key", (id) => c.cvm.DescribeKeyPairs({ KeyIds: [id] }));
  await asIfUnknown("key", (id) => c.cvm.ModifyKeyPairAttribute({ KeyId: id, KeyName: "moved" }));
  await asIfUnknown("key", (id) => c.cvm.DeleteKeyPairs({ KeyIds: [id] }));

  await asIfUnknown("sg", (id) => c.vpc.DescribeSecurityGroups({ SecurityGroupIds: [id] }));
  await asIfUnknown("sg", (id) => c.vpc.DescribeSecurityGroupPolicies({ SecurityGroupId: id }));
  await asIfUnknown("sg", (id) => c.vpc.ModifySecurityGroupAttribute({ SecurityGroupId: id,
                                                                         GroupName: "moved" }));
  await asIfUnknown("sg", (id) => c.vpc.CreateSecurityGroupPolicies({
    SecurityGroupId: id,
    SecurityGroupPolicySet: { Ingress: [{ Protocol: "TCP", Port: "1", CidrBlock: "0.0.0.0/0",
                                          Action: "ACCEPT" }] } }));
  await asIfUnknown("sg", (id) => c.vpc.DeleteSecurityGroup({ SecurityGroupId: id }));
}

// The home region's view of its resources, to compare before and after the probes.
async function homeView() {
  const disk = (await home.cbs.DescribeDisks({ DiskIds: [ids.disk] })).DiskSet;
  const snap = (await home.cbs.DescribeSnapshots({ SnapshotIds: [ids.snap] })).SnapshotSet;
  const key = (await home.cvm.DescribeKeyPairs({ KeyIds: [ids.key] })).KeyPairSet;
  const sg = (await home.vpc.DescribeSecurityGroups({ SecurityGroupIds: [ids.sg] }))
    .SecurityGroupSet;
  const rules = (await home.vpc.DescribeSecurityGroupPolicies({ SecurityGroupId: ids.sg }))
    .SecurityGroupPolicySet;
  return JSON.stringify({ disk, snap, key, sg, rules });
}

let before_;
before(async () => {
  d = await new Daemon().start();
  home = clients(d.admin, HOME);
  away = clients(d.admin, AWAY);
  ids.disk = (await createDisks(home.cbs, {
    Placement: { Zone: `${HOME}-3` }, DiskChargeType: "POSTPAID_BY_HOUR",
    DiskType: "CLOUD_PREMIUM", DiskSize: 10, DiskName: "home-disk" })).DiskIdSet[0];
  ids.snap = (await home.cbs.CreateSnapshot({ DiskId: ids.disk, SnapshotName: "home-snap" }))
    .SnapshotId;
  for (let i = 0; ; i++) {
    const [s] = (await home.cbs.DescribeSnapshots({ SnapshotIds: [ids.snap] })).SnapshotSet;
    if (s.SnapshotState === "NORMAL") break;
    if (i > 300) throw new Error("snapshot never became NORMAL");
    await new Promise((r) => setTimeout(r, 100));
  }
  ids.key = (await home.cvm.CreateKeyPair({ KeyName: "homekey", ProjectId: 0 })).KeyPair.KeyId;
  ids.sg = (await home.vpc.CreateSecurityGroup({ GroupName: "home-sg", GroupDescription: "h" }))
    .SecurityGroup.SecurityGroupId;
  before_ = await homeView();
});
after(async () => { await d.stop(); d.cleanup(); });

test("the root account does not find, list or change another region's resources", async () => {
  await probe(away);
  assert.equal(await homeView(), before_);
});

let users = 0;
async function regionUser(statement) {
  const cam = d.client("cam");
  const u = await cam.AddUser({ Name: `regional${++users}`, UseApi: 1 });
  const p = await cam.CreatePolicy({
    PolicyName: `regional${users}`,
    PolicyDocument: JSON.stringify({ version: "2.0", statement: [statement] }),
  });
  await cam.AttachUserPolicy({ PolicyId: p.PolicyId, AttachUin: u.Uin });
  return { secretId: u.SecretId, secretKey: u.SecretKey };
}

test("a sub-user allowed everything on ap-shanghai's resources reaches none of Guangzhou's",
     async () => {
  const creds = await regionUser({
    effect: "allow", action: ["cvm:*", "cbs:*", "vpc:*"],
    resource: [`qcs::cvm:${AWAY}::*`, `qcs::vpc:${AWAY}::*`, `qcs::cbs:${AWAY}::*`],
  });
  await probe(clients(creds, AWAY));
  assert.equal(await homeView(), before_);
});

test("a sub-user allowed everything under cvm:region = ap-shanghai reaches none of Guangzhou's",
     async () => {
  const creds = await regionUser({
    effect: "allow", action: ["cvm:*", "cbs:*", "vpc:*"], resource: "*",
    condition: { string_equal: { "cvm:region": AWAY } },
  });
  await probe(clients(creds, AWAY));
  // The same user in Guangzhou is refused by its condition, whatever the id.
  const e = await clients(creds, HOME).cbs.ModifyDiskAttributes({ DiskIds: [ids.disk],
                                                                   DiskName: "moved" })
    .then(() => null, (err) => err);
  assert.equal(e && e.code, "UnauthorizedOperation");
  assert.equal(await homeView(), before_);
});

test("key pairs are regional: names are free again in another region", async () => {
  const r = await away.cvm.CreateKeyPair({ KeyName: "homekey", ProjectId: 0 });
  assert.notEqual(r.KeyPair.KeyId, ids.key);
  const mine = (await away.cvm.DescribeKeyPairs({})).KeyPairSet.map((k) => k.KeyId);
  assert.deepEqual(mine, [r.KeyPair.KeyId]);
  await away.cvm.DeleteKeyPairs({ KeyIds: [r.KeyPair.KeyId] });
  assert.equal(await homeView(), before_);
});
