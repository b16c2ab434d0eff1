// Instance tags: TagSpecification at RunInstances, Tags in DescribeInstances, and the tag-key,
// tag-value and tag:<key> filters. The two guests are terminated as soon as they run: nothing
// here needs them booted.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const L = require("./lib");

let d, cvm, image, ids;

before(async () => {
  d = await L.startDaemon();
  cvm = d.client("cvm");
  image = await L.tinyImageId(cvm);
});

after(async () => {
  try {
    if (ids) {
      await cvm.TerminateInstances({ InstanceIds: ids }).catch(() => {});
      await L.waitState(cvm, ids, "GONE", 120000).catch(() => {});
    }
  } finally {
    await d.stop();
    fs.writeFileSync(path.join(os.tmpdir(), "opencvm-e2e-tags.log"), d.log);
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
  }
});

const base = () => ({ Placement: { Zone: "ap-guangzhou-3" }, ImageId: image,
                      InstanceType: "T1.NANO1" });
const spec = (tags) => [{ ResourceType: "instance", Tags: tags }];

test("bad tags are refused before anything is created", async () => {
  const run = (tags) => cvm.RunInstances({ ...base(), TagSpecification: spec(tags) });
  await L.expectCode(run([{ Key: "a", Value: "1" }, { Key: "a", Value: "2" }]),
                     "InvalidParameterValue.DuplicateTags");
  await L.expectCode(run([{ Key: "", Value: "1" }]), "FailedOperation.IllegalTagKey");
  await L.expectCode(run([{ Key: "qcloud:x", Value: "1" }]), "FailedOperation.TagKeyReserved");
  assert.equal((await cvm.DescribeInstances({})).TotalCount, 0);
});

test("tags are shown and filter DescribeInstances", async () => {
  const a = await cvm.RunInstances({ ...base(), InstanceName: "web",
                                     TagSpecification: spec([{ Key: "env", Value: "prod" },
                                                             { Key: "team", Value: "web" }]) });
  const b = await cvm.RunInstances({ ...base(), InstanceName: "db",
                                     TagSpecification: spec([{ Key: "env", Value: "test" }]) });
  ids = [a.InstanceIdSet[0], b.InstanceIdSet[0]];
  await L.waitState(cvm, ids, "RUNNING");
  const names = async (filters) => (await cvm.DescribeInstances({ Filters: filters })).InstanceSet
    .map((i) => i.InstanceName).sort();
  const web = (await cvm.DescribeInstances({ InstanceIds: [ids[0]] })).InstanceSet[0];
  assert.deepEqual(web.Tags, [{ Key: "env", Value: "prod" }, { Key: "team", Value: "web" }]);
  assert.deepEqual(await names([{ Name: "tag:env", Values: ["prod"] }]), ["web"]);
  assert.deepEqual(await names([{ Name: "tag:env", Values: ["prod", "test"] }]), ["db", "web"]);
  assert.deepEqual(await names([{ Name: "tag-key", Values: ["team"] }]), ["web"]);
  assert.deepEqual(await names([{ Name: "tag-value", Values: ["test"] }]), ["db"]);
  assert.deepEqual(await names([{ Name: "tag:env", Values: ["test"] },
                                { Name: "instance-name", Values: ["web"] }]), []);
  assert.deepEqual(await names([{ Name: "tag:nope", Values: ["x"] }]), []);
  const other = d.client("cvm", d.createAccount("tag-other"));
  assert.equal((await other.DescribeInstances({ Filters: [{ Name: "tag:env",
                                                           Values: ["prod"] }] })).TotalCount, 0);
});
