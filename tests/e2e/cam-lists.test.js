// CAM on the instance lists (the other list actions are in tests/integration/cam-lists.test.js):
// a sub-user allowed DescribeInstances / DescribeInstancesStatus on ONE of two launched
// instances sees that one only — items, TotalCount, and page by page (Limit 1, Offset 0 and 1),
// with one sub-user per instance so that whichever the list orders first, a page of one holds it.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const L = require("./lib");

const ZONE = "ap-guangzhou-3";
let d, cvm, cam, owner, ids;

before(async () => {
  d = await L.startDaemon();
  cvm = d.client("cvm");
  cam = d.client("cam");
  owner = String((await cam.GetUserAppId({})).OwnerUin);
  const image = await L.tinyImageId(cvm);
  ids = (await cvm.RunInstances({ Placement: { Zone: ZONE }, ImageId: image,
                                  InstanceType: "T1.NANO1", InstanceCount: 2 })).InstanceIdSet;
  await L.waitState(cvm, ids, "RUNNING");
});

after(async () => {
  try {
    await cvm.TerminateInstances({ InstanceIds: ids }).catch(() => {});
    await L.waitState(cvm, ids, "GONE", 120000).catch(() => {});
  } finally {
    await d.stop();
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
  }
});

let users = 0;
async function subUser(actions, resource) {
  const r = await cam.AddUser({ Name: `lister${++users}`, UseApi: 1 });
  const p = await cam.CreatePolicy({
    PolicyName: `lists${users}`,
    PolicyDocument: JSON.stringify({ version: "2.0", statement: [
      { effect: "allow", action: actions, resource }] }),
  });
  await cam.AttachUserPolicy({ PolicyId: p.PolicyId, AttachUin: r.Uin });
  return { uin: r.Uin, cvm: d.client("cvm", { secretId: r.SecretId, secretKey: r.SecretKey }) };
}

for (const [action, set] of [["DescribeInstances", "InstanceSet"],
                             ["DescribeInstancesStatus", "InstanceStatusSet"]]) {
  test(`${action} shows a sub-user only the instance it is allowed on`, async () => {
    const root = await cvm[action]({});
    assert.equal(root.TotalCount, 2);
    for (const id of ids) {
      const c = (await subUser([`cvm:${action}`],
                               `qcs::cvm:ap-guangzhou:uin/${owner}:instance/${id}`)).cvm;
      const whole = await c[action]({});
      assert.deepEqual(whole[set].map((i) => i.InstanceId), [id]);
      assert.equal(whole.TotalCount, 1);
      const first = await c[action]({ Offset: 0, Limit: 1 });
      assert.deepEqual(first[set].map((i) => i.InstanceId), [id]);
      assert.equal(first.TotalCount, 1);
      const second = await c[action]({ Offset: 1, Limit: 1 });
      assert.deepEqual(second[set], []);
      assert.equal(second.TotalCount, 1);
    }
  });
}

test("an allow on every instance with a deny on one hides that one, page by page", async () => {
  const u = await subUser(["cvm:DescribeInstances"], "*");
  await cam.AttachUserPolicy({
    PolicyId: (await cam.CreatePolicy({
      PolicyName: "deny-first",
      PolicyDocument: JSON.stringify({ version: "2.0", statement: [
        { effect: "deny", action: "cvm:DescribeInstances",
          resource: `qcs::cvm::uin/${owner}:instance/${ids[0]}` }] }),
    })).PolicyId,
    AttachUin: u.uin,
  });
  for (const offset of [0, 1]) {
    const page = await u.cvm.DescribeInstances({ Offset: offset, Limit: 1 });
    assert.equal(page.TotalCount, 1);
    assert.deepEqual(page.InstanceSet.map((i) => i.InstanceId), offset ? [] : [ids[1]]);
  }
});
