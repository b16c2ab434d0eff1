// Regions confine instances: a running guest of ap-guangzhou is, from ap-shanghai, answered as an
// id that never existed — not listed (DescribeInstances, DescribeInstancesStatus), not renamed,
// stopped, rebooted or terminated — for the root account and for sub-users allowed everything in
// ap-shanghai (by resource name or by a cvm:region condition); the guest keeps running unchanged.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const L = require("./lib");
const { answersAsUnknown } = require("../integration/lib/unknown");

const HOME = "ap-guangzhou", AWAY = "ap-shanghai";
const NEVER = "ins-zz000000";
let d, cvm, id;

before(async () => {
  d = await L.startDaemon();
  cvm = d.client("cvm");
  const image = await L.tinyImageId(cvm);
  id = (await cvm.RunInstances({ Placement: { Zone: `${HOME}-3` }, ImageId: image,
                                 InstanceType: "T1.NANO1", InstanceName: "home" }))
    .InstanceIdSet[0];
  await L.waitState(cvm, [id], "RUNNING");
});

after(async () => {
  await L.terminateThenStop(d, cvm, [id]);
  d.cleanup();
});

async function homeView() {
  const [i] = (await cvm.DescribeInstances({ InstanceIds: [id] })).InstanceSet;
  return { name: i.InstanceName, state: i.InstanceState, op: i.LatestOperation };
}

async function probe(c) {
  const listed = (await c.DescribeInstances({ Limit: 100 })).InstanceSet.map((i) => i.InstanceId);
  assert.ok(!listed.includes(id), "DescribeInstances lists another region's instance");
  const status = (await c.DescribeInstancesStatus({ Limit: 100 })).InstanceStatusSet
    .map((i) => i.InstanceId);
  assert.ok(!status.includes(id), "DescribeInstancesStatus lists another region's instance");
  const calls = [
    (x) => c.DescribeInstances({ InstanceIds: [x] }),
    (x) => c.DescribeInstancesStatus({ InstanceIds: [x] }),
    (x) => c.ModifyInstancesAttribute({ InstanceIds: [x], InstanceName: "moved" }),
    (x) => c.StopInstances({ InstanceIds: [x] }),
    (x) => c.RebootInstances({ InstanceIds: [x] }),
    (x) => c.StartInstances({ InstanceIds: [x] }),
    (x) => c.ResetInstancesPassword({ InstanceIds: [x], Password: "Opencvm-moved1",
                                      ForceStop: true }),
    (x) => c.TerminateInstances({ InstanceIds: [x] }),
  ];
  for (const call of calls) await answersAsUnknown(call, id, NEVER);
}

async function regionUser(n, statement) {
  const cam = d.client("cam");
  const u = await cam.AddUser({ Name: `regional${n}`, UseApi: 1 });
  const p = await cam.CreatePolicy({
    PolicyName: `regional${n}`,
    PolicyDocument: JSON.stringify({ version: "2.0", statement: [statement] }),
  });
  await cam.AttachUserPolicy({ PolicyId: p.PolicyId, AttachUin: u.Uin });
  return d.client("cvm", { secretId: u.SecretId, secretKey: u.SecretKey }, { region: AWAY });
}

test("another region's instance is unknown to root and to region-scoped sub-users", async () => {
  const before_ = await homeView();
  assert.equal(before_.state, "RUNNING");
  await probe(d.client("cvm", d.admin, { region: AWAY }));
  await probe(await regionUser(1, { effect: "allow", action: ["cvm:*"],
                                    resource: [`qcs::cvm:${AWAY}::*`] }));
  await probe(await regionUser(2, { effect: "allow", action: ["cvm:*"], resource: "*",
                                    condition: { string_equal: { "cvm:region": AWAY } } }));
  assert.deepEqual(await homeView(), before_);
});
