// The Tag service (tag 2018-08-13) and the actions the Terraform provider waits on, through the
// official SDK: tags written by create calls are the ones the Tag service reads and the other
// way round, for every kind of resource; paging; every refusal; another account's and another
// region's resources; a sub-user's policies; and DescribeInstancesAttributes,
// DescribeUsedIpAddress and DescribeSecurityGroupAssociationStatistics on real rows.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Daemon, expectCode } = require("./lib/daemon");
const { createDisks } = require("./lib/disks");
const { emptyPublicImage, terminateAll } = require("./lib/instances");

const ZONE = "ap-guangzhou-3";
const REGION = "ap-guangzhou";
const IMAGE = "img-tagsvc01";
let d, work, owner, c, tenant, t;

const clients = (creds) => ({
  tag: d.client("tag", creds), cvm: d.client("cvm", creds), cbs: d.client("cbs", creds),
  vpc: d.client("vpc", creds), cam: d.client("cam", creds),
});

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-tag-it-"));
  const pub = emptyPublicImage(work, IMAGE);
  const conf = path.join(work, "cvmd.toml");
  fs.writeFileSync(conf, "storage_capacity_gb = 10000\n");
  d = new Daemon({ args: ["--config", conf, "--public-images", pub] });
  await d.start();
  c = clients(d.admin);
  owner = (await c.cam.GetUserAppId({})).OwnerUin;
  const other = d.createAccount("tag-tenant");
  t = clients(other);
  tenant = other.uin;
});

after(async () => {
  await terminateAll(c.cvm);
  await d.stop();
  d.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

const name = (service, prefix, id, region = REGION, uin = owner) =>
  `qcs::${service}:${region}:uin/${uin}:${prefix}/${id}`;
const sorted = (tags) => tags.map((x) => `${x.TagKey ?? x.Key}=${x.TagValue ?? x.Value}`).sort();

// One resource of every kind, each created with a tag "made" naming its kind.
async function makeResources(cl = c) {
  const vpc = (await cl.vpc.CreateVpc({ VpcName: "tagged", CidrBlock: "10.20.0.0/16",
                                        Tags: [{ Key: "made", Value: "vpc" }] })).Vpc.VpcId;
  const subnet = (await cl.vpc.CreateSubnet({ VpcId: vpc, SubnetName: "s", CidrBlock: "10.20.1.0/24",
                                              Zone: ZONE, Tags: [{ Key: "made", Value: "subnet" }] }))
    .Subnet.SubnetId;
  const sg = (await cl.vpc.CreateSecurityGroup({ GroupName: "g", GroupDescription: "g",
                                                 Tags: [{ Key: "made", Value: "sg" }] }))
    .SecurityGroup.SecurityGroupId;
  const key = (await cl.cvm.CreateKeyPair({
    KeyName: "tagged", ProjectId: 0,
    TagSpecification: [{ ResourceType: "keypair", Tags: [{ Key: "made", Value: "keypair" }] }],
  })).KeyPair.KeyId;
  const [disk] = (await createDisks(cl.cbs, {
    Placement: { Zone: ZONE }, DiskChargeType: "POSTPAID_BY_HOUR", DiskType: "CLOUD_PREMIUM",
    DiskSize: 10, Tags: [{ Key: "made", Value: "volume" }],
  })).DiskIdSet;
  const snapshot = (await cl.cbs.CreateSnapshot({ DiskId: disk, Tags: [{ Key: "made", Value: "snapshot" }] }))
    .SnapshotId;
  const [instance] = (await cl.cvm.RunInstances({
    Placement: { Zone: ZONE }, ImageId: IMAGE, InstanceType: "T1.NANO1",
    VirtualPrivateCloud: { VpcId: vpc, SubnetId: subnet }, SecurityGroupIds: [sg],
    UserData: Buffer.from("#!/bin/sh\necho tagged\n").toString("base64"),
    TagSpecification: [{ ResourceType: "instance", Tags: [{ Key: "made", Value: "instance" }] }],
  })).InstanceIdSet;
  return { vpc, subnet, sg, key, disk, snapshot, instance };
}

let r;  // the admin's resources

test("tags given at creation are the Tag service's, for every kind of resource", async () => {
  r = await makeResources();
  const kinds = [["vpc", "vpc", r.vpc], ["vpc", "subnet", r.subnet], ["cvm", "sg", r.sg],
                 ["cvm", "keypair", r.key], ["cvm", "volume", r.disk], ["cvm", "snapshot", r.snapshot],
                 ["cvm", "instance", r.instance]];
  for (const [service, prefix, id] of kinds) {
    const got = await c.tag.DescribeResourceTagsByResourceIds({
      ServiceType: service, ResourcePrefix: prefix, ResourceIds: [id], ResourceRegion: REGION,
    });
    assert.equal(got.TotalCount, 1, `${prefix} ${id}`);
    assert.deepEqual([got.Tags[0].ResourceId, got.Tags[0].TagKey, got.Tags[0].TagValue],
                     [id, "made", prefix]);
  }
  // And each service's own answer shows them.
  const made = [{ Key: "made", Value: "volume" }];
  assert.deepEqual((await c.cbs.DescribeDisks({ DiskIds: [r.disk] })).DiskSet[0].Tags, made);
  assert.deepEqual((await c.cbs.DescribeSnapshots({ SnapshotIds: [r.snapshot] })).SnapshotSet[0].Tags,
                   [{ Key: "made", Value: "snapshot" }]);
  assert.deepEqual((await c.cvm.DescribeKeyPairs({ KeyIds: [r.key] })).KeyPairSet[0].Tags,
                   [{ Key: "made", Value: "keypair" }]);
  assert.deepEqual((await c.cvm.DescribeInstances({ InstanceIds: [r.instance] })).InstanceSet[0].Tags,
                   [{ Key: "made", Value: "instance" }]);
});

test("ModifyResourceTags, TagResources, UnTagResources, AddResourceTag and DeleteResourceTag " +
     "change what every answer shows", async () => {
  const vpcName = name("vpc", "vpc", r.vpc);
  await c.tag.ModifyResourceTags({ Resource: vpcName,
                                   ReplaceTags: [{ TagKey: "env", TagValue: "prod" },
                                                 { TagKey: "made", TagValue: "again" }] });
  assert.deepEqual(sorted((await c.vpc.DescribeVpcs({ VpcIds: [r.vpc] })).VpcSet[0].TagSet),
                   ["env=prod", "made=again"]);
  await c.tag.ModifyResourceTags({ Resource: vpcName, DeleteTags: [{ TagKey: "made" }] });
  assert.deepEqual(sorted((await c.vpc.DescribeVpcs({ VpcIds: [r.vpc] })).VpcSet[0].TagSet),
                   ["env=prod"]);
  // The owner segment may be left empty (the caller's own account), as the Terraform provider
  // writes it.
  await c.tag.ModifyResourceTags({ Resource: name("cvm", "instance", r.instance, REGION, ""),
                                   ReplaceTags: [{ TagKey: "env", TagValue: "test" }] });

  const batch = await c.tag.TagResources({
    ResourceList: [name("cvm", "volume", r.disk), name("cvm", "sg", r.sg),
                   name("cvm", "volume", "disk-00000000"), "qcs::cvm:nowhere",
                   name("cvm", "snapshot", r.snapshot, "ap-shanghai"),
                   name("cvm", "keypair", r.key, REGION, tenant)],
    Tags: [{ TagKey: "team", TagValue: "blue" }],
  });
  assert.deepEqual(batch.FailedResources.map((f) => f.Code), [
    "InvalidParameterValue.ResourceIdInvalid", "InvalidParameterValue.ResourceDescriptionError",
    "InvalidParameterValue.ResourceIdInvalid", "InvalidParameterValue.UinInvalid"]);
  assert.deepEqual(sorted((await c.cbs.DescribeDisks({ DiskIds: [r.disk] })).DiskSet[0].Tags),
                   ["made=volume", "team=blue"]);
  // The tag filters of DescribeDisks read the same store.
  const byKey = await c.cbs.DescribeDisks({ Filters: [{ Name: "tag-key", Values: ["team"] }] });
  assert.deepEqual(byKey.DiskSet.map((x) => x.DiskId), [r.disk]);
  const byTag = await c.cbs.DescribeDisks({ Filters: [{ Name: "tag:team", Values: ["red"] }] });
  assert.equal(byTag.TotalCount, 0);

  const un = await c.tag.UnTagResources({ ResourceList: [name("cvm", "volume", r.disk)],
                                         TagKeys: ["team", "absent"] });
  assert.deepEqual(un.FailedResources, []);
  assert.deepEqual(sorted((await c.cbs.DescribeDisks({ DiskIds: [r.disk] })).DiskSet[0].Tags),
                   ["made=volume"]);

  await c.tag.AddResourceTag({ Resource: name("cvm", "keypair", r.key), TagKey: "k", TagValue: "v" });
  await expectCode(c.tag.AddResourceTag({ Resource: name("cvm", "keypair", r.key), TagKey: "k",
                                          TagValue: "w" }), "ResourceInUse.TagKeyAttached");
  await c.tag.DeleteResourceTag({ Resource: name("cvm", "keypair", r.key), TagKey: "k" });
  await expectCode(c.tag.DeleteResourceTag({ Resource: name("cvm", "keypair", r.key), TagKey: "k" }),
                   "ResourceNotFound.AttachedTagKeyNotFound");
});

test("listings: GetResources with tag filters and tokens, keys and values, Offset/Limit paging",
     async () => {
  for (const [prefix, id, service] of [["subnet", r.subnet, "vpc"], ["sg", r.sg, "cvm"],
                                       ["snapshot", r.snapshot, "cvm"]]) {
    await c.tag.ModifyResourceTags({ Resource: name(service, prefix, id),
                                     ReplaceTags: [{ TagKey: "env", TagValue: "prod" }] });
  }
  const prod = await c.tag.GetResources({ TagFilters: [{ TagKey: "env", TagValue: ["prod"] }] });
  const expected = [name("vpc", "vpc", r.vpc), name("vpc", "subnet", r.subnet), name("cvm", "sg", r.sg),
                    name("cvm", "snapshot", r.snapshot)].sort();
  assert.deepEqual(prod.ResourceTagMappingList.map((m) => m.Resource).sort(), expected);
  assert.equal(prod.PaginationToken, "");
  // Two at a time: every resource exactly once.
  let seen = [], token = "";
  do {
    const page = await c.tag.GetResources({ TagFilters: [{ TagKey: "env", TagValue: ["prod"] }],
                                            MaxResults: 2, PaginationToken: token });
    assert.ok(page.ResourceTagMappingList.length <= 2);
    seen = seen.concat(page.ResourceTagMappingList.map((m) => m.Resource));
    token = page.PaginationToken;
  } while (token);
  assert.deepEqual(seen.sort(), expected);
  await expectCode(c.tag.GetResources({ PaginationToken: "next-please" }),
                   "InvalidParameter.PaginationTokenInvalid");
  const named = await c.tag.GetResources({ ResourceList: [name("cvm", "sg", r.sg)] });
  assert.deepEqual(sorted(named.ResourceTagMappingList[0].Tags), ["env=prod", "made=sg", "team=blue"]);

  assert.deepEqual((await c.tag.GetTagKeys({})).TagKeys, ["env", "made", "team"]);
  assert.deepEqual(sorted((await c.tag.GetTagValues({ TagKeys: ["env"] })).Tags), ["env=prod", "env=test"]);
  assert.equal((await c.tag.GetTags({ TagKeys: ["made"] })).Tags.length, 6);  // the VPC's is gone
  const keys = await c.tag.DescribeTagKeys({ Offset: 1, Limit: 1 });
  assert.deepEqual([keys.TotalCount, keys.Tags], [3, ["made"]]);
  const values = await c.tag.DescribeTagValues({ TagKeys: ["made"], Limit: 100 });
  assert.equal(values.TotalCount, 6);
  const rows = await c.tag.DescribeResourceTags({ ServiceType: "cvm", ResourcePrefix: "sg", Limit: 2 });
  assert.deepEqual([rows.TotalCount, rows.Rows.length], [3, 2]);
  assert.ok(rows.Rows.every((x) => x.ResourceId === r.sg && x.ServiceType === "cvm"));
});

test("refusals: malformed names and tags, reserved keys, limits; nothing is written", async () => {
  const vpcName = name("vpc", "vpc", r.vpc);
  const before = sorted((await c.vpc.DescribeVpcs({ VpcIds: [r.vpc] })).VpcSet[0].TagSet);
  const modify = (extra) => c.tag.ModifyResourceTags({ Resource: vpcName, ...extra });
  await expectCode(modify({ ReplaceTags: [{ TagKey: "qcloud:x", TagValue: "1" }] }),
                   "InvalidParameterValue.ReservedTagKey");
  await expectCode(modify({ ReplaceTags: [{ TagKey: "", TagValue: "1" }] }),
                   "InvalidParameterValue.TagKeyEmpty");
  await expectCode(modify({ ReplaceTags: [{ TagKey: "k".repeat(128), TagValue: "1" }] }),
                   "InvalidParameterValue.TagKeyLengthExceeded");
  await expectCode(modify({ ReplaceTags: [{ TagKey: "k", TagValue: "v".repeat(256) }] }),
                   "InvalidParameterValue.TagValueLengthExceeded");
  await expectCode(modify({ ReplaceTags: [{ TagKey: "a\u0001", TagValue: "1" }] }),
                   "InvalidParameterValue.TagKeyCharacterIllegal");
  await expectCode(modify({ ReplaceTags: [{ TagKey: "a", TagValue: "1" }, { TagKey: "a", TagValue: "2" }] }),
                   "InvalidParameterValue.TagKeyDuplicate");
  await expectCode(modify({ ReplaceTags: [{ TagKey: "a", TagValue: "1" }], DeleteTags: [{ TagKey: "a" }] }),
                   "InvalidParameterValue.DeleteTagsParamError");
  const many = Array.from({ length: 50 }, (_, i) => ({ TagKey: `k${i}`, TagValue: "v" }));
  await expectCode(modify({ ReplaceTags: many }), "LimitExceeded.ResourceAttachedTags");
  await expectCode(c.tag.ModifyResourceTags({ Resource: `qcs::vpc:${REGION}:uin/${owner}:vpc`,
                                              ReplaceTags: [{ TagKey: "a", TagValue: "1" }] }),
                   "InvalidParameterValue.ResourceDescriptionError");
  await expectCode(c.tag.ModifyResourceTags({ Resource: name("cdb", "instance", "cdb-12345678"),
                                              ReplaceTags: [{ TagKey: "a", TagValue: "1" }] }),
                   "InvalidParameterValue.ResourceDescriptionError");
  await expectCode(c.tag.DescribeResourceTagsByResourceIds({
    ServiceType: "cdb", ResourcePrefix: "instance", ResourceIds: ["x"], ResourceRegion: REGION,
  }), "InvalidParameterValue.ServiceTypeInvalid");
  await expectCode(c.tag.DescribeResourceTagsByResourceIds({
    ServiceType: "cvm", ResourcePrefix: "vpc", ResourceIds: ["x"], ResourceRegion: REGION,
  }), "InvalidParameterValue.ResourcePrefixInvalid");
  await expectCode(c.tag.DescribeTagKeys({ Limit: 1001 }), "InvalidParameterValue");
  assert.deepEqual(sorted((await c.vpc.DescribeVpcs({ VpcIds: [r.vpc] })).VpcSet[0].TagSet), before);
});

test("accounts and regions confine tags; a deleted resource's tags are gone", async () => {
  // The tenant's own resources, tagged like the admin's.
  const theirs = await makeResources(t);
  const mine = await t.tag.GetTagKeys({});
  assert.deepEqual(mine.TagKeys, ["made"]);
  // The admin's resources are not the tenant's to read or tag, whatever the name says.
  const read = await t.tag.DescribeResourceTagsByResourceIds({
    ServiceType: "vpc", ResourcePrefix: "vpc", ResourceIds: [r.vpc], ResourceRegion: REGION,
  });
  assert.equal(read.TotalCount, 0);
  await expectCode(t.tag.ModifyResourceTags({ Resource: name("vpc", "vpc", r.vpc, REGION, owner),
                                              ReplaceTags: [{ TagKey: "x", TagValue: "y" }] }),
                   "InvalidParameterValue.UinInvalid");
  await expectCode(t.tag.ModifyResourceTags({ Resource: name("vpc", "vpc", r.vpc, REGION, tenant),
                                              ReplaceTags: [{ TagKey: "x", TagValue: "y" }] }),
                   "InvalidParameterValue.ResourceIdInvalid");
  // A name with the wrong region does not reach the resource.
  await expectCode(c.tag.ModifyResourceTags({ Resource: name("vpc", "vpc", r.vpc, "ap-shanghai"),
                                              ReplaceTags: [{ TagKey: "x", TagValue: "y" }] }),
                   "InvalidParameterValue.ResourceIdInvalid");
  assert.equal((await c.tag.GetTagKeys({})).TagKeys.includes("x"), false);

  // Deleting a key pair takes its tags out of every listing.
  await t.cvm.DeleteKeyPairs({ KeyIds: [theirs.key] });
  const left = await t.tag.GetResources({});
  assert.equal(left.ResourceTagMappingList.some((m) => m.Resource.endsWith(theirs.key)), false);
  assert.equal(left.ResourceTagMappingList.length, 6);
  await terminateAll(t.cvm);
});

test("a sub-user's tag actions reach only the resources its policy names", async () => {
  const user = await c.cam.AddUser({ Name: "tagger", UseApi: 1 });
  const policy = await c.cam.CreatePolicy({
    PolicyName: "tag-one-vpc",
    PolicyDocument: JSON.stringify({ version: "2.0", statement: [
      { effect: "allow", action: ["tag:*"], resource: [name("vpc", "vpc", r.vpc)] }] }),
  });
  await c.cam.AttachUserPolicy({ PolicyId: policy.PolicyId, AttachUin: user.Uin });
  const sub = d.client("tag", { secretId: user.SecretId, secretKey: user.SecretKey });
  await sub.ModifyResourceTags({ Resource: name("vpc", "vpc", r.vpc),
                                 ReplaceTags: [{ TagKey: "by", TagValue: "sub" }] });
  await expectCode(sub.ModifyResourceTags({ Resource: name("vpc", "subnet", r.subnet),
                                            ReplaceTags: [{ TagKey: "by", TagValue: "sub" }] }),
                   "UnauthorizedOperation");
  const visible = await sub.GetResources({});
  assert.deepEqual(visible.ResourceTagMappingList.map((m) => m.Resource), [name("vpc", "vpc", r.vpc)]);

  // qcs:request_tag: TagResources anywhere, but only with the tags the condition lists.
  const conditional = await c.cam.CreatePolicy({
    PolicyName: "tag-owner-only",
    PolicyDocument: JSON.stringify({ version: "2.0", statement: [{
      effect: "allow", action: ["tag:TagResources"], resource: ["*"],
      condition: { "for_all_value:string_equal": { "qcs:request_tag": ["owner&sub"] } } }] }),
  });
  await c.cam.AttachUserPolicy({ PolicyId: conditional.PolicyId, AttachUin: user.Uin });
  const subnetName = name("vpc", "subnet", r.subnet);
  await expectCode(sub.TagResources({ ResourceList: [subnetName],
                                      Tags: [{ TagKey: "owner", TagValue: "other" }] }),
                   "UnauthorizedOperation");
  const ok = await sub.TagResources({ ResourceList: [subnetName],
                                      Tags: [{ TagKey: "owner", TagValue: "sub" }] });
  assert.deepEqual(ok.FailedResources, []);
  const tags = (await c.vpc.DescribeSubnets({ SubnetIds: [r.subnet] })).SubnetSet[0].TagSet;
  assert.ok(tags.some((x) => x.Key === "owner" && x.Value === "sub"));
  assert.ok(!tags.some((x) => x.Value === "other"));
});

test("DescribeInstancesAttributes answers the UserData RunInstances took", async () => {
  const got = await c.cvm.DescribeInstancesAttributes({ InstanceIds: [r.instance], Attributes: ["UserData"] });
  assert.deepEqual(got.InstanceSet, [{
    InstanceId: r.instance,
    Attributes: { UserData: Buffer.from("#!/bin/sh\necho tagged\n").toString("base64") },
  }]);
  await expectCode(c.cvm.DescribeInstancesAttributes({ InstanceIds: [r.instance], Attributes: ["Password"] }),
                   "InvalidParameterValue");
  await expectCode(c.cvm.DescribeInstancesAttributes({ InstanceIds: ["ins-bad"], Attributes: ["UserData"] }),
                   "InvalidInstanceId.Malformed");
  await expectCode(t.cvm.DescribeInstancesAttributes({ InstanceIds: [r.instance], Attributes: ["UserData"] }),
                   "InvalidInstanceId.NotFound");
});

test("DescribeUsedIpAddress and DescribeSecurityGroupAssociationStatistics follow the instances",
     async () => {
  const [inst] = (await c.cvm.DescribeInstances({ InstanceIds: [r.instance] })).InstanceSet;
  const ip = inst.PrivateIpAddresses[0];
  const used = await c.vpc.DescribeUsedIpAddress({ VpcId: r.vpc, SubnetId: r.subnet });
  assert.deepEqual(used.IpAddressStates, [{ VpcId: r.vpc, SubnetId: r.subnet, IpAddress: ip,
                                            ResourceType: "CVM", ResourceId: r.instance }]);
  assert.equal(used.TotalCount, 1);
  const other = await c.vpc.DescribeUsedIpAddress({ VpcId: r.vpc, IpAddresses: ["10.20.1.200"] });
  assert.equal(other.TotalCount, 0);
  await expectCode(c.vpc.DescribeUsedIpAddress({ VpcId: r.vpc, IpAddresses: [ip],
                                                 Filters: [{ Name: "ip-addresses", Values: [ip] }] }),
                   "InvalidParameter.Coexist");
  await expectCode(c.vpc.DescribeUsedIpAddress({ VpcId: r.vpc, IpAddresses: ["10.20.1"] }),
                   "InvalidParameterValue.Malformed");
  await expectCode(t.vpc.DescribeUsedIpAddress({ VpcId: r.vpc }), "ResourceNotFound");

  // A second group whose rule names the first: the first is referenced once.
  const g2 = (await c.vpc.CreateSecurityGroup({ GroupName: "g2", GroupDescription: "g2" }))
    .SecurityGroup.SecurityGroupId;
  await c.vpc.CreateSecurityGroupPolicies({ SecurityGroupId: g2, SecurityGroupPolicySet: {
    Ingress: [{ Protocol: "TCP", Port: "22", SecurityGroupId: r.sg, Action: "ACCEPT" }] } });
  const stats = async () => (await c.vpc.DescribeSecurityGroupAssociationStatistics({
    SecurityGroupIds: [r.sg, g2] })).SecurityGroupAssociationStatisticsSet;
  const [s1, s2] = await stats();
  assert.deepEqual([s1.SecurityGroupId, s1.CVM, s1.SG, s1.TotalCount], [r.sg, 1, 1, 2]);
  assert.deepEqual(s1.InstanceStatistics, [{ InstanceType: "CVM", InstanceCount: 1 }]);
  assert.deepEqual([s2.CVM, s2.SG, s2.TotalCount], [0, 0, 0]);
  await expectCode(c.vpc.DescribeSecurityGroupAssociationStatistics({ SecurityGroupIds: ["sg-x"] }),
                   "InvalidSecurityGroupID.Malformed");
  await expectCode(t.vpc.DescribeSecurityGroupAssociationStatistics({ SecurityGroupIds: [r.sg] }),
                   "InvalidSecurityGroupID.NotFound");

  // Terminated: the address and the binding are released.
  await terminateAll(c.cvm);
  assert.equal((await c.vpc.DescribeUsedIpAddress({ VpcId: r.vpc })).TotalCount, 0);
  const [after1] = await stats();
  assert.deepEqual([after1.CVM, after1.SG, after1.TotalCount], [0, 1, 1]);
});
