// VPCs, subnets and security groups through the official SDK and `cvm vpc|subnet|sg`, without
// VMs: CRUD, the overlap rules, ResourceInUse, account isolation, string paging, ordered rules
// with Version checks, refusals that store nothing, and the network checks RunInstances makes
// before anything is created. (Addresses of booted instances, bindings of real instances and
// enforcement on traffic are in tests/e2e.)
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { Daemon, expectCode } = require("./lib/daemon");

let d, vpc, cvm, otherVpc, otherCvm;
const ZONE = "ap-guangzhou-3";
const ZONE4 = "ap-guangzhou-4";

before(async () => {
  d = new Daemon();
  await d.start();
  vpc = d.client("vpc");
  cvm = d.client("cvm");
  const tenant = d.createAccount("vpc-tenant");
  otherVpc = d.client("vpc", tenant);
  otherCvm = d.client("cvm", tenant);
});
after(async () => {
  await d.stop();
  d.cleanup();
});

const mkVpc = (name, cidr, client = vpc) => client.CreateVpc({ VpcName: name, CidrBlock: cidr });
const mkSubnet = (vpcId, name, cidr, zone = ZONE, client = vpc) =>
  client.CreateSubnet({ VpcId: vpcId, SubnetName: name, CidrBlock: cidr, Zone: zone });
const policies = async (sg, client = vpc) =>
  (await client.DescribeSecurityGroupPolicies({ SecurityGroupId: sg })).SecurityGroupPolicySet;
const brief = (p) => `${p.Protocol} ${p.Port} ${p.CidrBlock || p.SecurityGroupId} ${p.Action}`;

test("VPCs: create, describe with string paging and filters, modify, refuse bad blocks", async () => {
  const a = (await mkVpc("alpha", "10.0.0.0/16")).Vpc;
  assert.match(a.VpcId, /^vpc-[a-z0-9]{8}$/);
  assert.equal(a.CidrBlock, "10.0.0.0/16");
  assert.equal(a.IsDefault, false);
  assert.match(a.CreatedTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const b = (await mkVpc("beta", "10.0.0.0/16")).Vpc;  // the same block again: allowed
  await mkVpc("gamma", "192.168.0.0/24");

  await expectCode(mkVpc("bad", "10.0.0.1/16"), "InvalidParameterValue.Malformed");
  await expectCode(mkVpc("bad", "10.0.0.0/33"), "InvalidParameterValue.Malformed");
  await expectCode(mkVpc("bad", "8.8.0.0/16"), "InvalidParameterValue.Range");
  await expectCode(mkVpc("bad", "10.0.0.0/8"), "InvalidParameterValue.Range");
  await expectCode(mkVpc("bad", "10.0.0.0/29"), "InvalidParameterValue.Range");
  await expectCode(mkVpc("x".repeat(61), "10.1.0.0/16"), "InvalidParameterValue.TooLong");

  const all = await vpc.DescribeVpcs({});
  assert.equal(all.TotalCount, 3);
  const page = await vpc.DescribeVpcs({ Offset: "1", Limit: "1" });
  assert.equal(page.TotalCount, 3);
  assert.equal(page.VpcSet.length, 1);
  assert.equal(page.VpcSet[0].VpcId, b.VpcId);
  await expectCode(vpc.DescribeVpcs({ Limit: "101" }), "InvalidParameterValue.Range");
  const fuzzy = await vpc.DescribeVpcs({ Filters: [{ Name: "vpc-name", Values: ["lph"] }] });
  assert.deepEqual(fuzzy.VpcSet.map((v) => v.VpcId), [a.VpcId]);
  const byCidr = await vpc.DescribeVpcs({ Filters: [{ Name: "cidr-block", Values: ["10.0.0.0/16"] }] });
  assert.equal(byCidr.TotalCount, 2);
  await expectCode(vpc.DescribeVpcs({ Filters: [{ Name: "colour", Values: ["x"] }] }),
                   "InvalidParameter.FilterInvalidKey");
  await expectCode(vpc.DescribeVpcs({ VpcIds: [a.VpcId], Filters: [{ Name: "vpc-id", Values: [a.VpcId] }] }),
                   "InvalidParameter.Coexist");

  await vpc.ModifyVpcAttribute({ VpcId: a.VpcId, VpcName: "alpha2", DnsServers: ["10.0.0.2"] });
  const [m] = (await vpc.DescribeVpcs({ VpcIds: [a.VpcId] })).VpcSet;
  assert.equal(m.VpcName, "alpha2");
  assert.deepEqual(m.DnsServerSet, ["10.0.0.2"]);
});

test("subnets: inside the VPC, no overlap within it, /28 minimum, real address counts", async () => {
  const v = (await mkVpc("sub", "10.10.0.0/16")).Vpc.VpcId;
  const w = (await mkVpc("sub2", "10.10.0.0/16")).Vpc.VpcId;
  const s = (await mkSubnet(v, "one", "10.10.1.0/24")).Subnet;
  assert.match(s.SubnetId, /^subnet-[a-z0-9]{8}$/);
  assert.equal(s.TotalIpAddressCount, 253);
  assert.equal(s.AvailableIpAddressCount, 253);
  assert.equal(s.Zone, ZONE);
  await mkSubnet(v, "two", "10.10.2.0/28", ZONE4);
  await mkSubnet(w, "same block, other VPC", "10.10.1.0/24");  // allowed
  await expectCode(mkSubnet(v, "over", "10.10.1.128/25"), "InvalidParameterValue.SubnetOverlap");
  await expectCode(mkSubnet(v, "over", "10.10.0.0/16"), "InvalidParameterValue.SubnetOverlap");
  await expectCode(mkSubnet(v, "out", "10.11.0.0/24"), "InvalidParameterValue.SubnetRange");
  await expectCode(mkSubnet(v, "tiny", "10.10.3.0/29"), "InvalidParameterValue.SubnetRange");
  await expectCode(mkSubnet(v, "bad", "10.10.3.1/24"), "InvalidParameterValue.Malformed");
  await expectCode(mkSubnet(v, "zone", "10.10.3.0/24", "ap-shanghai-2"), "InvalidParameterValue.Range");
  await expectCode(mkSubnet("vpc-00000000", "none", "10.10.3.0/24"), "ResourceNotFound");
  const batch = await vpc.CreateSubnets({ VpcId: v, Subnets: [
    { SubnetName: "b1", CidrBlock: "10.10.4.0/24", Zone: ZONE },
    { SubnetName: "b2", CidrBlock: "10.10.4.128/25", Zone: ZONE }] }).catch((e) => e);
  assert.equal(batch.code, "InvalidParameterValue.SubnetOverlap");  // the batch overlaps itself
  const list = await vpc.DescribeSubnets({ Filters: [{ Name: "vpc-id", Values: [v] }] });
  assert.deepEqual(list.SubnetSet.map((x) => x.SubnetName).sort(), ["one", "two"]);  // b1 not kept
  const zone4 = await vpc.DescribeSubnets({ Filters: [{ Name: "zone", Values: [ZONE4] }] });
  assert.deepEqual(zone4.SubnetSet.map((x) => x.CidrBlock), ["10.10.2.0/28"]);
  assert.equal(zone4.SubnetSet[0].TotalIpAddressCount, 13);
  const paged = await vpc.DescribeSubnets({ Offset: "2", Limit: "2" });
  assert.equal(paged.TotalCount, 3);
  assert.equal(paged.SubnetSet.length, 1);
  await vpc.ModifySubnetAttribute({ SubnetId: s.SubnetId, SubnetName: "renamed" });
  assert.equal((await vpc.DescribeSubnets({ SubnetIds: [s.SubnetId] })).SubnetSet[0].SubnetName,
               "renamed");

  await vpc.DeleteSubnet({ SubnetId: s.SubnetId });
  await expectCode(vpc.DeleteSubnet({ SubnetId: s.SubnetId }), "ResourceNotFound");
  await vpc.DeleteVpc({ VpcId: v });  // takes its remaining empty subnet along
  assert.equal((await vpc.DescribeSubnets({ Filters: [{ Name: "vpc-id", Values: [v] }] })).TotalCount, 0);
  await expectCode(vpc.DeleteVpc({ VpcId: v }), "ResourceNotFound");
  await expectCode(vpc.DeleteVpc({ VpcId: "vpc-BAD" }), "InvalidVpcId.Malformed");
});

test("another account sees none of it, and may use the same blocks", async () => {
  const mine = (await mkVpc("mine", "172.20.0.0/16")).Vpc.VpcId;
  const sub = (await mkSubnet(mine, "mine", "172.20.0.0/24")).Subnet.SubnetId;
  const sg = (await vpc.CreateSecurityGroup({ GroupName: "mine", GroupDescription: "" }))
    .SecurityGroup.SecurityGroupId;
  assert.equal((await otherVpc.DescribeVpcs({})).TotalCount, 0);
  assert.equal((await otherVpc.DescribeSubnets({})).TotalCount, 0);
  assert.equal((await otherVpc.DescribeSecurityGroups({})).TotalCount, 0);
  await expectCode(otherVpc.DescribeVpcs({ VpcIds: [mine] }), "ResourceNotFound");
  await expectCode(otherVpc.DeleteVpc({ VpcId: mine }), "ResourceNotFound");
  await expectCode(otherVpc.DeleteSubnet({ SubnetId: sub }), "ResourceNotFound");
  await expectCode(mkSubnet(mine, "theirs", "172.20.1.0/24", ZONE, otherVpc), "ResourceNotFound");
  await expectCode(otherVpc.DeleteSecurityGroup({ SecurityGroupId: sg }),
                   "InvalidSecurityGroupID.NotFound");
  await expectCode(otherVpc.DescribeSecurityGroupPolicies({ SecurityGroupId: sg }),
                   "InvalidSecurityGroupID.NotFound");
  // Their own group may not name mine as a peer either.
  const theirs = (await otherVpc.CreateSecurityGroup({ GroupName: "t", GroupDescription: "" }))
    .SecurityGroup.SecurityGroupId;
  await expectCode(otherVpc.CreateSecurityGroupPolicies({ SecurityGroupId: theirs,
    SecurityGroupPolicySet: { Ingress: [{ Protocol: "TCP", Port: "22", SecurityGroupId: sg,
                                          Action: "ACCEPT" }] } }),
                   "InvalidSecurityGroupID.NotFound");
  const t = (await mkVpc("theirs", "172.20.0.0/16", otherVpc)).Vpc.VpcId;
  await mkSubnet(t, "theirs", "172.20.0.0/24", ZONE, otherVpc);
  assert.equal((await vpc.DescribeVpcs({ Filters: [{ Name: "vpc-id", Values: [t] }] })).TotalCount, 0);
});

test("security groups: ordered rules, Version, insert/replace/delete, whole-set modify", async () => {
  const g = (await vpc.CreateSecurityGroup({ GroupName: "web", GroupDescription: "front" }))
    .SecurityGroup;
  assert.match(g.SecurityGroupId, /^sg-[a-z0-9]{8}$/);
  assert.equal(g.IsDefault, false);
  assert.equal(g.ProjectId, "0");
  const sg = g.SecurityGroupId;
  let set = await policies(sg);
  assert.equal(set.Version, "0");  // a string, as Tencent answers it
  assert.deepEqual(set.Ingress, []);  // a new group admits nothing
  const add = (Ingress, extra = {}) =>
    vpc.CreateSecurityGroupPolicies({ SecurityGroupId: sg,
                                      SecurityGroupPolicySet: { Ingress, ...extra } });
  const tcp = (port, cidr = "0.0.0.0/0", action = "ACCEPT") =>
    ({ Protocol: "TCP", Port: port, CidrBlock: cidr, Action: action });

  await add([tcp("22"), tcp("80")]);
  await add([tcp("443")]);  // appended
  await add([{ ...tcp("8080", "10.0.0.0/8", "drop"), PolicyIndex: 0 }]);  // at the top
  await add([{ ...tcp("25"), PolicyIndex: 2 }], { Version: "3" });
  set = await policies(sg);
  assert.equal(set.Version, "4");
  assert.deepEqual(set.Ingress.map(brief), ["TCP 8080 10.0.0.0/8 DROP", "TCP 22 0.0.0.0/0 ACCEPT",
    "TCP 25 0.0.0.0/0 ACCEPT", "TCP 80 0.0.0.0/0 ACCEPT", "TCP 443 0.0.0.0/0 ACCEPT"]);
  assert.deepEqual(set.Ingress.map((p) => p.PolicyIndex), [0, 1, 2, 3, 4]);
  assert.match(set.Ingress[0].ModifyTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(set.PolicyStatistics.IngressIPv4TotalCount, 5);

  await expectCode(add([tcp("3306")], { Version: "3" }), "UnsupportedOperation.VersionMismatch");
  await expectCode(add([tcp("22")]), "UnsupportedOperation.DuplicatePolicy");
  await expectCode(add([{ ...tcp("1"), PolicyIndex: 9 }]), "InvalidParameterValue.Range");
  await expectCode(vpc.CreateSecurityGroupPolicies({ SecurityGroupId: sg, SecurityGroupPolicySet:
    { Ingress: [tcp("1")], Egress: [tcp("2")] } }), "InvalidParameter.Coexist");

  await vpc.ReplaceSecurityGroupPolicy({ SecurityGroupId: sg, SecurityGroupPolicySet:
    { Ingress: [{ ...tcp("26"), PolicyIndex: 2 }] } });
  await vpc.DeleteSecurityGroupPolicies({ SecurityGroupId: sg, SecurityGroupPolicySet:
    { Ingress: [{ PolicyIndex: 0 }], Version: "5" } });
  await vpc.DeleteSecurityGroupPolicies({ SecurityGroupId: sg, SecurityGroupPolicySet:
    { Ingress: [tcp("80")] } });  // by content
  await expectCode(vpc.DeleteSecurityGroupPolicies({ SecurityGroupId: sg, SecurityGroupPolicySet:
    { Ingress: [{ PolicyIndex: 0 }, tcp("443")] } }), "InvalidParameter.Coexist");
  await expectCode(vpc.DeleteSecurityGroupPolicies({ SecurityGroupId: sg, SecurityGroupPolicySet:
    { Ingress: [tcp("9999")] } }), "ResourceNotFound");
  set = await policies(sg);
  assert.equal(set.Version, "7");
  assert.deepEqual(set.Ingress.map(brief), ["TCP 22 0.0.0.0/0 ACCEPT", "TCP 26 0.0.0.0/0 ACCEPT",
                                            "TCP 443 0.0.0.0/0 ACCEPT"]);
  const inbound = await vpc.DescribeSecurityGroupPolicies({ SecurityGroupId: sg,
    Filters: [{ Name: "port", Values: ["26"] }] });
  assert.deepEqual(inbound.SecurityGroupPolicySet.Ingress.map((p) => p.PolicyIndex), [1]);

  await vpc.ModifySecurityGroupPolicies({ SecurityGroupId: sg, SecurityGroupPolicySet: {
    Version: "7",
    Ingress: [{ Protocol: "udp", Port: "53,5353", CidrBlock: "10.1.2.3/8", Action: "Accept" },
              { Protocol: "ICMP", Port: "ALL", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }],
    Egress: [{ Protocol: "ALL", Port: "ALL", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }] } });
  set = await policies(sg);
  assert.equal(set.Version, "8");
  assert.deepEqual(set.Ingress.map(brief), ["UDP 53,5353 10.0.0.0/8 ACCEPT",
                                            "ICMP ALL 0.0.0.0/0 ACCEPT"]);
  assert.deepEqual(set.Egress.map(brief), ["ALL ALL 0.0.0.0/0 ACCEPT"]);
  await expectCode(vpc.ModifySecurityGroupPolicies({ SecurityGroupId: sg, SecurityGroupPolicySet:
    { Ingress: [] } }), "MissingParameter");
  await vpc.ModifySecurityGroupPolicies({ SecurityGroupId: sg,
                                          SecurityGroupPolicySet: { Version: "0" } });
  set = await policies(sg);
  assert.deepEqual([set.Ingress, set.Egress, set.Version], [[], [], "9"]);

  await vpc.ModifySecurityGroupAttribute({ SecurityGroupId: sg, GroupName: "web2" });
  const listed = await vpc.DescribeSecurityGroups({ SecurityGroupIds: [sg] });
  assert.equal(listed.SecurityGroupSet[0].SecurityGroupName, "web2");
  assert.equal(listed.SecurityGroupSet[0].SecurityGroupDesc, "front");
});

test("invalid rules are refused and store nothing (Version unchanged)", async () => {
  const sg = (await vpc.CreateSecurityGroupWithPolicies({ GroupName: "strict", GroupDescription: "",
    SecurityGroupPolicySet: { Ingress: [{ Protocol: "TCP", Port: "22", CidrBlock: "0.0.0.0/0",
                                          Action: "ACCEPT" }] } })).SecurityGroup.SecurityGroupId;
  const before = await policies(sg);
  assert.equal(before.Ingress.length, 1);
  const good = { Protocol: "TCP", Port: "80", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" };
  const cases = [
    [{ ...good, CidrBlock: "10.0.0.0/33" }, "InvalidParameterValue.Malformed"],
    [{ ...good, CidrBlock: "banana" }, "InvalidParameterValue.Malformed"],
    [{ ...good, Port: "70000" }, "InvalidParameterValue.Range"],
    [{ ...good, Port: "0" }, "InvalidParameterValue.Range"],
    [{ ...good, Port: "80-70" }, "InvalidParameterValue.Range"],
    [{ ...good, Protocol: "SCTP" }, "InvalidParameterValue"],
    [{ ...good, Protocol: "ICMP" }, "InvalidParameterValue"],  // a port on ICMP
    [{ ...good, SecurityGroupId: sg }, "InvalidParameter.Coexist"],  // two sources
    [{ ...good, CidrBlock: undefined }, "InvalidParameter.Coexist"],  // none
    [{ ...good, Action: "MAYBE" }, "InvalidParameterValue"],
    [{ ...good, CidrBlock: undefined, SecurityGroupId: "sg-00000000" },
     "InvalidSecurityGroupID.NotFound"],
  ];
  for (const [rule, code] of cases) {
    // A good rule first in the same call: it must not be stored either.
    await expectCode(vpc.CreateSecurityGroupPolicies({ SecurityGroupId: sg,
      SecurityGroupPolicySet: { Ingress: [{ ...good, Port: "8443" }, rule] } }), code);
    await expectCode(vpc.ModifySecurityGroupPolicies({ SecurityGroupId: sg,
      SecurityGroupPolicySet: { Ingress: [rule], Egress: [] } }), code);
  }
  await expectCode(vpc.ReplaceSecurityGroupPolicy({ SecurityGroupId: sg, SecurityGroupPolicySet:
    { Ingress: [{ ...good, Port: "70000", PolicyIndex: 0 }] } }), "InvalidParameterValue.Range");
  await expectCode(vpc.CreateSecurityGroupWithPolicies({ GroupName: "bad", GroupDescription: "",
    SecurityGroupPolicySet: { Ingress: [{ ...good, Port: "70000" }] } }),
                   "InvalidParameterValue.Range");
  assert.deepEqual(await policies(sg), before);
  const names = (await vpc.DescribeSecurityGroups({})).SecurityGroupSet.map((g) => g.SecurityGroupName);
  assert.ok(!names.includes("bad"));
});

test("tags are kept and filter; a direction holds at most 100 rules", async () => {
  const tagged = (await vpc.CreateVpc({ VpcName: "tagged", CidrBlock: "10.40.0.0/16",
                                        Tags: [{ Key: "env", Value: "prod" }] })).Vpc;
  assert.deepEqual(tagged.TagSet, [{ Key: "env", Value: "prod" }]);
  const byTag = await vpc.DescribeVpcs({ Filters: [{ Name: "tag:env", Values: ["prod"] }] });
  assert.deepEqual(byTag.VpcSet.map((v) => v.VpcId), [tagged.VpcId]);
  assert.equal((await vpc.DescribeVpcs({ Filters: [{ Name: "tag:env", Values: ["dev"] }] }))
    .TotalCount, 0);
  assert.equal((await vpc.DescribeVpcs({ Filters: [{ Name: "tag-key", Values: ["env"] }] }))
    .TotalCount, 1);
  const sg = (await vpc.CreateSecurityGroup({ GroupName: "many", GroupDescription: "",
                                              Tags: [{ Key: "team", Value: "a" }] }))
    .SecurityGroup.SecurityGroupId;
  const bySgTag = await vpc.DescribeSecurityGroups({ Filters: [{ Name: "tag:team", Values: ["a"] }] });
  assert.deepEqual(bySgTag.SecurityGroupSet.map((g) => g.SecurityGroupId), [sg]);
  const rules = (n) => Array.from({ length: n }, (_, i) =>
    ({ Protocol: "TCP", Port: String(i + 1), CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }));
  await vpc.ModifySecurityGroupPolicies({ SecurityGroupId: sg,
    SecurityGroupPolicySet: { Ingress: rules(100), Egress: [] } });
  await expectCode(vpc.CreateSecurityGroupPolicies({ SecurityGroupId: sg, SecurityGroupPolicySet:
    { Ingress: [{ Protocol: "UDP", Port: "1", CidrBlock: "0.0.0.0/0", Action: "ACCEPT" }] } }),
                   "LimitExceeded.SecurityGroupPolicySet");
  await expectCode(vpc.ModifySecurityGroupPolicies({ SecurityGroupId: sg,
    SecurityGroupPolicySet: { Ingress: rules(101), Egress: [] } }),
                   "LimitExceeded.SecurityGroupPolicySet");
  const set = await policies(sg);
  assert.equal(set.Ingress.length, 100);
  assert.equal(set.Version, "1");
});

test("a group is not deleted while another group's rule references it", async () => {
  const mk = async (name) => (await vpc.CreateSecurityGroup({ GroupName: name,
    GroupDescription: "" })).SecurityGroup.SecurityGroupId;
  const db = await mk("db"), app = await mk("app");
  await vpc.CreateSecurityGroupPolicies({ SecurityGroupId: db, SecurityGroupPolicySet:
    { Ingress: [{ Protocol: "TCP", Port: "5432", SecurityGroupId: app, Action: "ACCEPT" },
                { Protocol: "TCP", Port: "22", SecurityGroupId: db, Action: "ACCEPT" }] } });
  const refs = await vpc.DescribeSecurityGroupReferences({ SecurityGroupIds: [app, db] });
  assert.deepEqual(refs.ReferredSecurityGroupSet, [
    { SecurityGroupId: app, ReferredSecurityGroupIds: [db] },
    { SecurityGroupId: db, ReferredSecurityGroupIds: [] }]);
  await expectCode(vpc.DeleteSecurityGroup({ SecurityGroupId: app }), "ResourceInUse");
  await vpc.DeleteSecurityGroupPolicies({ SecurityGroupId: db, SecurityGroupPolicySet:
    { Ingress: [{ PolicyIndex: 0 }] } });
  await vpc.DeleteSecurityGroup({ SecurityGroupId: app });
  await vpc.DeleteSecurityGroup({ SecurityGroupId: db });  // its self-reference does not hold it
  await expectCode(vpc.DeleteSecurityGroup({ SecurityGroupId: db }), "InvalidSecurityGroupID.NotFound");
  await expectCode(vpc.DeleteSecurityGroup({ SecurityGroupId: "sg-x" }), "InvalidSecurityGroupID.Malformed");
});

test("RunInstances checks the network first and leaves nothing behind when refused", async () => {
  const v = (await mkVpc("run", "10.20.0.0/16")).Vpc.VpcId;
  const s3 = (await mkSubnet(v, "z3", "10.20.3.0/24")).Subnet.SubnetId;
  const s4 = (await mkSubnet(v, "z4", "10.20.4.0/24", ZONE4)).Subnet.SubnetId;
  const w = (await mkVpc("run2", "10.20.0.0/16")).Vpc.VpcId;
  const run = (extra) => cvm.RunInstances({ Placement: { Zone: ZONE }, ImageId: "img-00000000",
                                            InstanceType: "S5.SMALL1", ...extra });
  const net = (VpcId, SubnetId, more = {}) => ({ VirtualPrivateCloud: { VpcId, SubnetId, ...more } });
  await expectCode(run(net("vpc-00000000", s3)), "InvalidParameterValue.VpcIdNotExist");
  await expectCode(run(net(v, "subnet-00000000")), "InvalidParameterValue.SubnetNotExist");
  await expectCode(run(net(w, s3)), "InvalidParameterValue.VpcIdSubnetIdNotMatch");
  await expectCode(run(net(v, s4)), "InvalidParameterValue.SubnetIdZoneIdNotMatch");
  await expectCode(run(net("vpc-BAD", s3)), "InvalidParameterValue.VpcIdMalformed");
  await expectCode(run(net(v, s3, { PrivateIpAddresses: ["10.20.3"] })),
                   "InvalidParameterValue.IPAddressMalformed");
  await expectCode(run(net(v, s3, { PrivateIpAddresses: ["10.20.3.9"] })), "InvalidImageId.NotFound");
  await expectCode(run({ ...net(v, s3, { PrivateIpAddresses: ["10.20.3.9"] }), InstanceCount: 2 }),
                   "InvalidParameterValue");
  // Other accounts' networks and groups are not found.
  await expectCode(otherCvm.RunInstances({ Placement: { Zone: ZONE }, ImageId: "img-00000000",
                                           ...net(v, s3) }), "InvalidParameterValue.VpcIdNotExist");
  await expectCode(run({ SecurityGroupIds: ["sg-00000000"] }), "InvalidSecurityGroupId.NotFound");
  const groups = [];
  for (let i = 0; i < 6; i++) {
    groups.push((await vpc.CreateSecurityGroup({ GroupName: `g${i}`, GroupDescription: "" }))
      .SecurityGroup.SecurityGroupId);
  }
  await expectCode(run({ SecurityGroupIds: groups }), "LimitExceeded.AssociateUSGLimitExceeded");
  // Valid network, missing image: the default VPC, subnet and group made on the way are undone.
  await expectCode(run({}), "InvalidImageId.NotFound");
  await expectCode(run({ VirtualPrivateCloud: { VpcId: "DEFAULT", SubnetId: "DEFAULT" } }),
                   "InvalidImageId.NotFound");
  const defaults = await vpc.DescribeVpcs({ Filters: [{ Name: "is-default", Values: ["true"] }] });
  assert.equal(defaults.TotalCount, 0);
  const sgs = (await vpc.DescribeSecurityGroups({})).SecurityGroupSet;
  assert.ok(sgs.every((g) => !g.IsDefault));
  // The bindings' CVM side refuses unknown instances and groups.
  await expectCode(cvm.AssociateSecurityGroups({ InstanceIds: ["ins-00000000"],
                                                 SecurityGroupIds: [groups[0]] }),
                   "InvalidInstanceId.NotFound");
  await expectCode(cvm.AssociateSecurityGroups({ InstanceIds: ["ins-00000000"],
                                                 SecurityGroupIds: ["sg-00000000"] }),
                   "InvalidSecurityGroupId.NotFound");
  await expectCode(cvm.ModifyInstancesAttribute({ InstanceIds: ["ins-00000000"],
                                                  SecurityGroups: [groups[0]] }),
                   "InvalidInstanceId.NotFound");
  const filtered = await cvm.DescribeInstances({ Filters: [{ Name: "vpc-id", Values: [v] }] });
  assert.equal(filtered.TotalCount, 0);
});

test("cvm vpc, subnet and sg verbs", () => {
  const ok = (args) => {
    const r = d.cli(args);
    assert.equal(r.code, 0, `cvm ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const made = JSON.parse(ok(["-o", "json", "vpc", "create", "--name", "cli", "--cidr", "10.30.0.0/16"]));
  const v = made.Vpc.VpcId;
  assert.match(ok(["vpc", "ls"]), new RegExp(`${v}\\s+cli\\s+10\\.30\\.0\\.0/16`));
  const s = JSON.parse(ok(["-o", "json", "subnet", "create", v, "--name", "cs",
                           "--cidr", "10.30.1.0/24"])).Subnet.SubnetId;
  assert.match(ok(["subnet", "ls", "--vpc", v]), new RegExp(`${s}\\s+cs\\s+${v}\\s+10\\.30\\.1\\.0/24`));
  const bad = d.cli(["subnet", "create", v, "--name", "x", "--cidr", "10.30.1.0/25"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /InvalidParameterValue\.SubnetOverlap/);

  const sg = JSON.parse(ok(["-o", "json", "sg", "create", "cli-sg", "--description", "d"]))
    .SecurityGroup.SecurityGroupId;
  assert.match(ok(["sg", "ls"]), new RegExp(`${sg}\\s+cli-sg`));
  ok(["sg", "rule", "add", sg, "--port", "22", "--source", "10.0.0.0/8"]);
  ok(["sg", "rule", "add", sg, "--port", "80", "--source", "0.0.0.0/0", "--action", "DROP",
      "--index", "0"]);
  ok(["sg", "rule", "add", sg, "--egress", "--protocol", "ALL", "--source", "0.0.0.0/0"]);
  const rules = JSON.parse(ok(["-o", "json", "sg", "rule", "ls", sg]));
  assert.equal(rules.Version, "3");
  assert.deepEqual(rules.Ingress.map(brief), ["TCP 80 0.0.0.0/0 DROP", "TCP 22 10.0.0.0/8 ACCEPT"]);
  assert.deepEqual(rules.Egress.map(brief), ["ALL ALL 0.0.0.0/0 ACCEPT"]);
  assert.match(ok(["sg", "rule", "ls", sg]), /Ingress\s+0\s+TCP\s+80\s+0\.0\.0\.0\/0\s+DROP/);
  const refused = d.cli(["sg", "rule", "add", sg, "--port", "70000", "--source", "0.0.0.0/0"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /InvalidParameterValue\.Range/);
  ok(["sg", "rule", "rm", sg, "0"]);
  const after = JSON.parse(ok(["-o", "json", "sg", "rule", "ls", sg]));
  assert.equal(after.Version, "4");
  assert.deepEqual(after.Ingress.map(brief), ["TCP 22 10.0.0.0/8 ACCEPT"]);
  const attach = d.cli(["sg", "attach", "ins-00000000", sg]);
  assert.equal(attach.code, 1);
  assert.match(attach.stderr, /InvalidInstanceId\.NotFound/);
  ok(["sg", "rm", sg]);
  ok(["subnet", "rm", s]);
  ok(["vpc", "rm", v]);
  assert.doesNotMatch(ok(["vpc", "ls"]), new RegExp(v));
});
