// Block storage end to end on real QEMU guests (TCG): data disks hot-plugged into running
// instances, moved between them, grown online, snapshotted and rolled back; the system disk
// grown; cvmd killed in the middle. Two guests are shared by every case, in order.
"use strict";
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const L = require("./lib");
const { createDisks } = require("../integration/lib/disks");

const PASSWORD = "Opencvm-disk1";
const ZONE = "ap-guangzhou-3";
let d, cvm, cbs, image, other;
let a, b;     // instance ids
let disk;     // the data disk that travels between them
let sum;      // checksum of the file written on it

const auth = { password: PASSWORD };
const byId = (id) => `/dev/disk/by-id/virtio-${id}`;
const ssh = (id, cmd) => L.ssh(d, id, cmd, auth);
const guestHas = async (id, diskId) =>
  (await ssh(id, `[ -e ${byId(diskId)} ] && echo yes || echo no`)).trim() === "yes";
// Polls the guest until the disk's by-id link is there (or gone).
async function waitGuestSees(id, diskId, present = true) {
  for (let i = 0; i < 60; i++) {
    if ((await guestHas(id, diskId)) === present) return;
    await L.sleep(500);
  }
  throw new Error(`${id} ${present ? "never saw" : "still sees"} ${diskId}`);
}
const attached = (inst) => (x) => x.DiskState === "ATTACHED" && x.InstanceId === inst;
const unattached = (x) => x.DiskState === "UNATTACHED" && x.InstanceId === "";

before(async () => {
  const conf = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cvm-disk-conf-")), "cvmd.toml");
  fs.writeFileSync(conf, "disk_detach_timeout = 5\nstorage_capacity_gb = 400\n");
  d = await L.startDaemon({ args: ["--config", conf] });
  cvm = d.client("cvm");
  cbs = d.client("cbs");
  image = await L.tinyImageId(cvm);
  other = d.client("cbs", d.createAccount("disk-tenant"));
  const r = await cvm.RunInstances({
    Placement: { Zone: ZONE }, ImageId: image, InstanceType: "T1.NANO1", InstanceCount: 2,
    InstanceName: "disk-{R:1}", LoginSettings: { Password: PASSWORD },
    DataDisks: [{ DiskType: "CLOUD_SSD", DiskSize: 20, DeleteWithInstance: true }],
  });
  [a, b] = r.InstanceIdSet;
  await L.waitState(cvm, [a, b], "RUNNING");
});

after(async () => {
  try {
    const all = await cvm.DescribeInstances({ Limit: 100 });
    const live = all.InstanceSet.map((i) => i.InstanceId);
    if (live.length) {
      await cvm.TerminateInstances({ InstanceIds: live }).catch(() => {});
      await L.waitState(cvm, live, "GONE", 120000).catch(() => {});
    }
  } finally {
    await d.stop();
    fs.writeFileSync(path.join(os.tmpdir(), "opencvm-e2e-disks.log"), d.log);
    for (const pid of L.qemuPids(d.dir)) process.kill(pid, "SIGKILL");
    d.cleanup();
  }
});

test("RunInstances' data disk is there at first boot, named by its id", async () => {
  const inst = (await cvm.DescribeInstances({ InstanceIds: [a] })).InstanceSet[0];
  assert.equal(inst.DataDisks.length, 1);
  const dd = inst.DataDisks[0];
  assert.equal(dd.DiskType, "CLOUD_SSD");
  assert.equal(dd.DiskSize, 20);
  assert.equal(dd.DeleteWithInstance, true);
  assert.equal(inst.SystemDisk.DiskType, "CLOUD_PREMIUM");
  await waitGuestSees(a, dd.DiskId);
  const size = await ssh(a, `blockdev --getsize64 ${byId(dd.DiskId)}`);
  assert.equal(Number(size), 20 * 2 ** 30);
  const [desc] = (await cbs.DescribeDisks({ DiskIds: [dd.DiskId] })).DiskSet;
  assert.equal(desc.DiskState, "ATTACHED");
  assert.equal(desc.Attached, true);
  assert.equal(desc.InstanceId, a);
  assert.equal((await cbs.request("DescribeDiskPerformance", { DiskId: dd.DiskId })).Iops,
               1800 + 30 * 20);
});

test("a new disk hot-plugs into a running guest; its data moves to another instance", async () => {
  disk = (await createDisks(cbs, {
    Placement: { Zone: ZONE }, DiskChargeType: "POSTPAID_BY_HOUR", DiskType: "CLOUD_PREMIUM",
    DiskSize: 10, DiskName: "travelling", ClientToken: "disk-e2e-1",
  })).DiskIdSet[0];
  // The same ClientToken gives the same disk, not a second one.
  const again = await cbs.CreateDisks({
    Placement: { Zone: ZONE }, DiskChargeType: "POSTPAID_BY_HOUR", DiskType: "CLOUD_PREMIUM",
    DiskSize: 10, DiskName: "travelling", ClientToken: "disk-e2e-1",
  });
  assert.deepEqual(again.DiskIdSet, [disk]);
  await L.waitDisks(cbs, [disk], unattached);

  await cbs.AttachDisks({ InstanceId: a, DiskIds: [disk] });
  await L.waitDisks(cbs, [disk], attached(a));
  await waitGuestSees(a, disk);
  sum = (await ssh(a, `set -e; mkfs.ext4 -q -F ${byId(disk)}; mkdir -p /mnt/d;
    mount ${byId(disk)} /mnt/d; head -c 3000000 /dev/urandom >/mnt/d/payload;
    sha256sum /mnt/d/payload | cut -d' ' -f1; umount /mnt/d`)).trim();
  assert.match(sum, /^[0-9a-f]{64}$/);

  await cbs.DetachDisks({ DiskIds: [disk], InstanceId: a });
  const [gone] = await L.waitDisks(cbs, [disk], unattached);
  assert.equal(gone.LastAttachInsId, a);
  await waitGuestSees(a, disk, false);

  await cbs.AttachDisks({ InstanceId: b, DiskIds: [disk] });
  await L.waitDisks(cbs, [disk], attached(b));
  await waitGuestSees(b, disk);
  const read = await ssh(b, `mkdir -p /mnt/d; mount ${byId(disk)} /mnt/d &&
    sha256sum /mnt/d/payload | cut -d' ' -f1`);
  assert.equal(read.trim(), sum);
});

test("a mounted disk grows online and the guest grows its file system", async () => {
  await cbs.ResizeDisk({ DiskId: disk, DiskSize: 30 });
  const [grown] = await L.waitDisks(cbs, [disk], (x) => x.DiskState === "ATTACHED" &&
                                                       x.DiskSize === 30);
  assert.equal(grown.InstanceId, b);
  const size = await ssh(b, `blockdev --getsize64 ${byId(disk)}`);
  assert.equal(Number(size), 30 * 2 ** 30);
  const kib = await ssh(b, `resize2fs ${byId(disk)} >/dev/null 2>&1;
    df -kP /mnt/d | awk 'NR==2 { print $2 }'`);
  assert.ok(Number(kib) > 25 * 2 ** 20, `file system is ${kib} KiB after resize2fs`);
  assert.equal((await ssh(b, "sha256sum /mnt/d/payload | cut -d' ' -f1")).trim(), sum);
  await L.expectCode(cbs.ResizeDisk({ DiskId: disk, DiskSize: 20 }), "InvalidParameterValue");
});

test("stop and start keep the disk attached and its data", async () => {
  await ssh(b, "umount /mnt/d; sync");
  await cvm.StopInstances({ InstanceIds: [b], StopType: "HARD" });
  await L.waitState(cvm, [b], "STOPPED");
  await cvm.StartInstances({ InstanceIds: [b] });
  await L.waitState(cvm, [b], "RUNNING");
  await waitGuestSees(b, disk);
  const read = await ssh(b, `mount ${byId(disk)} /mnt/d 2>/dev/null || { mkdir -p /mnt/d;
    mount ${byId(disk)} /mnt/d; }; sha256sum /mnt/d/payload | cut -d' ' -f1`);
  assert.equal(read.trim(), sum);
});

test("a snapshot of a running disk restores the old contents, and seeds a new disk", async () => {
  const snap = (await cbs.CreateSnapshot({ DiskId: disk, SnapshotName: "before" })).SnapshotId;
  await (async () => {
    for (let i = 0; i < 200; i++) {
      const s = (await cbs.DescribeSnapshots({ SnapshotIds: [snap] })).SnapshotSet[0];
      if (s.SnapshotState === "NORMAL") return assert.equal(s.Percent, 100);
      await L.sleep(300);
    }
    throw new Error("snapshot never became NORMAL");
  })();
  await ssh(b, "rm /mnt/d/payload; echo changed >/mnt/d/new; sync");
  await L.expectCode(cbs.ApplySnapshot({ SnapshotId: snap, DiskId: disk }),
                     "UnsupportedOperation.InstanceNotStopped");

  await cvm.StopInstances({ InstanceIds: [b], StopType: "HARD" });
  await L.waitState(cvm, [b], "STOPPED");
  await cbs.ApplySnapshot({ SnapshotId: snap, DiskId: disk });
  await L.waitDisks(cbs, [disk], attached(b));
  await cvm.StartInstances({ InstanceIds: [b] });
  await L.waitState(cvm, [b], "RUNNING");
  await waitGuestSees(b, disk);
  const after = await ssh(b, `mkdir -p /mnt/d; mount ${byId(disk)} /mnt/d;
    sha256sum /mnt/d/payload | cut -d' ' -f1; [ -e /mnt/d/new ] && echo still-new || true`);
  assert.equal(after.trim(), sum);

  // A disk made from the snapshot holds the same file, and can be bigger.
  const copy = (await createDisks(cbs, {
    Placement: { Zone: ZONE }, DiskChargeType: "POSTPAID_BY_HOUR", DiskType: "CLOUD_HSSD",
    DiskSize: 40, SnapshotId: snap,
  })).DiskIdSet[0];
  await cbs.AttachDisks({ InstanceId: a, DiskIds: [copy] });
  await L.waitDisks(cbs, [copy], attached(a));
  await waitGuestSees(a, copy);
  const copied = await ssh(a, `mkdir -p /mnt/c; mount ${byId(copy)} /mnt/c;
    sha256sum /mnt/c/payload | cut -d' ' -f1; blockdev --getsize64 ${byId(copy)}; umount /mnt/c`);
  assert.deepEqual(copied.trim().split("\n"), [sum, String(40 * 2 ** 30)]);
  await cbs.DetachDisks({ DiskIds: [copy] });
  await L.waitDisks(cbs, [copy], unattached);
  await cbs.TerminateDisks({ DiskIds: [copy] });
  assert.equal((await cbs.DescribeDisks({ DiskIds: [copy] })).TotalCount, 0);
  assert.ok(!fs.existsSync(path.join(d.dataDir, "disks", copy + ".qcow2")));
});

test("wrong state, zone, type and account are refused with CBS codes", async () => {
  const sys = (await cvm.DescribeInstances({ InstanceIds: [a] })).InstanceSet[0].SystemDisk.DiskId;
  await L.expectCode(cbs.AttachDisks({ InstanceId: a, DiskIds: [disk] }),
                     "ResourceUnavailable.Attached");
  await L.expectCode(cbs.AttachDisks({ InstanceId: b, DiskIds: [sys] }),
                     "ResourceUnavailable.TypeError");
  await L.expectCode(cbs.DetachDisks({ DiskIds: [sys] }), "ResourceUnavailable.TypeError");
  await L.expectCode(cbs.TerminateDisks({ DiskIds: [disk] }), "ResourceUnavailable.Attached");
  await L.expectCode(cbs.TerminateDisks({ DiskIds: [sys] }), "ResourceUnavailable.NotPortable");
  await L.expectCode(cbs.DetachDisks({ DiskIds: [disk], InstanceId: a }),
                     "UnsupportedOperation.StateError");
  const far = (await createDisks(cbs, {
    Placement: { Zone: "ap-guangzhou-4" }, DiskChargeType: "POSTPAID_BY_HOUR",
    DiskType: "CLOUD_PREMIUM", DiskSize: 10,
  })).DiskIdSet[0];
  await L.expectCode(cbs.AttachDisks({ InstanceId: a, DiskIds: [far] }),
                     "ResourceUnavailable.ZoneNotMatch");
  // Another account sees none of these and can touch none.
  await L.expectCode(other.AttachDisks({ InstanceId: a, DiskIds: [far] }),
                     "InvalidInstanceId.NotFound");
  await L.expectCode(other.DetachDisks({ DiskIds: [disk] }), "InvalidDiskId.NotFound");
  await L.expectCode(other.ResizeDisk({ DiskId: disk, DiskSize: 100 }), "InvalidDiskId.NotFound");
  assert.equal((await other.DescribeDisks({})).TotalCount, 0);
  // Beyond the pool's 400 GiB, nothing is made.
  const files = fs.readdirSync(path.join(d.dataDir, "disks")).length;
  await L.expectCode(cbs.CreateDisks({
    Placement: { Zone: ZONE }, DiskChargeType: "POSTPAID_BY_HOUR", DiskType: "CLOUD_PREMIUM",
    DiskSize: 200, DiskCount: 2,
  }), "ResourceInsufficient");
  assert.equal(fs.readdirSync(path.join(d.dataDir, "disks")).length, files);
  await cbs.TerminateDisks({ DiskIds: [far] });
});

test("a guest that does not release a disk keeps it; once it does, the disk is detached",
     async () => {
  await ssh(b, "umount /mnt/d 2>/dev/null; sync");
  await L.qmp(d, b, "stop");  // a paused guest cannot acknowledge the unplug
  await cbs.DetachDisks({ DiskIds: [disk] });
  const [kept] = await L.waitDisks(cbs, [disk], (x) => x.DiskState === "ATTACHED" &&
                                                      x.ErrorPrompt !== "");
  assert.equal(kept.InstanceId, b);
  assert.match(kept.ErrorPrompt, /did not release/);
  await L.qmp(d, b, "cont");
  await L.waitDisks(cbs, [disk], unattached);
  await waitGuestSees(b, disk, false);
});

test("kill -9 of cvmd during attach, resize and detach: the disk converges to what the guest sees",
     async () => {
  const steps = [
    [() => cbs.AttachDisks({ InstanceId: a, DiskIds: [disk] }), attached(a), true],
    [() => cbs.ResizeDisk({ DiskId: disk, DiskSize: 40 }),
     (x) => x.DiskState === "ATTACHED" && x.DiskSize === 40, true],
    [() => cbs.DetachDisks({ DiskIds: [disk] }), unattached, false],
  ];
  for (const [act, settled, present] of steps) {
    await act();
    await d.stop("SIGKILL");
    await d.start();
    cbs = d.client("cbs");
    cvm = d.client("cvm");
    await L.waitDisks(cbs, [disk], settled);
    await waitGuestSees(a, disk, present);
    if (present) {
      const size = await ssh(a, `blockdev --getsize64 ${byId(disk)}`);
      const [x] = (await cbs.DescribeDisks({ DiskIds: [disk] })).DiskSet;
      assert.equal(Number(size), x.DiskSize * 2 ** 30);
    }
  }
  const [inst] = (await cvm.DescribeInstances({ InstanceIds: [a] })).InstanceSet;
  assert.equal(inst.InstanceState, "RUNNING");
});

test("the system disk grows while stopped and the guest's root file system fills it", async () => {
  const before = Number(await ssh(a, "df -kP / | awk 'NR==2 { print $2 }'"));
  const [inst] = (await cvm.DescribeInstances({ InstanceIds: [a] })).InstanceSet;
  await L.expectCode(cvm.ResizeInstanceDisks({ InstanceId: a, SystemDisk: { DiskSize: 30 } }),
                     "UnsupportedOperation.InstanceStateRunning");
  await cvm.StopInstances({ InstanceIds: [a], StopType: "HARD" });
  await L.waitState(cvm, [a], "STOPPED");
  const want = inst.SystemDisk.DiskSize + 10;
  await cvm.ResizeInstanceDisks({ InstanceId: a, SystemDisk: { DiskSize: want } });
  await L.waitDisks(cbs, [inst.SystemDisk.DiskId], (x) => x.DiskSize === want &&
                                                           x.DiskState === "ATTACHED");
  await cvm.StartInstances({ InstanceIds: [a] });
  await L.waitState(cvm, [a], "RUNNING");
  const now = Number(await ssh(a, "df -kP / | awk 'NR==2 { print $2 }'"));
  assert.ok(now > before + 8 * 2 ** 20, `root grew from ${before} to ${now} KiB`);
});

test("terminating an instance deletes its DeleteWithInstance disks and frees the others",
     async () => {
  const [inst] = (await cvm.DescribeInstances({ InstanceIds: [b] })).InstanceSet;
  const runDisk = inst.DataDisks[0].DiskId;
  await cbs.AttachDisks({ InstanceId: b, DiskIds: [disk] });
  await L.waitDisks(cbs, [disk], attached(b));
  await cvm.TerminateInstances({ InstanceIds: [b] });
  await L.waitState(cvm, [b], "GONE");
  const left = (await cbs.DescribeDisks({ DiskIds: [disk, runDisk] })).DiskSet;
  assert.deepEqual(left.map((x) => [x.DiskId, x.DiskState]), [[disk, "UNATTACHED"]]);
  assert.ok(!fs.existsSync(path.join(d.dataDir, "disks", runDisk + ".qcow2")));
  assert.ok(fs.existsSync(path.join(d.dataDir, "disks", disk + ".qcow2")));
});
