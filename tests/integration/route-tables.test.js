// Route tables through the official SDK: every VPC's main table with its LOCAL route, custom
// tables (filters, paging, tags), subnet associations, routes to an instance (NORMAL_CVM) made,
// replaced and deleted, every refusal (malformed ids, bad or overlapping blocks, unknown or
// unsupported next hops, the main table, a table in use), isolation between accounts and
// regions, and CAM's name for a table. One instance with an empty disk is the next hop (its
// address is what routes name); traffic through a route is in tests/e2e/route-tables.test.js.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Daemon, expectCode } = require("./lib/daemon");
const { emptyPublicImage, terminateAll } = require("./lib/instances");

const ZONE = "ap-guangzhou-3";
const IMAGE = "img-rtb00001";
let d, vpc, cvm, other, away, work;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-rtb-it-"));
  d = new Daemon({ args: ["--public-images", emptyPublicImage(work, IMAGE)] });
  await d.start();
  vpc = d.client("vpc");
  cvm = d.client("cvm");
  other = d.client("vpc", d.createAccount("rtb-tenant"));
  away = d.client("vpc", d.admin, { region: "ap-shanghai" });
});
after(async () => {
  await terminateAll(cvm);
  await d.stop();
  d.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

const mkVpc = async (name, cidr, client = vpc) =>
  (await client.CreateVpc({ VpcName: name, CidrBlock: cidr })).Vpc.VpcId;
const mkSubnet = async (vpcId, name, cidr, client = vpc) =>
  (await client.CreateSubnet({ VpcId: vpcId, SubnetName: name, CidrBlock: cidr, Zone: ZONE }))
    .Subnet;
const tables = async (params, client = vpc) => (await client.DescribeRouteTables(params));
const table = async (id, client = vpc) =>
  (await tables({ RouteTableIds: [id] }, client)).RouteTableSet[0];
const byVpc = (vpcId, more = []) => ({ Filters: [{ Name: "vpc-id", Values: [vpcId] }, ...more] });
const route = (dest, hop, more = {}) =>
  ({ DestinationCidrBlock: dest, GatewayType: "NORMAL_CVM", GatewayId: hop, ...more });

// A live instance in `subnetId` (an empty disk: nothing boots, the address is held).
async function instanceIn(vpcId, subnetId) {
  const id = (await cvm.RunInstances({
    Placement: { Zone: ZONE }, ImageId: IMAGE, InstanceType: "T1.NANO1",
    VirtualPrivateCloud: { VpcId: vpcId, SubnetId: subnetId },
  })).InstanceIdSet[0];
  const [inst] = (await cvm.DescribeInstances({ InstanceIds: [id] })).InstanceSet;
  return { id, ip: inst.PrivateIpAddresses[0] };
}

test("every VPC has a main table with its LOCAL route, and subnets use it", async () => {
  const v = await mkVpc("main", "10.30.0.0/16");
  const all = await tables(byVpc(v));
  assert.equal(all.TotalCount, 1);
  const [m] = all.RouteTableSet;
  assert.match(m.RouteTableId, /^rtb-[a-z0-9]{8}$/);
  assert.equal(m.VpcId, v);
  assert.equal(m.Main, true);
  assert.match(m.CreatedTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(m.RouteSet.length, 1);
  const local = m.RouteSet[0];
  assert.equal(local.DestinationCidrBlock, "10.30.0.0/16");
  assert.equal(local.GatewayType, "LOCAL");
  assert.equal(local.GatewayId, "Local");
  assert.equal(local.RouteTableId, m.RouteTableId);
  assert.ok(local.RouteId > 0);
  assert.match(local.RouteItemId, /^rti-[a-z0-9]{8}$/);
  assert.deepEqual(m.AssociationSet, []);

  const s = await mkSubnet(v, "s", "10.30.1.0/24");
  assert.equal(s.RouteTableId, m.RouteTableId);
  const [listed] = (await vpc.DescribeSubnets({ SubnetIds: [s.SubnetId] })).SubnetSet;
  assert.equal(listed.RouteTableId, m.RouteTableId);
  const many = (await vpc.CreateSubnets({ VpcId: v, Subnets: [
    { SubnetName: "t", CidrBlock: "10.30.2.0/24", Zone: ZONE }] })).SubnetSet;
  assert.equal(many[0].RouteTableId, m.RouteTableId);
  assert.deepEqual((await table(m.RouteTableId)).AssociationSet.map((a) => a.SubnetId),
                   [s.SubnetId, many[0].SubnetId]);
  // The main table is not deleted; it goes with its VPC, routes, tags and all.
  await expectCode(vpc.DeleteRouteTable({ RouteTableId: m.RouteTableId }),
                   "UnsupportedOperation.DelDefaultRoute");
  await vpc.DeleteVpc({ VpcId: v });
  assert.equal((await tables(byVpc(v))).TotalCount, 0);
  await expectCode(vpc.DescribeRouteTables({ RouteTableIds: [m.RouteTableId] }),
                   "InvalidRouteTableId.NotFound");
});

test("custom tables: create, filters, paging, tags, rename, associate, delete", async () => {
  const v = await mkVpc("custom", "10.31.0.0/16");
  const w = await mkVpc("custom2", "10.32.0.0/16");
  const made = (await vpc.CreateRouteTable({ VpcId: v, RouteTableName: "web",
                                              Tags: [{ Key: "env", Value: "prod" }] })).RouteTable;
  assert.match(made.RouteTableId, /^rtb-[a-z0-9]{8}$/);
  assert.equal(made.Main, false);
  assert.equal(made.RouteTableName, "web");
  assert.deepEqual(made.TagSet, [{ Key: "env", Value: "prod" }]);
  assert.deepEqual(made.RouteSet.map((r) => r.GatewayType), ["LOCAL"]);
  const db = (await vpc.CreateRouteTable({ VpcId: v, RouteTableName: "db" })).RouteTable;
  await vpc.CreateRouteTable({ VpcId: w, RouteTableName: "web" });

  const names = (set) => set.RouteTableSet.map((t) => t.RouteTableName);
  const inV = await tables(byVpc(v));
  assert.equal(inV.TotalCount, 3);
  assert.deepEqual(names(inV), ["default", "web", "db"]);
  const page = await tables({ ...byVpc(v), Offset: "1", Limit: "1" });
  assert.equal(page.TotalCount, 3);
  assert.deepEqual(names(page), ["web"]);
  const f = (name, values) => tables({ Filters: [{ Name: name, Values: values }] });
  assert.equal((await f("route-table-name", ["web"])).TotalCount, 2);
  assert.deepEqual((await f("route-table-id", [db.RouteTableId])).RouteTableSet
    .map((t) => t.RouteTableId), [db.RouteTableId]);
  assert.equal((await f("route-table-id", ["rtb-00000000"])).TotalCount, 0);
  const mains = await tables(byVpc(v, [{ Name: "association.main", Values: ["true"] }]));
  assert.deepEqual(names(mains), ["default"]);
  const nonMain = await tables(byVpc(v, [{ Name: "association.main", Values: ["false"] }]));
  assert.deepEqual(names(nonMain), ["web", "db"]);
  assert.deepEqual(names(await f("tag:env", ["prod"])), ["web"]);
  assert.deepEqual(names(await f("tag-key", ["env"])), ["web"]);
  assert.equal((await f("tag:env", ["dev"])).TotalCount, 0);
  await expectCode(f("colour", ["x"]), "InvalidParameter.FilterInvalidKey");
  await expectCode(vpc.DescribeRouteTables({ RouteTableIds: [db.RouteTableId], ...byVpc(v) }),
                   "InvalidParameter.Coexist");
  await expectCode(vpc.DescribeRouteTables({ Limit: "101" }), "InvalidParameterValue.Range");
  const brief = await tables({ RouteTableIds: [made.RouteTableId], NeedRouterInfo: false });
  assert.deepEqual(brief.RouteTableSet[0].RouteSet, []);

  await vpc.ModifyRouteTableAttribute({ RouteTableId: db.RouteTableId, RouteTableName: "db2" });
  assert.equal((await table(db.RouteTableId)).RouteTableName, "db2");
  await expectCode(vpc.ModifyRouteTableAttribute({ RouteTableId: db.RouteTableId,
                                                   RouteTableName: "x".repeat(61) }),
                   "InvalidParameterValue.TooLong");

  // Associations: a subnet moves to the table, which then cannot be deleted, and back.
  const s = await mkSubnet(v, "s", "10.31.1.0/24");
  const ws = await mkSubnet(w, "ws", "10.32.1.0/24");
  await vpc.ReplaceRouteTableAssociation({ SubnetId: s.SubnetId, RouteTableId: made.RouteTableId });
  assert.deepEqual((await table(made.RouteTableId)).AssociationSet,
                   [{ SubnetId: s.SubnetId, RouteTableId: made.RouteTableId }]);
  const [moved] = (await vpc.DescribeSubnets({ SubnetIds: [s.SubnetId] })).SubnetSet;
  assert.equal(moved.RouteTableId, made.RouteTableId);
  await expectCode(vpc.DeleteRouteTable({ RouteTableId: made.RouteTableId }),
                   "UnsupportedOperation.DelRouteWithSubnet");
  await expectCode(vpc.ReplaceRouteTableAssociation({ SubnetId: ws.SubnetId,
                                                      RouteTableId: made.RouteTableId }),
                   "UnsupportedOperation.VpcMismatch");
  await expectCode(vpc.ReplaceRouteTableAssociation({ SubnetId: "subnet-00000000",
                                                      RouteTableId: made.RouteTableId }),
                   "ResourceNotFound");
  // CreateSubnets may name the table a subnet starts in (of the same VPC only).
  const [born] = (await vpc.CreateSubnets({ VpcId: v, Subnets: [
    { SubnetName: "born", CidrBlock: "10.31.2.0/24", Zone: ZONE, RouteTableId: db.RouteTableId }] }))
    .SubnetSet;
  assert.equal(born.RouteTableId, db.RouteTableId);
  assert.deepEqual((await table(db.RouteTableId)).AssociationSet.map((a) => a.SubnetId),
                   [born.SubnetId]);
  const wTable = (await tables(byVpc(w))).RouteTableSet[0].RouteTableId;
  await expectCode(vpc.CreateSubnets({ VpcId: v, Subnets: [
    { SubnetName: "x", CidrBlock: "10.31.3.0/24", Zone: ZONE, RouteTableId: wTable }] }),
                   "UnsupportedOperation.VpcMismatch");
  await expectCode(vpc.CreateSubnets({ VpcId: v, Subnets: [
    { SubnetName: "x", CidrBlock: "10.31.3.0/24", Zone: ZONE, RouteTableId: "rtb-00000000" }] }),
                   "InvalidRouteTableId.NotFound");
  assert.equal((await vpc.DescribeSubnets(byVpc(v))).TotalCount, 2);  // nothing half-made
  const main = (await tables(byVpc(v, [{ Name: "association.main", Values: ["true"] }])))
    .RouteTableSet[0].RouteTableId;
  await vpc.ReplaceRouteTableAssociation({ SubnetId: s.SubnetId, RouteTableId: main });
  await vpc.DeleteRouteTable({ RouteTableId: made.RouteTableId });
  await expectCode(vpc.DescribeRouteTables({ RouteTableIds: [made.RouteTableId] }),
                   "InvalidRouteTableId.NotFound");
  assert.equal((await f("tag:env", ["prod"])).TotalCount, 0);  // its tags went with it

  // Malformed and unknown ids.
  for (const call of [
    (id) => vpc.DescribeRouteTables({ RouteTableIds: [id] }),
    (id) => vpc.DeleteRouteTable({ RouteTableId: id }),
    (id) => vpc.ModifyRouteTableAttribute({ RouteTableId: id, RouteTableName: "x" }),
    (id) => vpc.ReplaceRouteTableAssociation({ SubnetId: s.SubnetId, RouteTableId: id }),
    (id) => vpc.CreateRoutes({ RouteTableId: id, Routes: [route("192.168.0.0/16", "10.31.1.9")] }),
    (id) => vpc.DeleteRoutes({ RouteTableId: id, Routes: [{ RouteId: 1 }] }),
    (id) => vpc.ReplaceRoutes({ RouteTableId: id,
                                Routes: [{ RouteId: 1, ...route("192.168.0.0/16", "10.31.1.9") }] }),
  ]) {
    await expectCode(call("rtb-BAD"), "InvalidRouteTableId.Malformed");
    await expectCode(call("rtb-00000000"), "InvalidRouteTableId.NotFound");
  }
  await expectCode(vpc.CreateRouteTable({ VpcId: "vpc-00000000", RouteTableName: "x" }),
                   "ResourceNotFound");
  await expectCode(vpc.CreateRouteTable({ VpcId: v, RouteTableName: "" }),
                   "InvalidParameterValue.Empty");
});

test("routes to an instance: create, replace, delete, and every refusal", async () => {
  const v = await mkVpc("routes", "10.33.0.0/16");
  const s = await mkSubnet(v, "s", "10.33.1.0/24");
  const hop = await instanceIn(v, s.SubnetId);
  const hop2 = await instanceIn(v, s.SubnetId);
  const w = await mkVpc("elsewhere", "10.34.0.0/16");
  const elsewhere = await instanceIn(w, (await mkSubnet(w, "e", "10.34.1.0/24")).SubnetId);
  const t = (await vpc.CreateRouteTable({ VpcId: v, RouteTableName: "r" })).RouteTable.RouteTableId;

  const made = await vpc.CreateRoutes({ RouteTableId: t, Routes: [
    route("192.168.77.0/24", hop.ip, { RouteDescription: "to b" }),
    route("0.0.0.0/0", hop2.ip)] });
  assert.equal(made.TotalCount, 2);
  assert.equal(made.RouteTableSet.length, 1);
  const [r1, r2] = made.RouteTableSet[0].RouteSet;  // only the routes just made
  assert.equal(made.RouteTableSet[0].RouteSet.length, 2);
  assert.equal(r1.DestinationCidrBlock, "192.168.77.0/24");
  assert.equal(r1.GatewayType, "NORMAL_CVM");
  assert.equal(r1.GatewayId, hop.ip);
  assert.equal(r1.RouteDescription, "to b");
  assert.equal(r1.RouteType, "USER");
  assert.equal(r1.Enabled, true);
  assert.ok(r2.RouteId > r1.RouteId);
  const listed = (await table(t)).RouteSet;
  assert.deepEqual(listed.map((r) => r.GatewayType), ["LOCAL", "NORMAL_CVM", "NORMAL_CVM"]);
  assert.deepEqual(listed.slice(1).map((r) => r.RouteId), [r1.RouteId, r2.RouteId]);

  const bad = (r) => vpc.CreateRoutes({ RouteTableId: t, Routes: [r] });
  await expectCode(bad(route("192.168.1.1/16", hop.ip)), "InvalidParameterValue.Malformed");
  await expectCode(bad(route("192.168.1.0/33", hop.ip)), "InvalidParameterValue.Malformed");
  await expectCode(bad(route("nonsense", hop.ip)), "InvalidParameterValue.Malformed");
  await expectCode(bad(route("10.33.5.0/24", hop.ip)), "InvalidParameterValue.VpcCidrOverlapRoute");
  await expectCode(bad(route("10.33.0.0/16", hop.ip)), "InvalidParameterValue.VpcCidrOverlapRoute");
  await expectCode(bad(route("192.168.77.0/24", hop2.ip)), "InvalidParameterValue.Duplicate");
  await expectCode(vpc.CreateRoutes({ RouteTableId: t, Routes: [
    route("192.168.9.0/24", hop.ip), route("192.168.9.0/24", hop2.ip)] }),
                   "InvalidParameterValue.Duplicate");
  await expectCode(bad(route("192.168.2.0/24", "10.33.1.250")),
                   "InvalidParameterValue.RouteNextHopInvalid");
  await expectCode(bad(route("192.168.2.0/24", elsewhere.ip)),
                   "InvalidParameterValue.RouteNextHopInvalid");
  await expectCode(bad(route("192.168.2.0/24", "ins-12345678")),
                   "InvalidParameterValue.RouteNextHopInvalid");
  for (const type of ["VPN", "NAT", "EIP", "CCN", "HAVIP", "PEERCONNECTION", "CVM"]) {
    await expectCode(bad(route("192.168.2.0/24", hop.ip, { GatewayType: type })),
                     "UnsupportedOperation.NotSupportRouteType");
  }
  await expectCode(bad(route("192.168.2.0/24", "Local", { GatewayType: "LOCAL" })),
                   "UnsupportedOperation.SystemRoute");
  await expectCode(bad({ DestinationCidrBlock: "192.168.2.0/24", GatewayType: "NORMAL_CVM" }),
                   "MissingParameter");
  // Nothing of a refused batch was stored.
  assert.equal((await table(t)).RouteSet.length, 3);

  // Replace by RouteId and by RouteItemId; the old and new routes are answered.
  const rep = await vpc.ReplaceRoutes({ RouteTableId: t, Routes: [
    { RouteId: r1.RouteId, ...route("192.168.78.0/24", hop2.ip) }] });
  assert.equal(rep.OldRouteSet[0].DestinationCidrBlock, "192.168.77.0/24");
  assert.equal(rep.NewRouteSet[0].DestinationCidrBlock, "192.168.78.0/24");
  assert.equal(rep.NewRouteSet[0].GatewayId, hop2.ip);
  assert.equal(rep.NewRouteSet[0].RouteId, r1.RouteId);
  await vpc.ReplaceRoutes({ RouteTableId: t, Routes: [
    { RouteItemId: r2.RouteItemId, ...route("0.0.0.0/0", hop.ip) }] });
  const after = (await table(t)).RouteSet;
  assert.deepEqual(after.slice(1).map((r) => `${r.DestinationCidrBlock} ${r.GatewayId}`),
                   [`192.168.78.0/24 ${hop2.ip}`, `0.0.0.0/0 ${hop.ip}`]);
  const local = after[0];
  await expectCode(vpc.ReplaceRoutes({ RouteTableId: t, Routes: [
    { RouteId: local.RouteId, ...route("192.168.3.0/24", hop.ip) }] }),
                   "UnsupportedOperation.SystemRoute");
  await expectCode(vpc.ReplaceRoutes({ RouteTableId: t, Routes: [
    { RouteId: r1.RouteId, ...route("0.0.0.0/0", hop.ip) }] }),
                   "InvalidParameterValue.Duplicate");
  await expectCode(vpc.ReplaceRoutes({ RouteTableId: t, Routes: [
    { RouteId: 999999, ...route("192.168.3.0/24", hop.ip) }] }), "InvalidRouteId.NotFound");

  // Delete: by RouteId alone, as the Terraform provider does; the LOCAL route stays.
  await expectCode(vpc.DeleteRoutes({ RouteTableId: t, Routes: [{ RouteId: local.RouteId }] }),
                   "UnsupportedOperation.SystemRoute");
  await expectCode(vpc.DeleteRoutes({ RouteTableId: t, Routes: [{ RouteId: 999999 }] }),
                   "InvalidRouteId.NotFound");
  const del = await vpc.DeleteRoutes({ RouteTableId: t, Routes: [{ RouteId: r1.RouteId }] });
  assert.deepEqual(del.RouteSet.map((r) => r.RouteId), [r1.RouteId]);
  await vpc.DeleteRoutes({ RouteTableId: t, Routes: [{ RouteItemId: r2.RouteItemId }] });
  assert.deepEqual((await table(t)).RouteSet.map((r) => r.GatewayType), ["LOCAL"]);
  // Routes in the main table too.
  const main = (await tables(byVpc(v, [{ Name: "association.main", Values: ["true"] }])))
    .RouteTableSet[0].RouteTableId;
  await vpc.CreateRoutes({ RouteTableId: main, Routes: [route("192.168.0.0/16", hop.ip)] });
  assert.equal((await table(main)).RouteSet.length, 2);
});

test("another account's and another region's tables are not found", async () => {
  const v = await mkVpc("mine", "10.35.0.0/16");
  const t = (await vpc.CreateRouteTable({ VpcId: v, RouteTableName: "mine" })).RouteTable
    .RouteTableId;
  const s = await mkSubnet(v, "s", "10.35.1.0/24");
  const ov = await mkVpc("theirs", "10.35.0.0/16", other);
  const os2 = await mkSubnet(ov, "s", "10.35.1.0/24", other);
  const mine = (await tables({})).TotalCount;
  for (const client of [other, away]) {
    const seen = await tables({}, client);
    assert.ok(seen.RouteTableSet.every((x) => x.VpcId !== v));
    await expectCode(client.DescribeRouteTables({ RouteTableIds: [t] }),
                     "InvalidRouteTableId.NotFound");
    assert.equal((await tables({ Filters: [{ Name: "route-table-id", Values: [t] }] }, client))
      .TotalCount, 0);
    await expectCode(client.DeleteRouteTable({ RouteTableId: t }), "InvalidRouteTableId.NotFound");
    await expectCode(client.ModifyRouteTableAttribute({ RouteTableId: t, RouteTableName: "x" }),
                     "InvalidRouteTableId.NotFound");
    await expectCode(client.CreateRoutes({ RouteTableId: t,
                                           Routes: [route("192.168.0.0/16", "10.35.1.2")] }),
                     "InvalidRouteTableId.NotFound");
    await expectCode(client.CreateRouteTable({ VpcId: v, RouteTableName: "x" }),
                     "ResourceNotFound");
  }
  // Their subnet cannot join my table, nor my subnet theirs.
  const theirs = (await tables(byVpc(ov), other)).RouteTableSet[0].RouteTableId;
  await expectCode(other.ReplaceRouteTableAssociation({ SubnetId: os2.SubnetId, RouteTableId: t }),
                   "InvalidRouteTableId.NotFound");
  await expectCode(vpc.ReplaceRouteTableAssociation({ SubnetId: s.SubnetId, RouteTableId: theirs }),
                   "InvalidRouteTableId.NotFound");
  assert.equal((await tables({})).TotalCount, mine);
  assert.equal((await table(t)).RouteTableName, "mine");
});

test("CAM names a route table qcs::vpc:<region>:uin/<owner>:rtb/<id>", async () => {
  const cam = d.client("cam");
  const owner = String((await cam.GetUserAppId({})).OwnerUin);
  const v = await mkVpc("cam", "10.36.0.0/16");
  const ids = [];
  for (const name of ["a", "b"]) {
    ids.push((await vpc.CreateRouteTable({ VpcId: v, RouteTableName: name })).RouteTable
      .RouteTableId);
  }
  const u = await cam.AddUser({ Name: "rtb-editor", UseApi: 1 });
  const p = await cam.CreatePolicy({
    PolicyName: "rtb-edit",
    PolicyDocument: JSON.stringify({ version: "2.0", statement: [{
      effect: "allow", action: ["vpc:ModifyRouteTableAttribute"],
      resource: [`qcs::vpc:ap-guangzhou:uin/${owner}:rtb/${ids[0]}`] }] }),
  });
  await cam.AttachUserPolicy({ PolicyId: p.PolicyId, AttachUin: u.Uin });
  const editor = d.client("vpc", { secretId: u.SecretId, secretKey: u.SecretKey });
  await editor.ModifyRouteTableAttribute({ RouteTableId: ids[0], RouteTableName: "a2" });
  await expectCode(editor.ModifyRouteTableAttribute({ RouteTableId: ids[1], RouteTableName: "b2" }),
                   "UnauthorizedOperation");
  assert.deepEqual([(await table(ids[0])).RouteTableName, (await table(ids[1])).RouteTableName],
                   ["a2", "b"]);
});

test("the Tag service reads and writes a route table's tags (vpc/rtb)", async () => {
  const tag = d.client("tag");
  const v = await mkVpc("tags", "10.37.0.0/16");
  const t = (await vpc.CreateRouteTable({ VpcId: v, RouteTableName: "t",
                                         Tags: [{ Key: "team", Value: "tf" }] })).RouteTable
    .RouteTableId;
  const read = await tag.DescribeResourceTagsByResourceIds({
    ServiceType: "vpc", ResourcePrefix: "rtb", ResourceIds: [t], ResourceRegion: "ap-guangzhou",
  });
  assert.deepEqual(read.Tags.map((x) => [x.ResourceId, x.TagKey, x.TagValue]), [[t, "team", "tf"]]);
  await tag.ModifyResourceTags({ Resource: `qcs::vpc:ap-guangzhou:uin/:rtb/${t}`,
                                 ReplaceTags: [{ TagKey: "env", TagValue: "prod" }],
                                 DeleteTags: [{ TagKey: "team" }] });
  assert.deepEqual((await table(t)).TagSet, [{ Key: "env", Value: "prod" }]);
});
