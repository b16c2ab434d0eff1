// CAM: sub-users, groups, policies and keys through the official SDK's cam client, and their
// enforcement on every service's actions. No VM boots here: resource-level checks use
// well-formed ids that do not exist, because the policy decision comes before any lookup (an
// allowed call then fails with NotFound, a denied one with UnauthorizedOperation).
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { Daemon, expectCode } = require("./lib/daemon");

let d;
let cam;
before(async () => {
  d = await new Daemon().start();
  cam = d.client("cam");
});
after(async () => { await d.stop(); d.cleanup(); });

let userCount = 0;
// A fresh sub-user with an API key; returns its credentials and clients.
async function subUser(rootCam = cam) {
  const name = `dev${++userCount}`;
  const r = await rootCam.AddUser({ Name: name, UseApi: 1 });
  assert.match(r.SecretId, /^AKID/);
  const creds = { secretId: r.SecretId, secretKey: r.SecretKey };
  return {
    name, uin: r.Uin, uid: r.Uid, creds,
    cvm: d.client("cvm", creds), cbs: d.client("cbs", creds), vpc: d.client("vpc", creds),
    cam: d.client("cam", creds),
  };
}

const presetIds = {};
async function presetId(name) {
  if (!presetIds[name]) {
    const all = await cam.ListPolicies({ Scope: "QCS", Rp: 200 });
    for (const p of all.List) presetIds[p.PolicyName] = p.PolicyId;
  }
  return presetIds[name];
}

let policyCount = 0;
async function policy(statements, client = cam) {
  const r = await client.CreatePolicy({
    PolicyName: `p${++policyCount}`,
    PolicyDocument: JSON.stringify({ version: "2.0", statement: statements }),
  });
  return r.PolicyId;
}

async function attach(user, policyId, client = cam) {
  await client.AttachUserPolicy({ PolicyId: policyId, AttachUin: user.uin });
}

test("a sub-user without policies is denied everything", async () => {
  const u = await subUser();
  const e = await expectCode(u.cvm.DescribeZones({}), "UnauthorizedOperation");
  assert.match(e.message, /cvm:DescribeZones/);
  await expectCode(u.cvm.DescribeInstances({}), "UnauthorizedOperation");
  await expectCode(u.cbs.DescribeDisks({}), "UnauthorizedOperation");
  await expectCode(u.cam.ListUsers({}), "UnauthorizedOperation");
  await expectCode(u.cam.GetUserAppId({}), "UnauthorizedOperation");
});

test("with QcloudCVMReadOnlyAccess a sub-user can describe but not run", async () => {
  const u = await subUser();
  await attach(u, await presetId("QcloudCVMReadOnlyAccess"));
  const zones = await u.cvm.DescribeZones({});
  assert.ok(zones.TotalCount >= 1);
  const instances = await u.cvm.DescribeInstances({});
  assert.equal(instances.TotalCount, 0);
  const e = await expectCode(
    u.cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" }, ImageId: "img-aaaaaaaa" }),
    "UnauthorizedOperation");
  assert.match(e.message, /cvm:RunInstances/);
  await expectCode(u.cvm.StopInstances({ InstanceIds: ["ins-aaaaaaaa"] }),
                   "UnauthorizedOperation");
  const attached = await cam.ListAttachedUserPolicies({ TargetUin: u.uin });
  assert.equal(attached.TotalNum, 1);
  assert.equal(attached.List[0].PolicyName, "QcloudCVMReadOnlyAccess");
  assert.equal(attached.List[0].PolicyType, "QCS");
});

test("a resource-level policy lets a sub-user act on one instance and not another", async () => {
  const u = await subUser();
  const owner = (await cam.GetUserAppId({})).OwnerUin;
  await attach(u, await policy([{
    effect: "allow", action: ["cvm:StopInstances", "cvm:ModifyInstancesAttribute"],
    resource: [`qcs::cvm:ap-guangzhou:uin/${owner}:instance/ins-aaaaaaaa`],
  }]));
  // Allowed: the handler runs and finds no such instance.
  await expectCode(u.cvm.StopInstances({ InstanceIds: ["ins-aaaaaaaa"] }),
                   "InvalidInstanceId.NotFound");
  await expectCode(u.cvm.ModifyInstancesAttribute({ InstanceIds: ["ins-aaaaaaaa"],
                                                    InstanceName: "x" }),
                   "InvalidInstanceId.NotFound");
  const e = await expectCode(u.cvm.StopInstances({ InstanceIds: ["ins-bbbbbbbb"] }),
                             "UnauthorizedOperation");
  assert.match(e.message, /instance\/ins-bbbbbbbb/);
  // A batch is allowed only when every member is.
  await expectCode(u.cvm.StopInstances({ InstanceIds: ["ins-aaaaaaaa", "ins-bbbbbbbb"] }),
                   "UnauthorizedOperation");
  await expectCode(u.cvm.ModifyInstancesAttribute({ InstanceIds: ["ins-bbbbbbbb"],
                                                    InstanceName: "x" }),
                   "UnauthorizedOperation");
  // In another configured region the resource name differs, so the policy does not cover it.
  const shanghai = d.client("cvm", u.creds, { region: "ap-shanghai" });
  const other = await expectCode(shanghai.StopInstances({ InstanceIds: ["ins-aaaaaaaa"] }),
                                 "UnauthorizedOperation");
  assert.match(other.message, /qcs::cvm:ap-shanghai:.*instance\/ins-aaaaaaaa/);
});

test("a policy scoped to one region admits the action there and nowhere else", async () => {
  const u = await subUser();
  const owner = (await cam.GetUserAppId({})).OwnerUin;
  await attach(u, await policy([{
    effect: "allow", action: ["cvm:StopInstances"],
    resource: [`qcs::cvm:ap-shanghai:uin/${owner}:instance/*`],
  }]));
  const shanghai = d.client("cvm", u.creds, { region: "ap-shanghai" });
  await expectCode(shanghai.StopInstances({ InstanceIds: ["ins-aaaaaaaa"] }),
                   "InvalidInstanceId.NotFound");
  await expectCode(u.cvm.StopInstances({ InstanceIds: ["ins-aaaaaaaa"] }),
                   "UnauthorizedOperation");
});

test("a deny statement overrides an allow", async () => {
  const u = await subUser();
  await attach(u, await presetId("AdministratorAccess"));
  await attach(u, await policy([{ effect: "deny", action: "cvm:DescribeZones", resource: "*" }]));
  await expectCode(u.cvm.DescribeZones({}), "UnauthorizedOperation");
  const regions = await u.cvm.DescribeRegions({});
  assert.ok(regions.TotalCount >= 1);
});

test("an ip_equal condition admits 127.0.0.1/32 and refuses 10.0.0.0/8", async () => {
  const local = await subUser();
  await attach(local, await policy([{ effect: "allow", action: "cvm:Describe*", resource: "*",
                                      condition: { ip_equal: { "qcs:ip": ["127.0.0.1/32"] } } }]));
  assert.ok((await local.cvm.DescribeZones({})).TotalCount >= 1);
  const remote = await subUser();
  await attach(remote, await policy([{ effect: "allow", action: "cvm:Describe*", resource: "*",
                                       condition: { ip_equal: { "qcs:ip": "10.0.0.0/8" } } }]));
  await expectCode(remote.cvm.DescribeZones({}), "UnauthorizedOperation");
});

test("groups grant what their policies say", async () => {
  const u = await subUser();
  const g = await cam.CreateGroup({ GroupName: "readers", Remark: "read only" });
  await cam.AttachGroupPolicy({ PolicyId: await presetId("QcloudCVMReadOnlyAccess"),
                                AttachGroupId: g.GroupId });
  await expectCode(u.cvm.DescribeZones({}), "UnauthorizedOperation");
  await cam.AddUserToGroup({ Info: [{ GroupId: g.GroupId, Uin: u.uin }] });
  assert.ok((await u.cvm.DescribeZones({})).TotalCount >= 1);
  const groups = await cam.ListGroups({ Keyword: "read" });
  assert.equal(groups.TotalNum, 1);
  assert.equal(groups.GroupInfo[0].GroupName, "readers");
  const gp = await cam.ListAttachedGroupPolicies({ TargetGroupId: g.GroupId });
  assert.equal(gp.List[0].PolicyName, "QcloudCVMReadOnlyAccess");
  await cam.RemoveUserFromGroup({ Info: [{ GroupId: g.GroupId, Uid: u.uid }] });
  await expectCode(u.cvm.DescribeZones({}), "UnauthorizedOperation");
  await cam.DeleteGroup({ GroupId: g.GroupId });
  await expectCode(cam.DeleteGroup({ GroupId: g.GroupId }), "ResourceNotFound.GroupNotExist");
});

test("an Inactive key fails at once and works again when reactivated", async () => {
  const u = await subUser();
  await attach(u, await presetId("QcloudCVMReadOnlyAccess"));
  await u.cvm.DescribeZones({});
  await cam.UpdateAccessKey({ AccessKeyId: u.creds.secretId, Status: "Inactive",
                              TargetUin: u.uin });
  await expectCode(u.cvm.DescribeZones({}), "AuthFailure.SecretIdNotFound");
  const keys = await cam.ListAccessKeys({ TargetUin: u.uin });
  assert.deepEqual(keys.AccessKeys.map((k) => k.Status), ["Inactive"]);
  await cam.UpdateAccessKey({ AccessKeyId: u.creds.secretId, Status: "Active", TargetUin: u.uin });
  await u.cvm.DescribeZones({});
});

test("DeleteUser needs Force while keys exist, and then the keys stop working", async () => {
  const u = await subUser();
  await attach(u, await presetId("QcloudCVMReadOnlyAccess"));
  await u.cvm.DescribeZones({});
  await expectCode(cam.DeleteUser({ Name: u.name }), "OperationDenied.HaveKeys");
  await cam.DeleteUser({ Name: u.name, Force: 1 });
  await expectCode(u.cvm.DescribeZones({}), "AuthFailure.SecretIdNotFound");
  await expectCode(cam.GetUser({ Name: u.name }), "ResourceNotFound.UserNotExist");
});

test("at most two access keys per user; a sub-user cannot touch the root's keys", async () => {
  const u = await subUser();  // one key from UseApi
  const second = await cam.CreateAccessKey({ TargetUin: u.uin, Description: "ci" });
  assert.match(second.AccessKey.AccessKeyId, /^AKID/);
  assert.ok(second.AccessKey.SecretAccessKey.length >= 32);
  assert.equal(second.AccessKey.Status, "Active");
  await expectCode(cam.CreateAccessKey({ TargetUin: u.uin }), "OperationDenied.AccessKeyOverLimit");
  await cam.DeleteAccessKey({ AccessKeyId: second.AccessKey.AccessKeyId, TargetUin: u.uin });
  await expectCode(cam.DeleteAccessKey({ AccessKeyId: second.AccessKey.AccessKeyId,
                                         TargetUin: u.uin }),
                   "ResourceNotFound.SecretNotExist");
  // A sub-user with full CAM rights still may not manage the root's keys.
  await attach(u, await presetId("QcloudCamFullAccess"));
  const owner = (await cam.GetUserAppId({})).OwnerUin;
  await expectCode(u.cam.ListAccessKeys({ TargetUin: Number(owner) }), "OperationDenied.SubUin");
  const own = await u.cam.ListAccessKeys({});
  assert.equal(own.AccessKeys.length, 1);
  await expectCode(cam.UpdateAccessKey({ AccessKeyId: d.admin.secretId, Status: "Inactive",
                                         TargetUin: u.uin }),
                   "OperationDenied.UinNotMatch");
  const ids = await u.cam.GetUserAppId({});
  assert.equal(ids.Uin, String(u.uin));
  assert.equal(ids.OwnerUin, owner);
});

test("cross-account access is refused for every resource type", async () => {
  const other = d.createAccount(`other${Date.now()}`);
  const otherCam = d.client("cam", other);
  const u = await subUser();
  // A policy naming the other account's resources grants nothing here.
  await attach(u, await policy([{
    effect: "allow", action: ["cvm:*", "cbs:*", "vpc:*"],
    resource: [`qcs::cvm::uin/${other.uin}:*`, `qcs::vpc::uin/${other.uin}:*`],
  }]));
  const calls = [
    [u.cvm, "StopInstances", { InstanceIds: ["ins-aaaaaaaa"] }, "instance"],
    [u.cvm, "DeleteKeyPairs", { KeyIds: ["skey-aaaaaaaa"] }, "keypair"],
    [u.cvm, "DescribeImages", { ImageIds: ["img-aaaaaaaa"] }, "image"],
    [u.cbs, "DescribeDisks", { DiskIds: ["disk-aaaaaaaa"] }, "volume"],
    [u.cbs, "DescribeSnapshots", { SnapshotIds: ["snap-aaaaaaaa"] }, "snapshot"],
    [u.vpc, "DescribeSecurityGroups", { SecurityGroupIds: ["sg-aaaaaaaa"] }, "sg"],
    [u.vpc, "DescribeVpcs", { VpcIds: ["vpc-aaaaaaaa"] }, "vpc"],
    [u.vpc, "DescribeSubnets", { SubnetIds: ["subnet-aaaaaaaa"] }, "subnet"],
  ];
  for (const [client, action, params, type] of calls) {
    const e = await expectCode(client[action](params), "UnauthorizedOperation");
    assert.match(e.message, new RegExp(`${type}/`), action);
  }
  // The other root sees none of this account's users, groups or policies.
  await expectCode(otherCam.GetUser({ Name: u.name }), "ResourceNotFound.UserNotExist");
  const mine = await policy([{ effect: "allow", action: "cvm:*", resource: "*" }]);
  await expectCode(otherCam.GetPolicy({ PolicyId: mine }), "ResourceNotFound.PolicyIdNotFound");
  const theirs = await otherCam.AddUser({ Name: "stranger", UseApi: 0 });
  await expectCode(otherCam.AttachUserPolicy({ PolicyId: mine, AttachUin: theirs.Uin }),
                   "ResourceNotFound.PolicyIdNotFound");
  await expectCode(cam.AttachUserPolicy({ PolicyId: mine, AttachUin: theirs.Uin }),
                   "ResourceNotFound.UserNotExist");
  const list = await otherCam.ListPolicies({ Scope: "Local" });
  assert.equal(list.TotalNum, 0);
  // And a root account reaches another account's instances no more than a sub-user does.
  await expectCode(d.client("cvm", other).StopInstances({ InstanceIds: ["ins-aaaaaaaa"] }),
                   "InvalidInstanceId.NotFound");
});

test("malformed policy documents are refused with their precise code", async () => {
  const cases = [
    ["{", "InvalidParameter.PolicyDocumentError"],
    [JSON.stringify({ version: "1.0", statement: [] }), "InvalidParameter.VersionError"],
    [JSON.stringify({ version: "2.0", statement: [] }), "InvalidParameter.StatementError"],
    [JSON.stringify({ version: "2.0", statement: [{ effect: "maybe", action: "*", resource: "*" }] }),
     "InvalidParameter.EffectError"],
    [JSON.stringify({ version: "2.0", statement: [{ effect: "allow", action: "Run", resource: "*" }] }),
     "InvalidParameter.ActionError"],
    [JSON.stringify({ version: "2.0",
                      statement: [{ effect: "allow", action: "cvm:Fly", resource: "*" }] }),
     "InvalidParameter.ActionNotExist"],
    [JSON.stringify({ version: "2.0",
                      statement: [{ effect: "allow", action: "cvm:*", resource: "cvm:x" }] }),
     "InvalidParameter.ResourceError"],
    [JSON.stringify({ version: "2.0", statement: [{ effect: "allow", action: "cvm:*",
                                                    resource: "*",
                                                    condition: { ip_is: { "qcs:ip": "1.1.1.1" } } }] }),
     "InvalidParameter.ConditionTypeError"],
    [JSON.stringify({ version: "2.0", statement: [{ effect: "allow", action: "cvm:*",
                                                    resource: "*",
                                                    condition: { ip_equal: { "qcs:ip": "x" } } }] }),
     "InvalidParameter.ConditionError"],
  ];
  for (const [doc, code] of cases) {
    await expectCode(cam.CreatePolicy({ PolicyName: "bad", PolicyDocument: doc }), code);
  }
  await expectCode(cam.CreatePolicy({ PolicyName: "bad name!", PolicyDocument: cases[0][0] }),
                   "InvalidParameter.PolicyNameError");
});

test("policies: presets, create, get, list with Scope/Keyword/paging, update, delete", async () => {
  const presets = await cam.ListPolicies({ Scope: "QCS" });
  const names = presets.List.map((p) => p.PolicyName);
  for (const n of ["AdministratorAccess", "ReadOnlyAccess", "QcloudCVMFullAccess",
                   "QcloudCVMReadOnlyAccess", "QcloudCBSFullAccess", "QcloudVPCFullAccess",
                   "QcloudCamFullAccess"]) {
    assert.ok(names.includes(n), n);
  }
  assert.ok(presets.List.every((p) => p.Type === 2));
  const doc = JSON.stringify({ version: "2.0",
                               statement: [{ effect: "allow", action: "cvm:Describe*",
                                             resource: "*" }] });
  const { PolicyId } = await cam.CreatePolicy({ PolicyName: "kw-alpha", PolicyDocument: doc,
                                                Description: "first" });
  await cam.CreatePolicy({ PolicyName: "kw-beta", PolicyDocument: doc });
  await expectCode(cam.CreatePolicy({ PolicyName: "kw-alpha", PolicyDocument: doc }),
                   "FailedOperation.PolicyNameInUse");
  const got = await cam.GetPolicy({ PolicyId });
  assert.equal(got.PolicyName, "kw-alpha");
  assert.equal(got.Type, 1);
  assert.equal(got.PolicyDocument, doc);
  assert.match(got.AddTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const kw = await cam.ListPolicies({ Scope: "Local", Keyword: "kw-" });
  assert.equal(kw.TotalNum, 2);
  const page2 = await cam.ListPolicies({ Scope: "Local", Keyword: "kw-", Rp: 1, Page: 2 });
  assert.equal(page2.List.length, 1);
  assert.equal(page2.List[0].PolicyName, "kw-beta");
  await expectCode(cam.ListPolicies({ Scope: "Mine" }), "InvalidParameter.ScopeError");
  await cam.UpdatePolicy({ PolicyId, Description: "second" });
  assert.equal((await cam.GetPolicy({ PolicyId })).Description, "second");
  await expectCode(cam.UpdatePolicy({ PolicyId, PolicyDocument: "{}" }),
                   "InvalidParameter.VersionError");
  await expectCode(cam.UpdatePolicy({ PolicyId: await presetId("ReadOnlyAccess"),
                                      Description: "x" }),
                   "FailedOperation.Unmodifiable");
  await cam.DeletePolicy({ PolicyId: [PolicyId] });
  await expectCode(cam.GetPolicy({ PolicyId }), "ResourceNotFound.PolicyIdNotFound");
});

test("users: AddUser, GetUser, ListUsers, UpdateUser", async () => {
  const r = await cam.AddUser({ Name: "alice", Remark: "ops", UseApi: 0 });
  assert.equal(r.SecretId, undefined);
  assert.ok(r.Uin > 0 && r.Uid > 0);
  await expectCode(cam.AddUser({ Name: "alice" }), "InvalidParameter.SubUserNameInUse");
  await expectCode(cam.AddUser({ Name: "no spaces" }), "InvalidParameter.UserNameIllegal");
  await cam.UpdateUser({ Name: "alice", Remark: "dev", Email: "a@example.com" });
  const got = await cam.GetUser({ Name: "alice" });
  assert.deepEqual([got.Uin, got.Remark, got.Email], [r.Uin, "dev", "a@example.com"]);
  const list = await cam.ListUsers({});
  assert.ok(list.Data.some((u) => u.Name === "alice" && u.Uin === r.Uin));
  await cam.DeleteUser({ Name: "alice" });
});

test("a sub-user's Describe answer shows only the resources it may see", async () => {
  const u = await subUser();
  await attach(u, await policy([{ effect: "allow", action: "cvm:DescribeKeyPairs",
                                  resource: "qcs::cvm:::keypair/skey-nothing1" }]));
  // Allowed to ask (some resource is covered), but nothing of the account is visible.
  const admin = d.client("cvm");
  const created = await admin.CreateKeyPair({ KeyName: "visibletoroot", ProjectId: 0 });
  const rootView = await admin.DescribeKeyPairs({});
  assert.ok(rootView.KeyPairSet.some((k) => k.KeyId === created.KeyPair.KeyId));
  const subView = await u.cvm.DescribeKeyPairs({});
  assert.equal(subView.KeyPairSet.length, 0);
  assert.equal(subView.TotalCount, 0);
  // Naming the root's key pair is refused outright.
  await expectCode(u.cvm.DescribeKeyPairs({ KeyIds: [created.KeyPair.KeyId] }),
                   "UnauthorizedOperation");
  // With the key pair allowed, it becomes visible.
  await attach(u, await policy([{ effect: "allow", action: "cvm:DescribeKeyPairs",
                                  resource: `qcs::cvm:::keypair/${created.KeyPair.KeyId}` }]));
  const allowedView = await u.cvm.DescribeKeyPairs({});
  assert.deepEqual(allowedView.KeyPairSet.map((k) => k.KeyId), [created.KeyPair.KeyId]);
  assert.equal(allowedView.TotalCount, 1);
});

test("every call is in the audit log, which the root account can query", async () => {
  const u = await subUser();
  await expectCode(u.cvm.DescribeZones({}), "UnauthorizedOperation");
  await expectCode(u.cvm.StopInstances({ InstanceIds: ["ins-cccccccc"] }), "UnauthorizedOperation");
  const r = await cam.request("DescribeAuditEvents", { CallerUin: String(u.uin) });
  assert.ok(r.TotalCount >= 2);
  const stop = r.Events.find((e) => e.Action === "StopInstances");
  assert.ok(stop);
  assert.deepEqual(stop.Resources, ["ins-cccccccc"]);
  assert.equal(stop.ResultCode, "UnauthorizedOperation");
  assert.equal(stop.Result, "Failure");
  assert.equal(stop.SourceIp, "127.0.0.1");
  assert.match(stop.RequestId, /^[0-9a-f-]{36}$/);
  assert.equal(stop.CallerUin, String(u.uin));
  // The sub-user itself may not read it without a policy.
  await expectCode(u.cam.request("DescribeAuditEvents", {}), "UnauthorizedOperation");
  // The CLI shows the same log.
  const cli = d.cli(["audit", "--caller", String(u.uin)]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /StopInstances/);
  assert.match(cli.stdout, /UnauthorizedOperation/);
});

test("the audit log survives a clean restart", async () => {
  const u = await subUser();
  await expectCode(u.cvm.RebootInstances({ InstanceIds: ["ins-dddddddd"] }),
                   "UnauthorizedOperation");
  await d.stop();
  await d.start();
  cam = d.client("cam");
  const r = await cam.request("DescribeAuditEvents", { ActionName: "RebootInstances" });
  assert.ok(r.Events.some((e) => e.Resources.includes("ins-dddddddd")));
});
