// The standard structures of the main Describe answers, with real resources in them, carry only
// the members Tencent's description lists: the official SDKs warn on any other (OpenCVM's own
// data is offered through extension actions instead).
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Daemon } = require("./lib/daemon");
const { createDisks } = require("./lib/disks");
const { emptyPublicImage, terminateAll } = require("./lib/instances");
const { undescribedMembers } = require("./lib/structures");

const ZONE = "ap-guangzhou-3";
const IMAGE = "img-struct01";
let d, work, disk, instance;
const clients = {};

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "cvm-struct-it-"));
  const pub = emptyPublicImage(work, IMAGE);
  d = new Daemon({ args: ["--public-images", pub] });
  await d.start();
  for (const s of ["cvm", "cbs", "vpc"]) clients[s] = d.client(s);
  disk = (await createDisks(clients.cbs, {
    Placement: { Zone: ZONE }, DiskChargeType: "POSTPAID_BY_HOUR", DiskType: "CLOUD_PREMIUM",
    DiskSize: 10,
  })).DiskIdSet[0];
  await clients.cvm.CreateKeyPair({ KeyName: "structures", ProjectId: 0 });
  await clients.vpc.CreateSecurityGroup({ GroupName: "structures", GroupDescription: "s" });
  await clients.cbs.CreateSnapshot({ DiskId: disk, SnapshotName: "structures" });
  instance = (await clients.cvm.RunInstances({
    Placement: { Zone: ZONE }, ImageId: IMAGE, InstanceType: "T1.NANO1",
  })).InstanceIdSet[0];
});

after(async () => {
  await terminateAll(clients.cvm);
  await d.stop();
  d.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

const cases = [
  ["cvm", "DescribeInstances", {}, "InstanceSet"],
  ["cvm", "DescribeInstancesStatus", {}, "InstanceStatusSet"],
  ["cbs", "DescribeDisks", {}, "DiskSet"],
  ["cbs", "DescribeSnapshots", {}, "SnapshotSet"],
  ["vpc", "DescribeVpcs", {}, "VpcSet"],
  ["vpc", "DescribeSubnets", {}, "SubnetSet"],
  ["cvm", "DescribeImages", { ImageIds: [IMAGE] }, "ImageSet"],
  ["cvm", "DescribeKeyPairs", {}, "KeyPairSet"],
  ["cvm", "DescribeZones", {}, "ZoneSet"],
  ["cvm", "DescribeInstanceTypeConfigs", {}, "InstanceTypeConfigSet"],
  ["vpc", "DescribeSecurityGroups", {}, "SecurityGroupSet"],
];

for (const [service, action, params, set] of cases) {
  test(`${action} answers only described members`, async () => {
    const answer = await clients[service][action](params);
    assert.ok(answer[set].length > 0, `${action} answered no ${set}`);
    assert.deepEqual(undescribedMembers(service, action, answer), []);
  });
}

test("a disk's limits are read with the DescribeDiskPerformance extension", async () => {
  const p = await clients.cbs.request("DescribeDiskPerformance", { DiskId: disk });
  assert.equal(p.DiskId, disk);
  assert.equal(p.DiskSize, 10);
  assert.ok(p.Iops > 0 && p.ThroughputMBps > 0);
});
