// CAM's own actions under resource-level policies: a sub-user's rights on users (uin/<uin>),
// groups (groupid/<id>) and policies (policyid/<id>) reach exactly the resources its policy
// names, the policy variable ${uin} scopes them to the caller itself, and every attempt to
// raise its own privileges fails with UnauthorizedOperation and leaves nothing changed.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { Daemon, expectCode } = require("./lib/daemon");

let d;
let cam;
let owner;
before(async () => {
  d = await new Daemon().start();
  cam = d.client("cam");
  owner = (await cam.GetUserAppId({})).OwnerUin;
});
after(async () => { await d.stop(); d.cleanup(); });

const SELF = "${uin}";  // the policy variable, substituted by the daemon
const res = (typeAndId) => `qcs::cam::uin/${owner}:${typeAndId}`;

let userCount = 0;
async function subUser() {
  const name = `scope${++userCount}`;
  const r = await cam.AddUser({ Name: name, UseApi: 1 });
  const creds = { secretId: r.SecretId, secretKey: r.SecretKey };
  return { name, uin: r.Uin, uid: r.Uid, creds, cam: d.client("cam", creds),
           cvm: d.client("cvm", creds) };
}

let policyCount = 0;
async function policy(statements) {
  const r = await cam.CreatePolicy({
    PolicyName: `scope${++policyCount}`,
    PolicyDocument: JSON.stringify({ version: "2.0", statement: statements }),
  });
  return r.PolicyId;
}

async function allow(user, action, resource) {
  const id = await policy([{ effect: "allow", action, resource }]);
  await cam.AttachUserPolicy({ PolicyId: id, AttachUin: user.uin });
  return id;
}

async function presetId(name) {
  const all = await cam.ListPolicies({ Scope: "QCS", Rp: 200 });
  return all.List.find((p) => p.PolicyName === name).PolicyId;
}

// What the root account sees of a user's keys and directly attached policies.
async function keysOf(user) {
  return (await cam.ListAccessKeys({ TargetUin: user.uin })).AccessKeys
    .map((k) => `${k.AccessKeyId}:${k.Status}`).sort();
}
async function policiesOf(user) {
  return (await cam.ListAttachedUserPolicies({ TargetUin: user.uin, Rp: 200 })).List
    .map((p) => p.PolicyId).sort();
}
async function groupPolicies(groupId) {
  return (await cam.ListAttachedGroupPolicies({ TargetGroupId: groupId, Rp: 200 })).List
    .map((p) => p.PolicyId).sort();
}

const KEY_ACTIONS = ["cam:ListAccessKeys", "cam:CreateAccessKey", "cam:UpdateAccessKey",
                     "cam:DeleteAccessKey"];

test("a self-scoped policy reaches no other user's keys", async () => {
  const a = await subUser();
  const b = await subUser();
  await allow(a, KEY_ACTIONS, res(`uin/${SELF}`));
  const bKeys = await keysOf(b);
  const bKey = b.creds.secretId;
  // Every action on another user's keys (or the root's) is refused, naming the resource.
  for (const call of [
    () => a.cam.ListAccessKeys({ TargetUin: b.uin }),
    () => a.cam.CreateAccessKey({ TargetUin: b.uin }),
    () => a.cam.UpdateAccessKey({ AccessKeyId: bKey, Status: "Inactive", TargetUin: b.uin }),
    () => a.cam.DeleteAccessKey({ AccessKeyId: bKey, TargetUin: b.uin }),
    () => a.cam.ListAccessKeys({ TargetUin: Number(owner) }),
    () => a.cam.CreateAccessKey({ TargetUin: Number(owner) }),
  ]) {
    const e = await expectCode(call(), "UnauthorizedOperation");
    assert.match(e.message, /cam:[A-Za-z]+AccessKeys? on resource qcs::cam::uin\/\d+:uin\/\d+/);
  }
  // Naming another user's key under its own uin finds no such key of its own.
  await expectCode(a.cam.UpdateAccessKey({ AccessKeyId: bKey, Status: "Inactive" }),
                   "OperationDenied.UinNotMatch");
  await expectCode(a.cam.DeleteAccessKey({ AccessKeyId: bKey }), "OperationDenied.UinNotMatch");
  assert.deepEqual(await keysOf(b), bKeys);
  // b's key still authenticates (and b, without policies, is refused the action).
  await expectCode(b.cam.GetUserAppId({}), "UnauthorizedOperation");
});

test("a self-scoped policy lets a sub-user list, create, update and delete its own keys",
     async () => {
  const a = await subUser();
  await allow(a, KEY_ACTIONS, res(`uin/${SELF}`));
  assert.deepEqual((await a.cam.ListAccessKeys({})).AccessKeys.map((k) => k.AccessKeyId),
                   [a.creds.secretId]);
  assert.equal((await a.cam.ListAccessKeys({ TargetUin: a.uin })).AccessKeys.length, 1);
  const created = (await a.cam.CreateAccessKey({ Description: "rotation" })).AccessKey;
  const fresh = d.client("cam", { secretId: created.AccessKeyId,
                                  secretKey: created.SecretAccessKey });
  assert.equal((await fresh.ListAccessKeys({})).AccessKeys.length, 2);
  await a.cam.UpdateAccessKey({ AccessKeyId: created.AccessKeyId, Status: "Inactive" });
  await expectCode(fresh.ListAccessKeys({}), "AuthFailure.SecretIdNotFound");
  await a.cam.DeleteAccessKey({ AccessKeyId: created.AccessKeyId, TargetUin: a.uin });
  assert.deepEqual(await keysOf(a), [`${a.creds.secretId}:Active`]);
});

test("a key for a more privileged user cannot be minted with self-scoped rights", async () => {
  const admin = await subUser();
  await cam.AttachUserPolicy({ PolicyId: await presetId("AdministratorAccess"),
                               AttachUin: admin.uin });
  const a = await subUser();
  await allow(a, "cam:CreateAccessKey", res(`uin/${SELF}`));
  const before = await keysOf(admin);
  await expectCode(a.cam.CreateAccessKey({ TargetUin: admin.uin }), "UnauthorizedOperation");
  assert.deepEqual(await keysOf(admin), before);
});

test("a policy naming another user reaches that user only", async () => {
  const a = await subUser();
  const b = await subUser();
  const c = await subUser();
  await allow(a, ["cam:ListAccessKeys", "cam:ListAttachedUserPolicies", "cam:GetUser"],
              res(`uin/${b.uin}`));
  assert.equal((await a.cam.ListAccessKeys({ TargetUin: b.uin })).AccessKeys.length, 1);
  assert.deepEqual((await a.cam.ListAttachedUserPolicies({ TargetUin: b.uin })).List, []);
  assert.equal((await a.cam.GetUser({ Name: b.name })).Uin, b.uin);
  // Not itself, not a third user, and no word on names that exist nowhere.
  await expectCode(a.cam.ListAccessKeys({}), "UnauthorizedOperation");
  await expectCode(a.cam.ListAccessKeys({ TargetUin: c.uin }), "UnauthorizedOperation");
  await expectCode(a.cam.ListAttachedUserPolicies({ TargetUin: c.uin }), "UnauthorizedOperation");
  await expectCode(a.cam.GetUser({ Name: c.name }), "UnauthorizedOperation");
  await expectCode(a.cam.GetUser({ Name: "nobody-at-all" }), "UnauthorizedOperation");
});

test("users named by Name: a self-scoped sub-user updates itself, not others", async () => {
  const a = await subUser();
  const b = await subUser();
  await allow(a, ["cam:GetUser", "cam:UpdateUser", "cam:DeleteUser"], res(`uin/${SELF}`));
  await a.cam.UpdateUser({ Name: a.name, Remark: "me" });
  assert.equal((await a.cam.GetUser({ Name: a.name })).Remark, "me");
  await expectCode(a.cam.UpdateUser({ Name: b.name, Remark: "owned" }), "UnauthorizedOperation");
  await expectCode(a.cam.DeleteUser({ Name: b.name, Force: 1 }), "UnauthorizedOperation");
  assert.equal((await cam.GetUser({ Name: b.name })).Remark, "");
  // A user allowed on every user learns that a name is nobody's.
  const c = await subUser();
  await allow(c, "cam:GetUser", res("uin/*"));
  await expectCode(c.cam.GetUser({ Name: "nobody-at-all" }), "ResourceNotFound.UserNotExist");
});

test("attaching a policy needs the user and the policy both allowed", async () => {
  const readOnly = await presetId("QcloudCVMReadOnlyAccess");
  const adminPolicy = await presetId("AdministratorAccess");
  const a = await subUser();
  const b = await subUser();
  await allow(a, ["cam:AttachUserPolicy", "cam:DetachUserPolicy"],
              [res(`uin/${SELF}`), res(`policyid/${readOnly}`)]);
  await allow(a, "cam:CreatePolicy", "*");
  const aBefore = await policiesOf(a);
  const bBefore = await policiesOf(b);

  // Escalation: the administrator policy to itself, any policy to another user, a policy of
  // its own making to itself.
  await expectCode(a.cam.AttachUserPolicy({ PolicyId: adminPolicy, AttachUin: a.uin }),
                   "UnauthorizedOperation");
  await expectCode(a.cam.AttachUserPolicy({ PolicyId: readOnly, AttachUin: b.uin }),
                   "UnauthorizedOperation");
  const own = (await a.cam.CreatePolicy({
    PolicyName: "mine",
    PolicyDocument: JSON.stringify({ version: "2.0",
                                     statement: [{ effect: "allow", action: "*", resource: "*" }] }),
  })).PolicyId;
  await expectCode(a.cam.AttachUserPolicy({ PolicyId: own, AttachUin: a.uin }),
                   "UnauthorizedOperation");
  assert.deepEqual(await policiesOf(a), aBefore);
  assert.deepEqual(await policiesOf(b), bBefore);
  await expectCode(a.cvm.DescribeZones({}), "UnauthorizedOperation");

  // Exactly what the policy names: the read-only preset, to itself.
  await a.cam.AttachUserPolicy({ PolicyId: readOnly, AttachUin: a.uin });
  assert.ok((await a.cvm.DescribeZones({})).TotalCount >= 1);
  await a.cam.DetachUserPolicy({ PolicyId: readOnly, DetachUin: a.uin });
  assert.deepEqual(await policiesOf(a), aBefore);
  await cam.DeletePolicy({ PolicyId: [own] });
});

test("a deny attached to a sub-user cannot be detached by it", async () => {
  const a = await subUser();
  const deny = await policy([{ effect: "deny", action: "cvm:DescribeZones", resource: "*" }]);
  await cam.AttachUserPolicy({ PolicyId: deny, AttachUin: a.uin });
  await allow(a, "cam:DetachUserPolicy", [res(`uin/${SELF}`), res("policyid/999999")]);
  const before = await policiesOf(a);
  await expectCode(a.cam.DetachUserPolicy({ PolicyId: deny, DetachUin: a.uin }),
                   "UnauthorizedOperation");
  assert.deepEqual(await policiesOf(a), before);
});

test("a sub-user cannot rewrite or delete a policy attached to it", async () => {
  const a = await subUser();
  const mine = await allow(a, "cvm:DescribeZones", "*");
  const other = await policy([{ effect: "allow", action: "cvm:DescribeRegions", resource: "*" }]);
  await allow(a, ["cam:UpdatePolicy", "cam:GetPolicy", "cam:DeletePolicy"],
              res(`policyid/${other}`));
  const document = (await cam.GetPolicy({ PolicyId: mine })).PolicyDocument;
  const everything = JSON.stringify({ version: "2.0",
                                      statement: [{ effect: "allow", action: "*", resource: "*" }] });
  await expectCode(a.cam.UpdatePolicy({ PolicyId: mine, PolicyDocument: everything }),
                   "UnauthorizedOperation");
  await expectCode(a.cam.GetPolicy({ PolicyId: mine }), "UnauthorizedOperation");
  await expectCode(a.cam.DeletePolicy({ PolicyId: [mine] }), "UnauthorizedOperation");
  await expectCode(a.cam.DeletePolicy({ PolicyId: [other, mine] }), "UnauthorizedOperation");
  assert.equal((await cam.GetPolicy({ PolicyId: mine })).PolicyDocument, document);
  assert.equal((await cam.GetPolicy({ PolicyId: other })).PolicyName.length > 0, true);
  await expectCode(a.cvm.RunInstances({ Placement: { Zone: "ap-guangzhou-3" },
                                        ImageId: "img-aaaaaaaa" }),
                   "UnauthorizedOperation");
  // The policy it is allowed on, it may change.
  await a.cam.UpdatePolicy({ PolicyId: other, Description: "changed by a" });
  assert.equal((await a.cam.GetPolicy({ PolicyId: other })).Description, "changed by a");
});

test("group-scoped statements: membership and group policies of one group only", async () => {
  const readOnly = await presetId("QcloudCVMReadOnlyAccess");
  const adminPolicy = await presetId("AdministratorAccess");
  const open = (await cam.CreateGroup({ GroupName: "scope-open" })).GroupId;
  const admins = (await cam.CreateGroup({ GroupName: "scope-admins" })).GroupId;
  await cam.AttachGroupPolicy({ PolicyId: adminPolicy, AttachGroupId: admins });
  const a = await subUser();
  const b = await subUser();
  await allow(a, ["cam:AddUserToGroup", "cam:RemoveUserFromGroup"],
              [res(`groupid/${open}`), res(`uin/${SELF}`)]);
  await allow(a, ["cam:AttachGroupPolicy", "cam:ListAttachedGroupPolicies"],
              [res(`groupid/${open}`), res(`policyid/${readOnly}`)]);

  // Into the administrators' group, by uin or by uid; another user into its own group.
  await expectCode(a.cam.AddUserToGroup({ Info: [{ GroupId: admins, Uin: a.uin }] }),
                   "UnauthorizedOperation");
  await expectCode(a.cam.AddUserToGroup({ Info: [{ GroupId: admins, Uid: a.uid }] }),
                   "UnauthorizedOperation");
  await expectCode(a.cam.AddUserToGroup({ Info: [{ GroupId: open, Uin: a.uin },
                                                 { GroupId: admins, Uin: a.uin }] }),
                   "UnauthorizedOperation");
  await expectCode(a.cam.AddUserToGroup({ Info: [{ GroupId: open, Uin: b.uin }] }),
                   "UnauthorizedOperation");
  await expectCode(a.cvm.DescribeZones({}), "UnauthorizedOperation");
  // None of it happened: the first entry of the mixed request was not applied either.
  await cam.AttachGroupPolicy({ PolicyId: readOnly, AttachGroupId: open });
  await expectCode(a.cvm.DescribeZones({}), "UnauthorizedOperation");
  await expectCode(b.cvm.DescribeZones({}), "UnauthorizedOperation");
  await cam.DetachGroupPolicy({ PolicyId: readOnly, DetachGroupId: open });

  // Group policies: the administrator policy to the open group, anything to the admins' group.
  const openBefore = await groupPolicies(open);
  await expectCode(a.cam.AttachGroupPolicy({ PolicyId: adminPolicy, AttachGroupId: open }),
                   "UnauthorizedOperation");
  await expectCode(a.cam.AttachGroupPolicy({ PolicyId: readOnly, AttachGroupId: admins }),
                   "UnauthorizedOperation");
  await expectCode(a.cam.ListAttachedGroupPolicies({ TargetGroupId: admins }),
                   "UnauthorizedOperation");
  assert.deepEqual(await groupPolicies(open), openBefore);
  assert.deepEqual(await groupPolicies(admins), [adminPolicy]);

  // Exactly what the policies name: itself into the open group, read-only onto it.
  await a.cam.AttachGroupPolicy({ PolicyId: readOnly, AttachGroupId: open });
  assert.deepEqual(await a.cam.ListAttachedGroupPolicies({ TargetGroupId: open })
    .then((r) => r.List.map((p) => p.PolicyId)), [readOnly]);
  await a.cam.AddUserToGroup({ Info: [{ GroupId: open, Uid: a.uid }] });
  assert.ok((await a.cvm.DescribeZones({})).TotalCount >= 1);
  await a.cam.RemoveUserFromGroup({ Info: [{ GroupId: open, Uin: a.uin }] });
  await expectCode(a.cvm.DescribeZones({}), "UnauthorizedOperation");
  await expectCode(a.cam.DeleteGroup({ GroupId: open }), "UnauthorizedOperation");
});
