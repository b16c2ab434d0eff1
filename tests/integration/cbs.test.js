// CBS without a VM: disks and snapshots of unattached disks through the official SDK and the
// `cvm disk` verbs, and every refusal leaving nothing behind. (Attached disks, hot-plug and the
// guest's view are in tests/e2e/disks.test.js.)
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { Daemon, expectCode } = require("./lib/daemon");
const { createDisks } = require("./lib/disks");

let d, cbs, other;
const ZONE = "ap-guangzhou-3";
const create = (extra = {}) => createDisks(cbs, {
  Placement: { Zone: ZONE }, DiskChargeType: "POSTPAID_BY_HOUR", DiskType: "CLOUD_PREMIUM",
  DiskSize: 10, ...extra,
});
const diskFiles = () => fs.readdirSync(path.join(d.dataDir, "disks")).sort();
const virtualSize = (file) =>
  JSON.parse(execFileSync("qemu-img", ["info", "--output=json", "-U", file]))["virtual-size"];
async function waitDisk(id, pred) {
  for (let i = 0; i < 200; i++) {
    const [x] = (await cbs.DescribeDisks({ DiskIds: [id] })).DiskSet;
    if (pred(x)) return x;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("disk never settled: " + id);
}
async function waitSnapshot(id) {
  for (let i = 0; i < 200; i++) {
    const [s] = (await cbs.DescribeSnapshots({ SnapshotIds: [id] })).SnapshotSet;
    if (s.SnapshotState === "NORMAL") return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("snapshot never became NORMAL: " + id);
}

before(async () => {
  const conf = path.join(fs.mkdtempSync("/tmp/cvm-cbs-conf-"), "cvmd.toml");
  fs.writeFileSync(conf, "storage_capacity_gb = 100\n");
  d = new Daemon({ args: ["--config", conf] });
  await d.start();
  cbs = d.client("cbs");
  other = d.client("cbs", d.createAccount("cbs-tenant"));
});

after(async () => {
  await d.stop();
  d.cleanup();
});

test("bad disk requests are refused with CBS codes and make no file", async () => {
  const before = diskFiles();
  await expectCode(create({ DiskType: "CLOUD_NOPE" }), "InvalidParameter.DiskConfigNotSupported");
  await expectCode(create({ DiskType: "LOCAL_BASIC" }), "InvalidParameter.DiskConfigNotSupported");
  await expectCode(create({ DiskSize: 5 }), "InvalidParameterValue");
  await expectCode(create({ DiskSize: 40000 }), "InvalidParameterValue");
  await expectCode(create({ Placement: { Zone: "ap-shanghai-2" } }), "InvalidParameterValue");
  await expectCode(create({ DiskCount: 0 }), "InvalidParameterValue");
  await expectCode(create({ DiskName: "x".repeat(61) }), "InvalidParameterValue");
  await expectCode(create({ DiskSize: 60, DiskCount: 2 }), "ResourceInsufficient");
  await expectCode(create({ SnapshotId: "snap-00000000" }), "InvalidSnapshotId.NotFound");
  await expectCode(create({ Shareable: true }), "UnsupportedOperation");
  await expectCode(create({ Encrypt: "ENCRYPT" }), "UnsupportedOperation.DiskEncrypt");
  await expectCode(cbs.DescribeDisks({ DiskIds: ["disk-BAD"] }), "InvalidParameterValue");
  await expectCode(cbs.DescribeDisks({ Filters: [{ Name: "colour", Values: ["x"] }] }),
                   "InvalidFilter");
  await expectCode(cbs.AttachDisks({ InstanceId: "ins-00000000", DiskIds: ["disk-00000000"] }),
                   "InvalidInstanceId.NotFound");
  await expectCode(cbs.TerminateDisks({ DiskIds: ["disk-00000000"] }), "InvalidDiskId.NotFound");
  assert.deepEqual(diskFiles(), before);
});

test("disks are created, listed, filtered, renamed, grown offline and terminated", async () => {
  const ids = (await create({ DiskCount: 2, DiskName: "pair", ClientToken: "cbs-it-1" }))
    .DiskIdSet;
  assert.equal(ids.length, 2);
  assert.deepEqual((await create({ DiskCount: 2, DiskName: "pair", ClientToken: "cbs-it-1" }))
    .DiskIdSet, ids);
  const ssd = (await create({ DiskType: "CLOUD_SSD", DiskSize: 20 })).DiskIdSet[0];
  const all = await cbs.DescribeDisks({});
  assert.equal(all.TotalCount, 3);
  const x = all.DiskSet.find((k) => k.DiskId === ssd);
  assert.equal(x.DiskState, "UNATTACHED");
  assert.equal(x.DiskUsage, "DATA_DISK");
  assert.equal(x.Portable, true);
  assert.equal(x.Attached, false);
  assert.equal(x.InstanceId, "");
  assert.deepEqual(x.Placement, { Zone: ZONE, ProjectId: 0 });
  assert.match(x.CreateTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  // The throttle limits are not a member of Tencent's Disk: an extension action tells them.
  assert.equal(x.Performance, undefined);
  const perf = await cbs.request("DescribeDiskPerformance", { DiskId: ssd });
  assert.deepEqual(perf, { DiskId: ssd, DiskType: "CLOUD_SSD", DiskSize: 20,
                           Iops: 1800 + 30 * 20, ThroughputMBps: 124, RequestId: perf.RequestId });
  await expectCode(cbs.request("DescribeDiskPerformance", { DiskId: "disk-00000000" }),
                   "InvalidDiskId.NotFound");
  await expectCode(other.request("DescribeDiskPerformance", { DiskId: ssd }),
                   "InvalidDiskId.NotFound");

  const byType = await cbs.DescribeDisks({ Filters: [{ Name: "disk-type", Values: ["CLOUD_SSD"] }] });
  assert.deepEqual(byType.DiskSet.map((k) => k.DiskId), [ssd]);
  const page = await cbs.DescribeDisks({ Limit: 1, Offset: 1, Order: "ASC" });
  assert.equal(page.TotalCount, 3);
  assert.equal(page.DiskSet.length, 1);
  assert.equal((await cbs.DescribeDisks({ Filters: [{ Name: "portable", Values: ["FALSE"] }] }))
    .TotalCount, 0);
  assert.equal((await other.DescribeDisks({})).TotalCount, 0);
  await expectCode(other.TerminateDisks({ DiskIds: [ssd] }), "InvalidDiskId.NotFound");

  await cbs.ModifyDiskAttributes({ DiskIds: [ssd], DiskName: "renamed", DeleteWithInstance: true });
  const renamed = (await cbs.DescribeDisks({ DiskIds: [ssd] })).DiskSet[0];
  assert.equal(renamed.DiskName, "renamed");
  assert.equal(renamed.DeleteWithInstance, true);

  await cbs.ResizeDisk({ DiskId: ssd, DiskSize: 30 });
  await waitDisk(ssd, (k) => k.DiskState === "UNATTACHED" && k.DiskSize === 30);
  assert.equal(virtualSize(path.join(d.dataDir, "disks", ssd + ".qcow2")), 30 * 2 ** 30);
  await expectCode(cbs.ResizeDisk({ DiskId: ssd, DiskSize: 30 }), "InvalidParameterValue");
  await expectCode(cbs.ResizeDisk({ DiskId: ssd, DiskSize: 90 }), "ResourceInsufficient");

  await cbs.TerminateDisks({ DiskIds: [...ids, ssd] });
  assert.equal((await cbs.DescribeDisks({})).TotalCount, 0);
  assert.deepEqual(diskFiles(), []);
});

test("a snapshot of an unattached disk seeds new disks and rolls its disk back", async () => {
  const disk = (await create({ DiskSize: 10 })).DiskIdSet[0];
  const file = path.join(d.dataDir, "disks", disk + ".qcow2");
  // Write a marker through qemu-io, as a guest would through the device.
  execFileSync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x5a 1M 64k", file]);
  const snap = (await cbs.CreateSnapshot({ DiskId: disk, SnapshotName: "marker" })).SnapshotId;
  const s = await waitSnapshot(snap);
  assert.equal(s.DiskId, disk);
  assert.equal(s.DiskSize, 10);
  assert.equal(s.DiskUsage, "DATA_DISK");
  assert.equal((await cbs.DescribeDisks({ DiskIds: [disk] })).DiskSet[0].SnapshotCount, 1);

  execFileSync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x11 1M 64k", file]);
  await cbs.ApplySnapshot({ SnapshotId: snap, DiskId: disk });
  await waitDisk(disk, (k) => k.DiskState === "UNATTACHED");
  execFileSync("qemu-io", ["-f", "qcow2", "-c", "read -P 0x5a 1M 64k", file]);

  const copy = (await create({ SnapshotId: snap, DiskSize: 20 })).DiskIdSet[0];
  const copyFile = path.join(d.dataDir, "disks", copy + ".qcow2");
  execFileSync("qemu-io", ["-f", "qcow2", "-c", "read -P 0x5a 1M 64k", copyFile]);
  assert.equal(virtualSize(copyFile), 20 * 2 ** 30);
  await expectCode(create({ SnapshotId: snap, DiskSize: 5 }), "InvalidParameter.DiskSizeNotMatch");

  const otherDisk = (await create({})).DiskIdSet[0];
  await expectCode(cbs.ApplySnapshot({ SnapshotId: snap, DiskId: otherDisk }),
                   "InvalidSnapshot.NotSupported");
  await expectCode(other.DeleteSnapshots({ SnapshotIds: [snap] }), "InvalidSnapshotId.NotFound");
  await cbs.DeleteSnapshots({ SnapshotIds: [snap] });
  assert.equal((await cbs.DescribeSnapshots({})).TotalCount, 0);
  assert.deepEqual(fs.readdirSync(path.join(d.dataDir, "snapshots")), []);
  await cbs.TerminateDisks({ DiskIds: [disk, copy, otherDisk] });
});

// CreateDisks never makes a file on the API thread: it answers with the ids at once and a worker
// fills each disk, which appears once made. One whose snapshot's file is gone (taken away under
// the daemon) is answered all the same, never appears, and leaves no file; meanwhile its
// snapshot cannot be deleted, since the disk being made reads it.
test("CreateDisks answers before the disk is made; one that cannot be made never appears",
     async () => {
  const disk = (await create({ DiskSize: 10 })).DiskIdSet[0];
  const snap = (await cbs.CreateSnapshot({ DiskId: disk, SnapshotName: "gone" })).SnapshotId;
  await waitSnapshot(snap);
  fs.rmSync(path.join(d.dataDir, "snapshots", snap + ".qcow2"));
  const ids = (await cbs.CreateDisks({
    Placement: { Zone: ZONE }, DiskChargeType: "POSTPAID_BY_HOUR", DiskType: "CLOUD_PREMIUM",
    SnapshotId: snap,
  })).DiskIdSet;
  assert.equal(ids.length, 1);
  for (let i = 0; ; i++) {  // refused while the disk is being made from it
    try {
      await cbs.DeleteSnapshots({ SnapshotIds: [snap] });
      break;
    } catch (e) {
      assert.equal(e.code, "ResourceInUse", e.message);
      assert.ok(i < 600, "the disk was never given up");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.equal((await cbs.DescribeDisks({ DiskIds: ids })).TotalCount, 0);
  await expectCode(cbs.TerminateDisks({ DiskIds: ids }), "InvalidDiskId.NotFound");
  assert.deepEqual(diskFiles(), [disk + ".qcow2"]);
  await cbs.TerminateDisks({ DiskIds: [disk] });
});

test("DescribeDiskConfigQuota lists each type's sizes per zone and usage", async () => {
  const r = await cbs.DescribeDiskConfigQuota({ InquiryType: "INQUIRY_CBS_CONFIG",
                                                Zones: [ZONE], DiskUsage: "DATA_DISK" });
  const types = r.DiskConfigSet.map((c) => c.DiskType);
  assert.ok(types.includes("CLOUD_PREMIUM") && types.includes("CLOUD_HSSD"));
  assert.ok(!types.includes("LOCAL_BASIC"));
  for (const c of r.DiskConfigSet) {
    assert.equal(c.Zone, ZONE);
    assert.equal(c.DiskUsage, "DATA_DISK");
    assert.ok(c.MinDiskSize >= 10 && c.MaxDiskSize > c.MinDiskSize);
  }
  await expectCode(cbs.DescribeDiskConfigQuota({ InquiryType: "NOPE" }), "InvalidParameterValue");
});

test("cvm disk create, ls, resize, snapshot and rm", async () => {
  const made = d.cli(["disk", "create", "--size", "10", "--name", "cli-disk", "-o", "json"]);
  assert.equal(made.code, 0, made.stderr);
  const id = JSON.parse(made.stdout).DiskIdSet[0];
  const ls = d.cli(["disk", "ls"]);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, new RegExp(`${id}\\s+cli-disk\\s+CLOUD_PREMIUM\\s+10 GiB\\s+UNATTACHED`));
  const grown = d.cli(["disk", "resize", id, "15"]);
  assert.equal(grown.code, 0, grown.stderr);
  assert.equal((await cbs.DescribeDisks({ DiskIds: [id] })).DiskSet[0].DiskSize, 15);
  const snap = d.cli(["disk", "snapshot", id, "-o", "json"]);
  assert.equal(snap.code, 0, snap.stderr);
  await waitSnapshot(JSON.parse(snap.stdout).SnapshotId);
  const attach = d.cli(["disk", "attach", "ins-00000000", id]);
  assert.equal(attach.code, 1);
  assert.match(attach.stderr, /InvalidInstanceId\.NotFound/);
  const rm = d.cli(["disk", "rm", id]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal((await cbs.DescribeDisks({ DiskIds: [id] })).TotalCount, 0);
});
