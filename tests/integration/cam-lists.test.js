// CAM on list answers: for every list action, a sub-user whose policy allows the action on ONE
// of two real resources sees that one only — in the items, in TotalCount, and page by page
// (Limit 1 with Offset 0 and 1). Each kind is checked with two sub-users, one per resource, so
// whichever of the two the list orders first, a page holds Limit items when enough are visible.
// Instances (which need a launched guest) are in tests/e2e/cam-lists.test.js.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Daemon, expectCode } = require("./lib/daemon");
const { createDisks } = require("./lib/disks");

const ZONE = "ap-guangzhou-3";
const TINY = { Architecture: "x86_64", OsType: "TinyLinux", OsVersion: "1.0" };
let d, work, cvm, cbs, vpc, cam, owner;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-cam-lists-"));
  fs.mkdirSync(path.join(work, "import"));
  const conf = path.join(work, "cvmd.toml");
  fs.writeFileSync(conf, `[images]\nimport_dir = "${work}/import"\n`);
  d = await new Daemon({ args: ["--config", conf] }).start();
  cvm = d.client("cvm");
  cbs = d.client("cbs");
  vpc = d.client("vpc");
  cam = d.client("cam");
  const ids = await cam.GetUserAppId({});
  owner = String(ids.OwnerUin);
  putImportFile(ids.AppId);
});

// Local imports are read from the account's own folder of the import directory.
function putImportFile(appId) {
  const disk = Buffer.alloc(1 << 20);  // the smallest raw disk ImportImage takes: a boot signature
  disk[510] = 0x55;
  disk[511] = 0xaa;
  fs.mkdirSync(path.join(work, "import", String(appId)), { recursive: true });
  fs.writeFileSync(path.join(work, "import", String(appId), "mbr.raw"), disk);
}
after(async () => {
  await d.stop();
  d.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

let users = 0;
// A sub-user allowed `actions` on `resources` only.
async function subUser(actions, resources) {
  const r = await cam.AddUser({ Name: `lister${++users}`, UseApi: 1 });
  const creds = { secretId: r.SecretId, secretKey: r.SecretKey };
  const p = await cam.CreatePolicy({
    PolicyName: `lists${users}`,
    PolicyDocument: JSON.stringify({ version: "2.0", statement: [
      { effect: "allow", action: actions, resource: resources }] }),
  });
  await cam.AttachUserPolicy({ PolicyId: p.PolicyId, AttachUin: r.Uin });
  return { uin: r.Uin, cvm: d.client("cvm", creds), cbs: d.client("cbs", creds),
           vpc: d.client("vpc", creds), cam: d.client("cam", creds) };
}

const res = (service, type, id, region = "ap-guangzhou") =>
  `qcs::${service}:${region}:uin/${owner}:${type}/${id}`;

// `list(client, params)` answers {total, ids}. The root sees both; a sub-user allowed on one
// sees exactly that one, whole and page by page. `make(id)` builds the sub-user's client.
async function checkList({ list, both, allowOn, client }) {
  const root = await list(null, {});
  for (const id of both) assert.ok(root.ids.includes(id), `root sees ${id}`);
  for (const id of both) {
    const u = await allowOn(id);
    const c = client(u);
    const whole = await list(c, {});
    assert.deepEqual(whole.ids, [id], `allowed on ${id}: items`);
    assert.equal(whole.total, 1, `allowed on ${id}: total`);
    const first = await list(c, { offset: 0, limit: 1 });
    assert.deepEqual(first.ids, [id], `allowed on ${id}: first page of 1`);
    assert.equal(first.total, 1);
    const second = await list(c, { offset: 1, limit: 1 });
    assert.deepEqual(second.ids, []);
    assert.equal(second.total, 1);
  }
}

// Tencent's Offset/Limit lists: `set` and `idField` name the answer's items.
function describe(rootClient, action, set, idField, { strings = false, params = {} } = {}) {
  return async (c, { offset, limit }) => {
    const ask = { ...params };
    if (limit !== undefined) {
      ask.Offset = strings ? String(offset) : offset;
      ask.Limit = strings ? String(limit) : limit;
    }
    const r = await (c || rootClient)[action](ask);
    return { total: r.TotalCount, ids: r[set].map((x) => x[idField]) };
  };
}

test("DescribeDisks and DescribeSnapshots", async () => {
  const disks = (await createDisks(cbs, { Placement: { Zone: ZONE }, DiskType: "CLOUD_PREMIUM",
                                          DiskChargeType: "POSTPAID_BY_HOUR", DiskSize: 10,
                                          DiskCount: 2 })).DiskIdSet;
  await checkList({
    list: describe(cbs, "DescribeDisks", "DiskSet", "DiskId"), both: disks,
    allowOn: (id) => subUser(["cbs:DescribeDisks"], [res("cvm", "volume", id)]),
    client: (u) => u.cbs,
  });
  const snaps = [];
  for (const disk of disks) snaps.push((await cbs.CreateSnapshot({ DiskId: disk })).SnapshotId);
  await checkList({
    list: describe(cbs, "DescribeSnapshots", "SnapshotSet", "SnapshotId"), both: snaps,
    allowOn: (id) => subUser(["cbs:DescribeSnapshots"], [res("cvm", "snapshot", id)]),
    client: (u) => u.cbs,
  });
});

test("DescribeImages, an own image and one shared by another account", async () => {
  const waitNormal = async (client, id) => {
    for (let i = 0; i < 300; i++) {
      const [img] = (await client.DescribeImages({ ImageIds: [id] })).ImageSet;
      if (img.ImageState === "NORMAL") return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("image never NORMAL: " + id);
  };
  const mine = (await cvm.ImportImage({ ...TINY, ImageName: "mine", ImageUrl: "mbr.raw" }))
    .ImageId;
  await waitNormal(cvm, mine);
  const tenant = d.createAccount("sharer");
  putImportFile(tenant.appId);
  const theirs = d.client("cvm", tenant);
  const shared = (await theirs.ImportImage({ ...TINY, ImageName: "shared", ImageUrl: "mbr.raw" }))
    .ImageId;
  await waitNormal(theirs, shared);
  await theirs.ModifyImageSharePermission({ ImageId: shared, AccountIds: [owner],
                                            Permission: "SHARE" });
  await checkList({
    list: describe(cvm, "DescribeImages", "ImageSet", "ImageId"), both: [mine, shared],
    allowOn: (id) => subUser(["cvm:DescribeImages"], [res("cvm", "image", id)]),
    client: (u) => u.cvm,
  });
});

test("DescribeKeyPairs", async () => {
  const keys = [];
  for (const name of ["list_a", "list_b"]) {
    keys.push((await cvm.CreateKeyPair({ KeyName: name, ProjectId: 0 })).KeyPair.KeyId);
  }
  await checkList({
    list: describe(cvm, "DescribeKeyPairs", "KeyPairSet", "KeyId"), both: keys,
    allowOn: (id) => subUser(["cvm:DescribeKeyPairs"], [res("cvm", "keypair", id)]),
    client: (u) => u.cvm,
  });
});

test("DescribeVpcs, DescribeSubnets and DescribeSecurityGroups", async () => {
  const vpcs = [];
  for (const [name, cidr] of [["la", "10.10.0.0/16"], ["lb", "10.20.0.0/16"]]) {
    vpcs.push((await vpc.CreateVpc({ VpcName: name, CidrBlock: cidr })).Vpc.VpcId);
  }
  await checkList({
    list: describe(vpc, "DescribeVpcs", "VpcSet", "VpcId", { strings: true }), both: vpcs,
    allowOn: (id) => subUser(["vpc:DescribeVpcs"], [res("vpc", "vpc", id)]),
    client: (u) => u.vpc,
  });
  const subnets = [];
  for (const [name, cidr] of [["sa", "10.10.1.0/24"], ["sb", "10.10.2.0/24"]]) {
    subnets.push((await vpc.CreateSubnet({ VpcId: vpcs[0], SubnetName: name, CidrBlock: cidr,
                                           Zone: ZONE })).Subnet.SubnetId);
  }
  await checkList({
    list: describe(vpc, "DescribeSubnets", "SubnetSet", "SubnetId", { strings: true }),
    both: subnets,
    allowOn: (id) => subUser(["vpc:DescribeSubnets"], [res("vpc", "subnet", id)]),
    client: (u) => u.vpc,
  });
  const groups = [];
  for (const name of ["ga", "gb"]) {
    groups.push((await vpc.CreateSecurityGroup({ GroupName: name, GroupDescription: "" }))
      .SecurityGroup.SecurityGroupId);
  }
  await checkList({
    list: describe(vpc, "DescribeSecurityGroups", "SecurityGroupSet", "SecurityGroupId",
                   { strings: true }),
    both: groups,
    allowOn: (id) => subUser(["vpc:DescribeSecurityGroups"], [res("cvm", "sg", id)]),
    client: (u) => u.vpc,
  });
});

test("DescribeRouteTables", async () => {
  const v = (await vpc.CreateVpc({ VpcName: "lr", CidrBlock: "10.30.0.0/16" })).Vpc.VpcId;
  const tables = [];
  for (const name of ["ra", "rb"]) {
    tables.push((await vpc.CreateRouteTable({ VpcId: v, RouteTableName: name })).RouteTable
      .RouteTableId);
  }
  await checkList({
    list: describe(vpc, "DescribeRouteTables", "RouteTableSet", "RouteTableId", { strings: true }),
    both: tables,
    allowOn: (id) => subUser(["vpc:DescribeRouteTables"], [res("vpc", "rtb", id)]),
    client: (u) => u.vpc,
  });
});

// CAM's Rp/Page lists: Page p of Rp r is Offset (p-1)*r.
function camList(action, set, idField, params = {}) {
  return async (c, { offset, limit }) => {
    const ask = { ...params };
    if (limit !== undefined) {
      ask.Rp = limit;
      ask.Page = offset / limit + 1;
    }
    const r = await (c || cam)[action](ask);
    return { total: r.TotalNum, ids: r[set].map((x) => x[idField]) };
  };
}
const camRes = (type, id) => `qcs::cam::uin/${owner}:${type}/${id}`;

test("CAM lists: ListUsers, ListGroups, ListPolicies", async () => {
  const a = await cam.AddUser({ Name: "listed_a", UseApi: 0 });
  const b = await cam.AddUser({ Name: "listed_b", UseApi: 0 });
  // ListUsers has no paging: only the items are checked.
  for (const user of [a, b]) {
    const u = await subUser(["cam:ListUsers"], [camRes("uin", user.Uin)]);
    assert.deepEqual((await u.cam.ListUsers({})).Data.map((x) => x.Uin), [user.Uin]);
  }
  const groups = [];
  for (const name of ["listed_ga", "listed_gb"]) {
    groups.push((await cam.CreateGroup({ GroupName: name })).GroupId);
  }
  await checkList({
    list: camList("ListGroups", "GroupInfo", "GroupId"), both: groups,
    allowOn: (id) => subUser(["cam:ListGroups"], [camRes("groupid", id)]),
    client: (u) => u.cam,
  });
  const policies = [];
  for (const name of ["listed_pa", "listed_pb"]) {
    policies.push((await cam.CreatePolicy({
      PolicyName: name,
      PolicyDocument: JSON.stringify({ version: "2.0", statement: [
        { effect: "allow", action: "cvm:DescribeZones", resource: "*" }] }),
    })).PolicyId);
  }
  await checkList({
    list: camList("ListPolicies", "List", "PolicyId", { Rp: 200 }), both: policies,
    allowOn: (id) => subUser(["cam:ListPolicies"], [camRes("policyid", id)]),
    client: (u) => u.cam,
  });
});

test("CAM lists about one user or group: ListAccessKeys, ListAttached*Policies", async () => {
  const a = await cam.AddUser({ Name: "keyed_a", UseApi: 1 });
  const b = await cam.AddUser({ Name: "keyed_b", UseApi: 1 });
  const g = (await cam.CreateGroup({ GroupName: "attached_g" })).GroupId;
  const readOnly = (await cam.ListPolicies({ Keyword: "QcloudCVMReadOnlyAccess" })).List[0];
  for (const uin of [a.Uin, b.Uin]) {
    await cam.AttachUserPolicy({ PolicyId: readOnly.PolicyId, AttachUin: uin });
  }
  await cam.AttachGroupPolicy({ PolicyId: readOnly.PolicyId, AttachGroupId: g });
  // Allowed on user a: a's keys and policies; b's are not shown (or the call is refused).
  const u = await subUser(["cam:ListAccessKeys", "cam:ListAttachedUserPolicies"],
                          [camRes("uin", a.Uin)]);
  const keys = await u.cam.ListAccessKeys({ TargetUin: a.Uin });
  assert.deepEqual(keys.AccessKeys.map((k) => k.AccessKeyId), [a.SecretId]);
  const seesNothing = async (call, items) => {
    try {
      assert.deepEqual(items(await call), []);
    } catch (e) {
      if (e.code !== "UnauthorizedOperation") throw e;
    }
  };
  await seesNothing(u.cam.ListAccessKeys({ TargetUin: b.Uin }), (r) => r.AccessKeys);
  const attached = await u.cam.ListAttachedUserPolicies({ TargetUin: a.Uin, Rp: 1, Page: 1 });
  assert.deepEqual(attached.List.map((p) => p.PolicyId), [readOnly.PolicyId]);
  assert.equal(attached.TotalNum, 1);
  await seesNothing(u.cam.ListAttachedUserPolicies({ TargetUin: b.Uin }), (r) => r.List);
  const grouped = await subUser(["cam:ListAttachedGroupPolicies"], [camRes("groupid", g)]);
  const gp = await grouped.cam.ListAttachedGroupPolicies({ TargetGroupId: g });
  assert.deepEqual(gp.List.map((p) => p.PolicyId), [readOnly.PolicyId]);
  assert.equal(gp.TotalNum, 1);
});

test("DescribeAuditEvents: a sub-user sees the records of the users it is allowed on", async () => {
  const a = await subUser(["cvm:DescribeRegions"], ["*"]);
  const b = await subUser(["cvm:DescribeRegions"], ["*"]);
  for (const u of [a, b, a]) await u.cvm.DescribeRegions({});
  // Extension actions are not in the schema a policy's actions are checked against: a pattern.
  const reader = await subUser(["cam:DescribeAudit*"], [camRes("uin", a.uin)]);
  const all = await reader.cam.request("DescribeAuditEvents", { ActionName: "DescribeRegions" });
  assert.deepEqual(all.Events.map((e) => e.CallerUin), [String(a.uin), String(a.uin)]);
  assert.equal(all.TotalCount, 2);
  const second = await reader.cam.request("DescribeAuditEvents",
                                          { ActionName: "DescribeRegions", Offset: 1, Limit: 1 });
  assert.equal(second.Events.length, 1);
  assert.equal(second.TotalCount, 2);
  // The root account sees all three.
  const root = await cam.request("DescribeAuditEvents", { ActionName: "DescribeRegions" });
  assert.equal(root.TotalCount, 3);
  // A policy naming no audit resource the reader may see shows nothing.
  await expectCode(
    (await subUser(["cvm:DescribeZones"], ["*"])).cam.request("DescribeAuditEvents", {}),
    "UnauthorizedOperation");
});
