// ClientToken through the official SDK: however many requests carry one token at once, one of
// them acts and every other answers exactly what it answered (same ids, same order), for every
// action that takes a ClientToken and is implemented (CreateDisks, RunInstances).
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Daemon } = require("./lib/daemon");
const { createDisks } = require("./lib/disks");
const { emptyPublicImage, terminateAll } = require("./lib/instances");

const ZONE = "ap-guangzhou-3";
const IMAGE = "img-idem0001";
let d, cvm, cbs, work;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-idem-it-"));
  const pub = emptyPublicImage(work, IMAGE);
  const conf = path.join(work, "cvmd.toml");
  fs.writeFileSync(conf, "storage_capacity_gb = 10000\n");
  d = new Daemon({ args: ["--config", conf, "--public-images", pub] });
  await d.start();
  cvm = d.client("cvm");
  cbs = d.client("cbs");
});

after(async () => {
  await terminateAll(cvm);
  await d.stop();
  d.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

const create = (token, extra = {}) => createDisks(cbs, {
  Placement: { Zone: ZONE }, DiskChargeType: "POSTPAID_BY_HOUR", DiskType: "CLOUD_PREMIUM",
  DiskSize: 10, ClientToken: token, ...extra,
});
const allDisks = async () => (await cbs.DescribeDisks({ Limit: 100 })).DiskSet;

test("40 concurrent CreateDisks with 20 ClientTokens make exactly 20 disks", async () => {
  const tokens = Array.from({ length: 20 }, (_, i) => `idem-disk-${i}`);
  const answers = await Promise.all(tokens.flatMap((t) => [create(t), create(t)]));
  for (let i = 0; i < tokens.length; i++) {
    const [a, b] = [answers[2 * i].DiskIdSet, answers[2 * i + 1].DiskIdSet];
    assert.equal(a.length, 1);
    assert.deepEqual(b, a, `token ${tokens[i]} answered two different disks`);
  }
  const disks = await allDisks();
  assert.equal(disks.length, 20);
  assert.deepEqual(disks.map((x) => x.DiskId).sort(),
                   answers.filter((_, i) => i % 2 === 0).map((a) => a.DiskIdSet[0]).sort());
  assert.equal(fs.readdirSync(path.join(d.dataDir, "disks")).length, 20);
  // A later retry is answered the same, and makes nothing.
  assert.deepEqual((await create(tokens[3])).DiskIdSet, answers[6].DiskIdSet);
  assert.equal((await allDisks()).length, 20);
});

test("a CreateDisks replay answers the first answer's ids in its order", async () => {
  const first = (await create("idem-batch", { DiskCount: 5 })).DiskIdSet;
  assert.equal(first.length, 5);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual((await create("idem-batch", { DiskCount: 5 })).DiskIdSet, first);
  }
  await cbs.TerminateDisks({ DiskIds: first });
});

test("a refused CreateDisks does not use up its ClientToken", async () => {
  await assert.rejects(create("idem-refused", { DiskSize: 99999 }));
  const ok = await create("idem-refused");
  assert.equal(ok.DiskIdSet.length, 1);
  await cbs.TerminateDisks({ DiskIds: ok.DiskIdSet });
});

test("concurrent RunInstances with one ClientToken: one launch, the same ids in the same order",
     async () => {
  const run = () => cvm.RunInstances({
    Placement: { Zone: ZONE }, ImageId: IMAGE, InstanceType: "T1.NANO1", InstanceCount: 6,
    ClientToken: "idem-run",
  });
  const answers = await Promise.all([run(), run(), run()]);
  const first = answers[0].InstanceIdSet;
  assert.equal(first.length, 6);
  for (const a of answers) assert.deepEqual(a.InstanceIdSet, first);
  // Replays after the fact answer in the first answer's order (not sorted, not by id).
  for (let i = 0; i < 3; i++) assert.deepEqual((await run()).InstanceIdSet, first);
  const all = await cvm.DescribeInstances({ Limit: 100 });
  assert.equal(all.TotalCount, 6);
  await terminateAll(cvm);
});
